// `orchestrator rollouts`: create, list, status, watch, devices, retry, and the operator actions
// (pause, resume, cancel, rollback, approve, close) over the HTTP API.
import fs from 'node:fs';
import type { Command } from 'commander';
import { PHASED_STRATEGIES, ROLLOUT_STRATEGIES, STRATEGIES, strategyList } from '../../core/strategy.js';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';
import { remoteOptions } from './devices.js';
import { printExecutions, registerRolloutDevices } from './rollouts-devices.js';
import { LIST_COLUMNS, listRow, printRollout, type RolloutView } from './rollouts-view.js';
import { watchRollout } from './rollouts-watch.js';

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

interface CreateFlags extends Remote {
  artifact?: string;
  release?: string;
  dryRun?: boolean;
  deviceType?: string;
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
  group?: string;
  downloadAhead?: boolean;
  maxBandwidth?: string;
  maxDeviceBandwidth?: string;
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

/** What POST /api/v1/rollouts?dryRun=true answers. */
interface RolloutPlan {
  total: number;
  byArtifact: Record<string, number>;
  skipped: { reason: string; devices: number }[];
}

function printPlan(plan: RolloutPlan): void {
  const delivered = Object.values(plan.byArtifact).reduce((a, n) => a + n, 0);
  process.stdout.write(`dry run: ${plan.total} devices targeted, nothing created\n`);
  printTable(Object.entries(plan.byArtifact).map(([artifact, devices]) => ({ artifact, devices })), [{ key: 'artifact' }, { key: 'devices' }]);
  process.stdout.write(`\n${delivered} would get an artifact, ${plan.total - delivered} skipped\n`);
  for (const s of plan.skipped) process.stdout.write(`  skipped ${s.devices}: ${s.reason}\n`);
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
  const filter = { status: o.status, mode: o.mode, location: o.location, version: o.deviceVersion, deviceType: o.deviceType, tag: o.tag, q: o.q, ids: o.ids?.split(',').filter(Boolean), group: o.group };
  const window = o.window ? { daily: o.window } : o.windowCron ? { cron: o.windowCron, durationMinutes: o.windowMinutes } : undefined;
  if (window) Object.assign(window, { timezone: o.windowTz, expectedDurationSeconds: o.expectedDuration });
  const defined = (value: Record<string, unknown>) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  return defined({
    ...body,
    artifactId: o.artifact ?? (o.release ? undefined : body.artifactId),
    releaseId: o.release ?? (o.artifact ? undefined : body.releaseId),
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
    downloadAhead: o.downloadAhead ?? body.downloadAhead,
    maxBandwidth: o.maxBandwidth ?? body.maxBandwidth,
    maxDeviceBandwidth: o.maxDeviceBandwidth ?? body.maxDeviceBandwidth,
  });
}

const PHASED = PHASED_STRATEGIES[0];

/** The strategies, the phase rule and the thresholds, as `rollouts create --help` states them (docs/rollouts.md). */
export const PHASE_RULE_HELP = `
Strategies (--strategy):
${ROLLOUT_STRATEGIES.map((name) => `  ${name}: ${STRATEGIES[name].summary}`).join('\n')}

How phases advance (the one rule):
  A phase passes when every one of its devices is final (succeeded, failed, rolled back,
  cancelled or skipped), its failures (failed or rolled back) are no more than --error-threshold
  percent of the phase and, if --success-threshold is given, at least that percent of the phase
  succeeded. Then it soaks (--soak), waits for approval (--approval: orchestrator rollouts
  approve ID), and the next phase starts; the last one completes the rollout.
  A phase that misses a threshold pauses the rollout with the reason (failures above the error
  threshold pause it at once, as they happen). resume goes on (the failures seen so far, or the
  missed success threshold, are accepted); cancel stops. A miss never fails the rollout or skips
  the remaining devices. Without either threshold, a phase passes once all its devices are final.
  --error-action abort instead ends the rollout failed at once: devices not started are
  cancelled, deliveries in flight are aborted.
  Pause starts nothing new: deliveries in flight (a push, a started download, an install) finish
  and count.

Download ahead and bandwidth:
  --download-ahead (only with a window): devices download and verify as soon as they are
  targeted and report downloaded (ready); the server tells them to install when their window
  opens (a new target ETag and an MQTT wake-up). --max-bandwidth and --max-device-bandwidth pace
  the downloads of the rollout's devices; with several servers the total cap holds per server.

Examples:
  orchestrator rollouts create --artifact A1 --strategy ${PHASED} --phases 10,50,100 --error-threshold 20
  orchestrator rollouts create --artifact A1 --window 02:00-04:00 --download-ahead --max-bandwidth 50MB/s --max-device-bandwidth 2MB/s
  orchestrator rollouts create --artifact A1 --strategy ${PHASED} --phases c5,100 --approval --success-threshold 95
`;

export function registerRollouts(program: Command): void {
  const rollouts = program.command('rollouts').description('rollouts: create, list, status, watch, devices, retry, pause, resume, cancel, rollback, approve, close');

  remoteOptions(rollouts.command('create'))
    .description('create a rollout of an artifact, or of a release, to the devices a filter matches (starts at once unless --start-at lies ahead)')
    .option('--artifact <id>', 'artifact id every device gets (orchestrator artifacts list); or --release')
    .option('--release <id>', 'release id (orchestrator releases list): each device gets the artifact whose match fits it, a device nothing fits is skipped with the reason')
    .option('--dry-run', 'show what the rollout would do now (devices per artifact, devices skipped and why) and create nothing')
    .option('--name <name>', 'a name for people')
    .option('--spec <file>', 'a JSON rollout (Rollout JSON); flags override its fields')
    .option('--strategy <strategy>', strategyList())
    .option('--status <status>', 'filter: online, offline or unknown')
    .option('--mode <mode>', 'filter: pull, http or ssh')
    .option('--location <location>', 'filter: exact location')
    .option('--device-version <range>', 'filter: full version (exact), partial version (2.0 = 2.0.x) or semver range, e.g. "<2.0.0"')
    .option('--tag <key=value>', 'filter: tag, key=value or key:value, repeatable (all must match)', collect)
    .option('-q, --q <text>', 'filter: substring of id or name')
    .option('--ids <a,b,c>', 'filter: explicit device ids')
    .option('--device-type <type>', 'filter: device type, exact (comma-separated for several)')
    .option('--group <group>', 'filter: a saved group (name or id); a continuous rollout to a dynamic group takes devices as they join it')
    .option('--phases <list>', `${PHASED} phases, cumulative: "1,10,50,100" percents, "c5" for a count`)
    .option('--approval', 'every phase but the last waits for `rollouts approve`')
    .option('--success-threshold <percent>', 'percent of each phase that must have succeeded, once all its devices are final, for it to pass (default: none)', int('--success-threshold'))
    .option('--soak <seconds>', 'wait after a phase reaches its threshold', int('--soak'))
    .option('--error-threshold <percent>', 'pause when more than this percent of a phase failed or rolled back', int('--error-threshold'))
    .option('--error-action <action>', 'pause (resume goes on) or abort (the rollout ends failed) when the error threshold is exceeded', 'pause')
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
    .option('--download-ahead', 'with --window: pull devices download and verify at once, and install only when the window opens (status shows how many are ready)')
    .option('--max-bandwidth <rate>', 'cap the rollout\'s total download rate on each server, e.g. 50MB/s, 200Mbit/s (downloads are paced, never refused)')
    .option('--max-device-bandwidth <rate>', 'cap each device\'s download rate, e.g. 1MB/s')
    .addHelpText('after', PHASE_RULE_HELP)
    .action(async (o: CreateFlags) => {
      if (!o.artifact && !o.release && !o.spec) throw new CliError('give --artifact ID or --release ID (or --spec FILE naming one)', 2);
      if (o.artifact && o.release) throw new CliError('give one of --artifact and --release, not both', 2);
      if (o.dryRun) {
        const plan = await new ApiClient(o).request<RolloutPlan>('POST', '/api/v1/rollouts', { query: { dryRun: 'true' }, body: buildRolloutBody(o) });
        if (o.json) printJson(plan);
        else printPlan(plan);
        return;
      }
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
        printTable(page.items.map(listRow), LIST_COLUMNS);
        process.stdout.write(`\n${page.items.length} shown of ${page.total}\n`);
      }
    });

  remoteOptions(rollouts.command('status <id>'))
    .description('show a rollout: status and what it waits for (and the command that ends the wait), counts per state and phase, progress, rate, ETA and bytes fetched/reused; --devices lists its executions')
    .option('--devices [n]', 'also list the first n executions (default 100): state, bytes fetched and reused, error (or: rollouts devices ID)', (v) => Number.parseInt(v, 10))
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
    .description('live progress bars per phase until the rollout ends, with what it waits for and the command that ends the wait')
    .option('--interval <ms>', 'poll interval', int('--interval'), 1000)
    .action(async (id: string, o: Remote & { interval: number }) => {
      const final = await watchRollout(new ApiClient(o), id, { intervalMs: o.interval, json: o.json ?? false });
      if (!o.json) printRollout(final);
      if (final.status !== 'completed') process.exitCode = 1;
    });

  const actions: [string, string][] = [
    ['pause', 'pause: nothing new starts; deliveries in flight (a push, a started download, an install) finish and count'],
    ['resume', 'resume a paused rollout: failures seen so far, or a missed success threshold, are accepted'],
    ['cancel', 'cancel: pending work never starts, in-flight deliveries are aborted (a device that installs anyway is recorded as such)'],
    ['approve', 'approve the current phase so the rollout may advance'],
    ['close', 'close a continuous rollout: no more devices join'],
    ['rollback', "roll back: a new rollout of each device's previous artifact to the devices this one changed; agents whose previous release this server never had switch back to their other slot"],
  ];
  for (const [action, description] of actions) {
    remoteOptions(rollouts.command(`${action} <id>`))
      .description(description)
      .action(async (id: string, o: Remote) => {
        const answer = await new ApiClient(o).request<RolloutView | RollbackAnswer>('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/${action}`);
        if (o.json) return printJson(answer);
        if ('rollbacks' in answer) printRollback(answer);
        else printRollout(answer);
      });
  }
  registerRolloutDevices(rollouts);
}

interface RollbackAnswer {
  rollout: RolloutView;
  rollbacks: RolloutView[];
  notRolledBack?: { deviceId: string; reason: string }[];
  withoutPrevious: string[];
}

function printRollback(answer: RollbackAnswer): void {
  printRollout(answer.rollout);
  for (const r of answer.rollbacks) {
    const what = r.revert ? 'switch back to the previous slot' : `artifact ${r.artifactId}`;
    process.stdout.write(`rollback rollout ${r.id}: ${what}, ${r.progress?.total ?? Object.values(r.counts).reduce((a, b) => a + b, 0)} devices\n`);
  }
  const left = answer.notRolledBack ?? answer.withoutPrevious.map((deviceId) => ({ deviceId, reason: 'no previous artifact' }));
  if (left.length) {
    process.stdout.write(`${left.length} devices cannot be rolled back and were left as they are:\n`);
    for (const n of left.slice(0, 20)) process.stdout.write(`  ${n.deviceId}: ${n.reason}\n`);
    if (left.length > 20) process.stdout.write(`  ... and ${left.length - 20} more (--json lists them all)\n`);
  }
}
