// Store snapshots for the fuzz oracle "nothing stored is lost or corrupted by a refused request":
// every row of every table, read through Kysely, compared before and after each request.
import { sql, type Kysely } from 'kysely';
import type { Store } from '../store/index.js';

const dbOf = (store: Store) => store.handle.db as unknown as Kysely<unknown>;

/** Rows of each table as canonical JSON strings, sorted. */
export type Snapshot = Map<string, string[]>;

/**
 * Tables and columns whose changes are not caused by the request under test:
 * - append-only logs grow on refused requests by design (the audit log records rejected webhooks;
 *   the replay guard remembers deliveries it refused); they are compared across a whole property
 *   (nothing they held may be lost or changed), not per request, as they grow large;
 * - heartbeat columns (devices.last_seen, status) are written in batches a second after a poll;
 * - outbound notifications advance each subscription's cursor (last_event_id) as events appear;
 * - the engine works in the background on rollouts it runs: execution states, attempts, leases
 *   and timestamps, rollout status and phase; and it adds executions for devices that join a
 *   continuous rollout. What it must not do is lose a row or change what a row is about;
 * - server secrets (protocol_secrets: the Mender JWT key) are created on first use, which may be
 *   a refused request; once created they must not change;
 * - leases (locks) belong to background jobs and expire by themselves.
 */
export const APPEND_ONLY = new Set(['events', 'webhook_receipts']);
export const GROWS_IN_BACKGROUND = new Set(['executions', 'protocol_secrets']);
export const IGNORED_TABLES = new Set(['locks', 'schema_migrations']);
export const VOLATILE_COLUMNS: Record<string, string[]> = {
  devices: ['last_seen', 'status'],
  subscriptions: ['last_event_id'],
  executions: ['state', 'attempts', 'next_attempt_at', 'lease_owner', 'lease_expires_at', 'bytes', 'error', 'updated_at', 'started_at', 'finished_at'],
  rollouts: ['status', 'status_reason', 'current_phase', 'phase_reached_at', 'failure_baseline', 'updated_at', 'started_at', 'finished_at'],
};

/**
 * Changes a refused request may make by design, each with its reason: a device report refused for
 * its execution (unknown: 404; stopped or not released: 409) still records the version the device
 * says it runs (src/registry/device-versions.ts: what a device runs is a fact whatever becomes of
 * the report), and nothing else of it.
 */
export const REFUSED_BUT_RECORDED: { method: string; path: RegExp; statuses: number[]; table: string; columns: string[]; why: string }[] = [
  { method: 'PATCH', path: /^\/api\/v1\/device\/state$/, statuses: [404, 409], table: 'devices', columns: ['version', 'version_key', 'updated_at'], why: 'the reported version is recorded even when the execution refuses the report' },
];

/** The snapshot with these columns of one table left out (for REFUSED_BUT_RECORDED). */
export function withoutColumns(snap: Snapshot, table: string, columns: readonly string[]): Snapshot {
  const rows = snap.get(table);
  if (!rows) return snap;
  const out = new Map(snap);
  out.set(table, rows.map((row) => JSON.stringify((JSON.parse(row) as [string, unknown][]).filter(([k]) => !columns.includes(k)))).sort());
  return out;
}

/** Stable JSON of a row: keys sorted, volatile columns dropped, Buffers as hex. */
function canonical(table: string, row: Record<string, unknown>): string {
  const drop = VOLATILE_COLUMNS[table] ?? [];
  const keys = Object.keys(row).filter((k) => !drop.includes(k)).sort();
  return JSON.stringify(keys.map((k) => {
    const v = row[k];
    return [k, Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? v.toString() : v];
  }));
}

export async function tableNames(store: Store): Promise<string[]> {
  const tables = await dbOf(store).introspection.getTables();
  return tables.filter((t) => !t.isView && !IGNORED_TABLES.has(t.name)).map((t) => t.name).sort();
}

/** The tables with an `id` column. */
export async function tablesWithId(store: Store): Promise<string[]> {
  const meta = await dbOf(store).introspection.getTables();
  return meta.filter((m) => m.columns.some((c) => c.name === 'id')).map((m) => m.name);
}

/** Every id of a table that has an `id` column, as strings. */
export async function idsOf(store: Store, table: string): Promise<string[]> {
  const rows = (await dbOf(store).selectFrom(table as never).select('id' as never).execute()) as { id: unknown }[];
  return rows.map((r) => String(r.id));
}

/** Reads the given tables (all rows; the fuzz database is small). */
export async function snapshot(store: Store, tables: string[]): Promise<Snapshot> {
  const db = dbOf(store);
  const result: Snapshot = new Map();
  for (const table of tables) {
    const rows = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(db);
    result.set(table, rows.rows.map((row) => canonical(table, row)).sort());
  }
  return result;
}

/** Rows in `a` missing from `b` (multiset difference), at most `limit` of them. */
function missing(a: string[], b: string[], limit: number): string[] {
  const counts = new Map<string, number>();
  for (const row of b) counts.set(row, (counts.get(row) ?? 0) + 1);
  const out: string[] = [];
  for (const row of a) {
    const n = counts.get(row) ?? 0;
    if (n > 0) counts.set(row, n - 1);
    else if (out.length < limit) out.push(row);
  }
  return out;
}

/**
 * What changed from `before` to `after`, as human-readable lines; empty when nothing did.
 * Append-only tables and those that grow in the background may gain rows but not lose or change any.
 */
export function diff(before: Snapshot, after: Snapshot): string[] {
  const lines: string[] = [];
  for (const [table, rows] of before) {
    const now = after.get(table) ?? [];
    const gone = missing(rows, now, 3);
    for (const row of gone) lines.push(`${table}: row lost or changed: ${row.slice(0, 300)}`);
    if (APPEND_ONLY.has(table) || GROWS_IN_BACKGROUND.has(table)) continue;
    for (const row of missing(now, rows, 3)) lines.push(`${table}: row added or changed: ${row.slice(0, 300)}`);
  }
  return lines;
}
