// The one dialect difference of claiming work. SQLite has a single writer, so a plain
// UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING is already exclusive. On PostgreSQL the
// candidates are locked with FOR UPDATE SKIP LOCKED, so concurrent engines claim disjoint batches
// without waiting, inside a MATERIALIZED CTE: an IN (subquery with LIMIT) may be re-evaluated by
// the planner and then claim more rows than the limit. A claim also re-checks, in the same
// statement, that its rollout still runs (rolloutStillRunning).
import { sql, type Kysely, type SelectQueryBuilder, type UpdateObject } from 'kysely';
import type { DialectName } from './database.js';
import type { ExecutionRow } from './rollout.schema.js';
import type { Database } from './schema.js';

/**
 * Sets `set` on the candidate executions (still in `state`); answers `columns` of the updated rows
 * (only what the caller needs: returning every column doubled a claim's cost on SQLite).
 */
export async function claimExecutions<C extends keyof ExecutionRow & string>(
  trx: Kysely<Database>,
  dialect: DialectName,
  candidates: SelectQueryBuilder<Database, 'executions', { id: string }>,
  state: string,
  set: UpdateObject<Database, 'executions'>,
  columns: readonly C[],
): Promise<Pick<ExecutionRow, C>[]> {
  if (dialect === 'postgres') {
    const rows = await trx
      .with((cte) => cte('claimable').materialized(), () => candidates.forUpdate().skipLocked())
      .updateTable('executions')
      .set(set)
      .where('id', 'in', (eb) => eb.selectFrom('claimable').select('claimable.id'))
      .where('state', '=', state)
      .returning(columns)
      .execute();
    // Kysely's result type of a generic column list does not reduce to the Pick it is.
    return rows as unknown as Pick<ExecutionRow, C>[];
  }
  // No outer state check here: the subquery already selects by state inside the same statement,
  // and an outer "state = ?" makes SQLite scan every row in that state instead of the ids.
  const rows = await trx.updateTable('executions').set(set).where('id', 'in', candidates).returning(columns).execute();
  return rows as unknown as Pick<ExecutionRow, C>[];
}

/**
 * The rollout row while it is running, for an EXISTS inside a claim. On PostgreSQL it is read
 * FOR SHARE: a pause (an UPDATE of that row) either commits first, and the claim then sees it
 * paused and claims nothing, or waits until the claim committed and then takes back what it
 * released. SQLite's single writer makes the statement atomic anyway.
 */
export function rolloutStillRunning(trx: Kysely<Database>, dialect: DialectName, rolloutId: string) {
  const q = trx.selectFrom('rollouts').select(sql.lit(1).as('one')).where('rollouts.id', '=', rolloutId).where('rollouts.status', '=', 'running');
  return dialect === 'postgres' ? q.forShare() : q;
}
