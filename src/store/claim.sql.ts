// The one dialect difference of claiming work. SQLite has a single writer, so a plain
// UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING is already exclusive. On PostgreSQL the
// candidates are locked with FOR UPDATE SKIP LOCKED, so concurrent engines claim disjoint batches
// without waiting, inside a MATERIALIZED CTE: an IN (subquery with LIMIT) may be re-evaluated by
// the planner and then claim more rows than the limit.
import type { Kysely, SelectQueryBuilder, UpdateObject } from 'kysely';
import type { DialectName } from './database.js';
import type { ExecutionRow } from './rollout.schema.js';
import type { Database } from './schema.js';

/** Sets `set` on the candidate executions (still in `state`); answers the updated rows. */
export async function claimExecutions(
  trx: Kysely<Database>,
  dialect: DialectName,
  candidates: SelectQueryBuilder<Database, 'executions', { id: string }>,
  state: string,
  set: UpdateObject<Database, 'executions'>,
): Promise<ExecutionRow[]> {
  if (dialect === 'postgres') {
    return trx
      .with((cte) => cte('claimable').materialized(), () => candidates.forUpdate().skipLocked())
      .updateTable('executions')
      .set(set)
      .where('id', 'in', (eb) => eb.selectFrom('claimable').select('claimable.id'))
      .where('state', '=', state)
      .returningAll()
      .execute();
  }
  // No outer state check here: the subquery already selects by state inside the same statement,
  // and an outer "state = ?" makes SQLite scan every row in that state instead of the ids.
  return trx.updateTable('executions').set(set).where('id', 'in', candidates).returningAll().execute();
}
