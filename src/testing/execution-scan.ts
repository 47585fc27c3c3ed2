// Test support: the grouped scans of executions that progress counts were before migration 0018,
// the reference the counts the database keeps are compared with.
import type { Kysely } from 'kysely';
import type { ExecutionState, SummaryRow } from '../core/index.js';
import type { Database } from '../store/index.js';

/** Executions per (phase, state) of one rollout, counted row by row; sorted. */
export async function scanCountsByPhase(db: Kysely<Database>, rolloutId: string): Promise<{ phase: number; state: ExecutionState; n: number }[]> {
  const rows = await db
    .selectFrom('executions')
    .select(['phase', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('rollout_id', '=', rolloutId)
    .groupBy(['phase', 'state'])
    .execute();
  return sortGroups(rows.map((r) => ({ phase: r.phase, state: r.state as ExecutionState, n: Number(r.n) })));
}

/** A rollout's summary rows, summed row by row; sorted. */
export async function scanSummaryRows(db: Kysely<Database>, rolloutId: string, since: number): Promise<SummaryRow[]> {
  const rows = await db
    .selectFrom('executions')
    .select((eb) => [
      'phase',
      'state',
      eb.fn.countAll<number>().as('n'),
      eb.fn.sum<number>('bytes').as('bytes'),
      eb.fn.sum<number>(eb.case().when('finished_at', '>=', since).then(1).else(0).end()).as('recent'),
      eb.fn.sum<number>('installed_after_cancel').as('installed'),
      eb.fn.sum<number>('bytes_fetched').as('fetched'),
      eb.fn.sum<number>('bytes_reused').as('reused'),
    ])
    .where('rollout_id', '=', rolloutId)
    .groupBy(['phase', 'state'])
    .execute();
  return sortGroups(
    rows.map((r) => ({ phase: r.phase, state: r.state as ExecutionState, n: Number(r.n), bytes: Number(r.bytes ?? 0), finishedRecently: Number(r.recent ?? 0), installedAfterCancel: Number(r.installed ?? 0), bytesFetched: Number(r.fetched ?? 0), bytesReused: Number(r.reused ?? 0) })),
  );
}

/** Groups in (phase, state) order, so answers of either source compare equal. */
export function sortGroups<T extends { phase: number; state: string }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => a.phase - b.phase || a.state.localeCompare(b.state));
}
