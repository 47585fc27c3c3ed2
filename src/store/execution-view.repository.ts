// Read models over executions for operators: a rollout's counts, bytes and recent completions per
// (phase, state) in one statement, and a list page's in one grouped statement (the source of every
// rollout summary; counts and sums from the totals the database keeps, recent completions from the
// index of finished executions), recent starts for rate limits, and a device's deployment history with each
// rollout's artifact.
import type { Kysely } from 'kysely';
import type { Execution, ExecutionState, SummaryRow, TimeKey } from '../core/index.js';
import { countedGroups } from './execution-count.repository.js';
import { toExecution } from './execution-row.js';
import { olderThan } from './keyset.sql.js';
import type { Database } from './schema.js';

/** One entry of a device's deployment history. */
export interface DeviceExecution extends Execution {
  artifact: { id: string; name: string; version: string } | null;
  rolloutName: string;
}

/** Rollouts per summary statement (three parameters each, SQLite takes 30,000): a page of 1,000 is one statement. */
const SUMMARY_CHUNK = 5_000;

export class ExecutionViewRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Executions of one rollout per (phase, state), with bytes and how many finished since `since`. */
  async summaryRows(rolloutId: string, since: number): Promise<SummaryRow[]> {
    return (await this.summaryRowsOf([{ rolloutId, since }])).get(rolloutId) ?? [];
  }

  /**
   * The same for a page of rollouts, grouped per rollout, phase and state: one statement per
   * distinct `since` (rollouts that started over a minute ago share one, so a list page is
   * normally one statement). Every rollout asked has an entry.
   */
  async summaryRowsOf(rollouts: readonly { rolloutId: string; since: number }[]): Promise<Map<string, SummaryRow[]>> {
    const out = new Map<string, SummaryRow[]>(rollouts.map((r) => [r.rolloutId, []]));
    const bySince = new Map<number, string[]>();
    for (const { rolloutId, since } of rollouts) {
      const ids = bySince.get(since);
      if (ids) ids.push(rolloutId);
      else bySince.set(since, [rolloutId]);
    }
    for (const [since, ids] of bySince) {
      for (let at = 0; at < ids.length; at += SUMMARY_CHUNK) {
        for (const g of await countedGroups(this.db, ids.slice(at, at + SUMMARY_CHUNK), since)) {
          out.get(g.rolloutId)?.push({ phase: g.phase, state: g.state as ExecutionState, n: g.n, bytes: g.bytes, finishedRecently: g.recent, installedAfterCancel: g.installed, bytesFetched: g.fetched, bytesReused: g.reused });
        }
      }
    }
    return out;
  }

  /** Deliveries of a rollout started since `since`, and the oldest of those starts (rate limits). */
  async startsSince(rolloutId: string, since: number): Promise<{ n: number; oldest: number | null }> {
    const row = await this.db
      .selectFrom('executions')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min<number>('started_at').as('oldest')])
      .where('rollout_id', '=', rolloutId)
      .where('started_at', '>=', since)
      .executeTakeFirstOrThrow();
    return { n: Number(row.n), oldest: row.oldest === null || row.oldest === undefined ? null : Number(row.oldest) };
  }

  /** A device's executions, newest first, keyset-paged by (created_at, id). */
  async history(deviceId: string, o: { limit: number; before?: TimeKey | null }): Promise<DeviceExecution[]> {
    let q = this.db
      .selectFrom('executions')
      .leftJoin('artifacts', 'artifacts.id', 'executions.artifact_id')
      .innerJoin('rollouts', 'rollouts.id', 'executions.rollout_id')
      .selectAll('executions')
      .select(['artifacts.name as artifact_name', 'artifacts.version as artifact_version', 'rollouts.name as rollout_name'])
      .where('executions.device_id', '=', deviceId);
    const before = o.before;
    if (before) q = q.where(olderThan('executions.created_at', 'executions.id', before));
    const rows = await q.orderBy('executions.created_at', 'desc').orderBy('executions.id', 'desc').limit(o.limit).execute();
    return rows.map((row) => ({
      ...toExecution(row),
      artifact: row.artifact_name === null || row.artifact_version === null ? null : { id: row.artifact_id, name: row.artifact_name, version: row.artifact_version },
      rolloutName: row.rollout_name,
    }));
  }

  /** How many executions a device has (the history's total). */
  async countForDevice(deviceId: string): Promise<number> {
    const row = await this.db.selectFrom('executions').select((eb) => eb.fn.countAll<number>().as('n')).where('device_id', '=', deviceId).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
