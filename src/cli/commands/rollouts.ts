// `orchestrator rollouts`: create, list, status, watch, and the operator actions
// (pause, resume, cancel, rollback, approve, close) over the HTTP API.
import fs from 'node:fs';
import type { Command } from 'commander';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';
import { remoteOptions } from './devices.js';
import { watchRollout, type RolloutView } from './rollouts-watch.js';

interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const int = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`${flag} must be a number (got '${v}')`, 2);
  return n;
};

const LIST_COLUMNS = [
  { key: 'id' },
  { key: 'name', width: 24 },
  { key: 'strategy' },
  { key: 'status' },
  { key: 'phase' },
  { key: 'counts', width: 60 },
  { key: 'createdAt', header: 'CREATED' },
];

interface CreateFlags extends Remote {
  artifact: string;
  name?: string;
  spec?: string;
  strategy?: string;
  status?: string;
  mode?: string;
  location?: string;
  deviceVersion?: string;
  tag?: string[];
  q?: string;
  ids?: string;
  phases?: string;
  approval?: boolean;
  successThreshold?: number;
  soak?: number;
  errorThreshold?: number;
  errorAction?: string;
  window?: string;
  windowCron?: string;
  windowMinutes?: number;
  windowTz?: string;
  expectedDuration?: number;
  startAt?: string;
  maxConcurrency?: number;
  maxAttempts?: number;
  backoff?: number;
  rate?: number;
  rateGrowth?: number;
  rateEvery?: number;
  continuous?: boolean;
}

/** "1,10,50,100" -> percent phases; "c5,50,100" -> a count of 5 then percents. */
function parsePhases(text: string, o: CreateFlags): Record<string, unknown>[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  return parts.map((part, i) => {
    const last = i === parts.length - 1;
    const size = /^c\d+$/i.test(part) ? { count: Number(part.slice(1)) } : { percent: Number(part.replace(/%$/, '')) };
    if (Object.values(size).some((v) => !Number.isFinite(v))) throw new CliError(`--phases: '${part}' is not a percent (10) or a count (c5)`, 2);
    return { ...size, successThreshold: o.successThreshold, soakSeconds: o.soak, requireApproval: o.approval && !last ? true : undefined };
  });
}

export function buildRolloutBody(o: CreateFlags): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  if (o.spec) {
    try {
      body = JSON.parse(fs.readFileSync(o.spec, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new CliError(`--spec: cannot read a JSON rollout from '${o.spec}' (${(error as Error).message})`, 2);
    }
  }
  const filter = { status: o.status, mode: o.mode, location: o.location, version: o.deviceVersion, tag: o.tag, q: o.q, ids: o.ids?.split(',').filter(Boolean) };
  const window = o.window ? { daily: o.window } : o.windowCron ? { cron: o.windowCron, durationMinutes: o.windowMinutes } : undefined;
  if (window) Object.assign(window, { timezone: o.windowTz, expectedDurationSeconds: o.expectedDuration });
  const defined = (value: Record<string, unknown>) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  return defined({
    ...body,
    artifactId: o.artifact ?? body.artifactId,
    name: o.name ?? body.name,
    strategy: o.strategy ?? body.strategy,
    filter: Object.values(filter).some((v) => v !== undefined) ? filter : body.filter,
    phases: o.phases ? parsePhases(o.phases, o) : body.phases,
    errorThreshold: o.errorThreshold !== undefined ? { percent: o.errorThreshold, action: o.errorAction ?? 'pause' } : body.errorThreshold,
    window: window ?? body.window,
    startAt: o.startAt ?? body.startAt,
    maxConcurrency: o.maxConcurrency ?? body.maxConcurrency,
    retry: o.maxAttempts !== undefined || o.backoff !== undefined ? { maxAttempts: o.maxAttempts, backoffSeconds: o.backoff, maxBackoffSeconds: o.backoff !== undefined ? Math.max(o.backoff, 300) : undefined } : body.retry,
    rateLimit: o.rate !== undefined ? { perMinute: o.rate, growthFactor: o.rateGrowth, growEvery: o.rateEvery } : body.rateLimit,
    continuous: o.continuous ?? body.continuous,
  });
}

function summary(r: RolloutView): Record<string, unknown> {
  return { ...r, phase: `${r.currentPhase + 1}/${r.phases.length}` };
}

function printRollout(r: RolloutView): void {
  const lines: [string, unknown][] = [
    ['id', r.id],
    ['name', r.name || '-'],
    ['artifact', r.artifactId],
    ['strategy', r.strategy],
    ['status', r.status + (r.statusReason ? ` (${r.statusReason})` : '')],
    ['phase', `${r.currentPhase + 1} of ${r.phases.length}`],
    ['counts', Object.entries(r.counts).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
  ];
  if (r.progress) lines.push(['progress', `${r.progress.finished}/${r.progress.total} finished, ${r.progress.ratePerSecond}/s, ETA ${r.progress.etaSeconds ?? '?'} s`]);
  const transfer = transferLine(r.progress?.bytesFetched ?? 0, r.progress?.bytesReused ?? 0);
  if (transfer) lines.push(['transfer', transfer]);
  for (const [k, v] of lines) process.stdout.write(`${k.padEnd(10)} ${String(v)}\n`);
}

/** "1.2 MiB" style sizes for people. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** "3.1 MiB fetched, 60.9 MiB reused (95% saved by deltas)", or null when nothing moved yet. */
function transferLine(fetched: number, reused: number): string | null {
  if (fetched + reused === 0) return null;
  const saved = reused > 0 ? ` (${Math.round((reused / (fetched + reused)) * 100)}% saved by deltas)` : '';
  return `${humanBytes(fetched)} fetched, ${humanBytes(reused)} reused${saved}`;
}

interface ExecutionView {
  deviceId: string;
  state: string;
  phase: number;
  bytes: number;
  bytesFetched: number | null;
  bytesReused: number | null;
  error: string | null;
}

const EXECUTION_COLUMNS = [{ key: 'deviceId', header: 'DEVICE' }, { key: 'state' }, { key: 'phase' }, { key: 'fetched' }, { key: 'reused' }, { key: 'error', width: 60 }];

/** The rollout's executions, one line each, with what each device fetched and reused. */
async function printExecutions(client: ApiClient, id: string, limit: number): Promise<void> {
  const page = await client.request<{ items: ExecutionView[]; total: number; nextCursor: string | null }>('GET', `/api/v1/rollouts/${encodeURIComponent(id)}/devices`, { query: { limit } });
  const rows = page.items.map((e) => ({ ...e, phase: e.phase + 1, fetched: e.bytesFetched === null ? null : humanBytes(e.bytesFetched), reused: e.bytesReused === null ? null : humanBytes(e.bytesReused) }));
  process.stdout.write('\n');
  printTable(rows, EXECUTION_COLUMNS);
  process.stdout.write(`\n${page.items.length} shown of ${page.total}${page.nextCursor ? ' (raise --devices to see more)' : ''}\n`);
}

export function registerRollouts(program: Command): void {
  const rollouts = program.command('rollouts').description('rollouts: create, list, status, watch, pause, resume, cancel, rollback, approve, close');

  remoteOptions(rollouts.command('create'))
    .description('create a rollout of an artifact to the devices a filter matches (starts at once unless --start-at lies ahead)')
    .requiredOption('--artifact <id>', 'artifact id (orchestrator artifacts list)')
    .option('--name <name>', 'a name for people')
    .option('--spec <file>', 'a JSON rollout (Rollout JSON); flags override its fields')
    .option('--strategy <strategy>', 'immediate, scheduled, progressive or on-connect')
    .option('--status <status>', 'filter: online, offline or unknown')
    .option('--mode <mode>', 'filter: pull, http or ssh')
    .option('--location <location>', 'filter: exact location')
    .option('--device-version <range>', 'filter: full version (exact), partial version (2.0 = 2.0.x) or semver range, e.g. "<2.0.0"')
    .option('--tag <key=value>', 'filter: tag, key=value or key:value, repeatable (all must match)', collect)
    .option('-q, --q <text>', 'filter: substring of id or name')
    .option('--ids <a,b,c>', 'filter: explicit device ids')
    .option('--phases <list>', 'progressive phases, cumulative: "1,10,50,100" percents, "c5" for a count')
    .option('--approval', 'every phase but the last waits for `rollouts approve`')
    .option('--success-threshold <percent>', 'percent of a phase that must succeed to advance (default 100)', int('--success-threshold'))
    .option('--soak <seconds>', 'wait after a phase reaches its threshold', int('--soak'))
    .option('--error-threshold <percent>', 'stop when more than this percent of a phase failed', int('--error-threshold'))
    .option('--error-action <action>', 'pause or abort when the error threshold is exceeded', 'pause')
    .option('--window <HH:MM-HH:MM>', 'daily maintenance window, in each device\'s time zone')
    .option('--window-cron <cron>', 'maintenance window opening as cron, with --window-minutes')
    .option('--window-minutes <minutes>', 'how long a cron window stays open', int('--window-minutes'))
    .option('--window-tz <zone>', 'evaluate the window in this IANA zone instead of each device\'s')
    .option('--expected-duration <seconds>', 'start a delivery only if this much of the window remains', int('--expected-duration'))
    .option('--start-at <iso>', 'start time (ISO-8601)')
    .option('--max-concurrency <n>', 'deliveries in flight at once', int('--max-concurrency'))
    .option('--max-attempts <n>', 'delivery attempts per device', int('--max-attempts'))
    .option('--backoff <seconds>', 'first retry delay (doubles, with jitter)', int('--backoff'))
    .option('--rate <perMinute>', 'at most this many devices started per minute', int('--rate'))
    .option('--rate-growth <factor>', 'multiply the rate by this after every --rate-every successes', int('--rate-growth'))
    .option('--rate-every <n>', 'successes between rate increases', int('--rate-every'))
    .option('--continuous', 'devices that match the filter later join until the rollout is closed')
    .action(async (o: CreateFlags) => {
      const rollout = await new ApiClient(o).request<RolloutView>('POST', '/api/v1/rollouts', { body: buildRolloutBody(o) });
      if (o.json) printJson(rollout);
      else printRollout(rollout);
    });

  remoteOptions(rollouts.command('list'))
    .description('list rollouts, newest first')
    .option('--status <status>', 'only these statuses (comma-separated)')
    .option('--limit <n>', 'page size (1-1000)', int('--limit'), 100)
    .action(async (o: Remote & { status?: string; limit: number }) => {
      const page = await new ApiClient(o).request<{ items: RolloutView[]; total: number; nextCursor: string | null }>('GET', '/api/v1/rollouts', { query: { status: o.status, limit: o.limit } });
      if (o.json) printJson(page);
      else {
        printTable(page.items.map(summary), LIST_COLUMNS);
        process.stdout.write(`\n${page.items.length} shown of ${page.total}\n`);
      }
    });

  remoteOptions(rollouts.command('status <id>'))
    .description('show a rollout with counts per state and phase, rate, ETA and bytes fetched/reused; --devices lists its executions')
    .option('--devices [n]', 'also list the first n executions (default 100): state, bytes fetched and reused, error', (v) => Number.parseInt(v, 10))
    .action(async (id: string, o: Remote & { devices?: number | true }) => {
      const client = new ApiClient(o);
      const rollout = await client.request<RolloutView>('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`);
      const limit = o.devices === true ? 100 : o.devices;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) throw new CliError('--devices takes a number from 1 to 1000', 2);
      if (o.json) {
        if (limit === undefined) return printJson(rollout);
        const executions = await client.request('GET', `/api/v1/rollouts/${encodeURIComponent(id)}/devices`, { query: { limit } });
        return printJson({ ...rollout, executions });
      }
      printRollout(rollout);
      if (limit !== undefined) await printExecutions(client, id, limit);
    });

  remoteOptions(rollouts.command('watch <id>'))
    .description('live progress bars per phase until the rollout ends')
    .option('--interval <ms>', 'poll interval', int('--interval'), 1000)
    .action(async (id: string, o: Remote & { interval: number }) => {
      const final = await watchRollout(new ApiClient(o), id, { intervalMs: o.interval, json: o.json ?? false });
      if (!o.json) printRollout(final);
      if (final.status !== 'completed') process.exitCode = 1;
    });

  const actions: [string, string][] = [
    ['pause', 'pause: nothing new starts; deliveries in flight finish'],
    ['resume', 'resume a paused rollout'],
    ['cancel', 'cancel: pending work never starts, in-flight deliveries are aborted'],
    ['approve', 'approve the current phase so the rollout may advance'],
    ['close', 'close a continuous rollout: no more devices join'],
    ['rollback', "roll back: a new rollout of each device's previous artifact to the devices this one changed"],
  ];
  for (const [action, description] of actions) {
    remoteOptions(rollouts.command(`${action} <id>`))
      .description(description)
      .action(async (id: string, o: Remote) => {
        const answer = await new ApiClient(o).request<RolloutView | { rollout: RolloutView; rollbacks: RolloutView[]; withoutPrevious: string[] }>('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/${action}`);
        if (o.json) return printJson(answer);
        if ('rollbacks' in answer) {
          printRollout(answer.rollout);
          for (const r of answer.rollbacks) process.stdout.write(`rollback rollout ${r.id}: artifact ${r.artifactId}, ${Object.values(r.counts).reduce((a, b) => a + b, 0)} devices\n`);
          if (answer.withoutPrevious.length) process.stdout.write(`${answer.withoutPrevious.length} devices have no previous artifact and were left as they are\n`);
        } else printRollout(answer);
      });
  }
}
