// `orchestrator rollouts devices ID` (every device of a rollout with its state, phase, attempts,
// bytes, time in state and last error or note; filter by state, paged) and `rollouts retry ID`.
import type { Command } from 'commander';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';
import { remoteOptions } from './devices.js';
import { humanBytes, printRollout, type RolloutView } from './rollouts-view.js';

interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

/** One execution as GET /api/v1/rollouts/:id/devices answers it. */
export interface ExecutionView {
  deviceId: string;
  state: string;
  phase: number;
  attempts: number;
  bytes: number;
  bytesFetched: number | null;
  bytesReused: number | null;
  error: string | null;
  note: string | null;
  installedAfterCancel: boolean;
  stateSince: string;
}

const COLUMNS = [
  { key: 'deviceId', header: 'DEVICE' },
  { key: 'state', width: 30 },
  { key: 'phase' },
  { key: 'attempts' },
  { key: 'bytes' },
  { key: 'fetched' },
  { key: 'reused' },
  { key: 'since', header: 'IN STATE' },
  { key: 'detail', header: 'ERROR / NOTE', width: 100 },
];

/** "42 s", "5 min", "3 h", "2 d": how long an execution has been in its state. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** A table row: a cancelled device that installed anyway says so in its state. */
export function executionRow(e: ExecutionView, now = Date.now()): Record<string, unknown> {
  return {
    ...e,
    state: e.installedAfterCancel ? `${e.state} (installed anyway)` : e.state,
    phase: e.phase + 1,
    fetched: e.bytesFetched === null || e.bytesFetched === undefined ? null : humanBytes(e.bytesFetched),
    reused: e.bytesReused === null || e.bytesReused === undefined ? null : humanBytes(e.bytesReused),
    since: ago(e.stateSince, now),
    detail: e.error ?? e.note ?? '-',
  };
}

const positive = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a whole number of 1 or more (got '${v}')`, 2);
  return n;
};

type Page = { items: ExecutionView[]; nextCursor: string | null; total: number };

/** The first `limit` executions of a rollout as a table (`rollouts status --devices`). */
export async function printExecutions(client: ApiClient, id: string, limit: number, hint = 'raise --devices to see more'): Promise<void> {
  const page: Page = await client.request('GET', `/api/v1/rollouts/${encodeURIComponent(id)}/devices`, { query: { limit } });
  process.stdout.write('\n');
  printTable(page.items.map((e) => executionRow(e)), COLUMNS);
  process.stdout.write(`\n${page.items.length} shown of ${page.total}${page.nextCursor ? ` (${hint})` : ''}\n`);
}

export function registerRolloutDevices(rollouts: Command): void {
  remoteOptions(rollouts.command('devices <id>'))
    .description("every device of a rollout: state, phase, attempts, bytes, time in state, last error or note (a cancelled device that installed anyway shows 'cancelled (installed anyway)')")
    .option('--state <states>', 'only these states, comma-separated (failed,rolled-back: the failures)')
    .option('--phase <n>', 'only this phase (1-based)', positive('--phase'))
    .option('--limit <n>', 'devices per page (1-1000)', positive('--limit'), 100)
    .option('--all', 'follow every page instead of printing the first')
    .addHelpText('after', '\nExamples:\n  orchestrator rollouts devices R1 --state failed,rolled-back\n  orchestrator rollouts devices R1 --state cancelled --all --json\n')
    .action(async (id: string, o: Remote & { state?: string; phase?: number; limit: number; all?: boolean }) => {
      const client = new ApiClient(o);
      const items: ExecutionView[] = [];
      let cursor: string | null = null;
      let total = 0;
      do {
        const page: Page = await client.request('GET', `/api/v1/rollouts/${encodeURIComponent(id)}/devices`, { query: { state: o.state, phase: o.phase, limit: o.limit, cursor: cursor ?? undefined } });
        items.push(...page.items);
        total = page.total;
        cursor = page.nextCursor;
      } while (o.all && cursor);
      if (o.json) return printJson({ items, nextCursor: cursor, total });
      const now = Date.now();
      printTable(items.map((e) => executionRow(e, now)), COLUMNS);
      process.stdout.write(`\n${items.length} shown of ${total}${cursor ? ' (--all for every page)' : ''}\n`);
    });

  remoteOptions(rollouts.command('retry <id>'))
    .description('re-queue the failed and rolled-back devices of a rollout (or one, with --device) with fresh attempts; a rollout that ended runs again, a paused one stays paused')
    .option('--device <id>', 'retry only this device')
    .action(async (id: string, o: Remote & { device?: string }) => {
      const answer = await new ApiClient(o).request<{ rollout: RolloutView; retried: number; reopened: boolean }>('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/retry`, { body: o.device ? { deviceId: o.device } : {} });
      if (o.json) return printJson(answer);
      process.stdout.write(`re-queued ${answer.retried} device${answer.retried === 1 ? '' : 's'}${answer.reopened ? '; the rollout runs again' : ''}\n`);
      printRollout(answer.rollout);
    });
}
