// Executions counted per (rollout, phase, state) by the database itself (migration 0018):
// execution_counts holds the totals and, on PostgreSQL, triggers on executions append deltas to
// execution_count_deltas (SQLite's triggers add to the totals directly: one writer, no hot row to
// wait on). A read sums totals and deltas in one statement, so it is exact in every transaction
// and costs what the rollout's few groups cost, not what its executions do. Folding moves deltas
// into the totals, bounded per run; the engine's periodic jobs call it (engine-jobs.ts).
import { sql, type ExpressionBuilder, type Kysely, type OnConflictDatabase, type OnConflictTables } from 'kysely';
import type { DialectName } from './database.js';
import type { Database } from './schema.js';

/** What is counted of each group of executions. */
export interface CountedGroup {
  rolloutId: string;
  phase: number;
  state: string;
  n: number;
  bytes: number;
  installed: number;
  fetched: number;
  reused: number;
  /** How many finished at or after the `since` asked (0 when none was asked). */
  recent: number;
}

const COUNTED = ['rollout_id', 'phase', 'state', 'n', 'bytes', 'installed', 'fetched', 'reused'] as const;
/** Two folders on PostgreSQL take turns (the other skips its run); 727001 is the migrator's. */
const FOLD_LOCK = 727002;

/**
 * The groups of these rollouts with executions: totals plus deltas not folded yet, and, given
 * `since`, how many finished since then, read from the index of finished executions in the same
 * statement (what finished recently is no counter). Groups that net to no execution are left out.
 */
export async function countedGroups(db: Kysely<Database>, rolloutIds: readonly string[], since?: number): Promise<CountedGroup[]> {
  if (rolloutIds.length === 0) return [];
  const ids = [...rolloutIds];
  const none = sql<number>`0`;
  let parts = db
    .selectFrom('execution_counts')
    .select([...COUNTED, none.as('recent')])
    .where('rollout_id', 'in', ids)
    .unionAll(db.selectFrom('execution_count_deltas').select([...COUNTED, none.as('recent')]).where('rollout_id', 'in', ids));
  if (since !== undefined) {
    parts = parts.unionAll(
      db
        .selectFrom('executions')
        .select(['rollout_id', 'phase', 'state', none.as('n'), none.as('bytes'), none.as('installed'), none.as('fetched'), none.as('reused'), sql<number>`1`.as('recent')])
        .where('rollout_id', 'in', ids)
        .where('finished_at', '>=', since),
    );
  }
  const rows = await db
    .selectFrom(parts.as('c'))
    .select((eb) => [
      'c.rollout_id',
      'c.phase',
      'c.state',
      eb.fn.sum<number>('c.n').as('n'),
      eb.fn.sum<number>('c.bytes').as('bytes'),
      eb.fn.sum<number>('c.installed').as('installed'),
      eb.fn.sum<number>('c.fetched').as('fetched'),
      eb.fn.sum<number>('c.reused').as('reused'),
      eb.fn.sum<number>('c.recent').as('recent'),
    ])
    .groupBy(['c.rollout_id', 'c.phase', 'c.state'])
    .having((eb) => eb.fn.sum('c.n'), '<>', 0)
    .execute();
  // PostgreSQL answers sums of BIGINT as numeric, which pg hands over as text.
  return rows.map((r) => ({ rolloutId: r.rollout_id, phase: Number(r.phase), state: r.state, n: Number(r.n), bytes: Number(r.bytes), installed: Number(r.installed), fetched: Number(r.fetched), reused: Number(r.reused), recent: Number(r.recent) }));
}

export class ExecutionCountRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /**
   * Folds up to `limit` of the oldest deltas into the totals, in a transaction of its own (not in
   * a unit of work), and drops the totals of the rollouts it folded that came to no execution.
   * Answers how many deltas it folded: 0 when there were none, or when another server is
   * folding. SQLite has no deltas to fold (its triggers write the totals).
   */
  async fold(limit: number): Promise<number> {
    if (limit <= 0 || this.dialect !== 'postgres') return 0;
    return this.db.transaction().execute(async (trx) => {
      const folded = await this.foldIn(trx, limit);
      if (folded.rollouts.size > 0) await trx.deleteFrom('execution_counts').where('rollout_id', 'in', [...folded.rollouts]).where('n', '=', 0).execute();
      return folded.deltas;
    });
  }

  /**
   * Ids are not committed in order (a lower id may still be in flight), so a fold adds exactly
   * the rows its own DELETE removed, in one statement: a row that another folder deleted first is
   * skipped by this DELETE, so nothing is counted twice. The advisory lock keeps folders from
   * adding to the same totals in different orders (a deadlock): a second folder skips its run.
   */
  private async foldIn(trx: Kysely<Database>, limit: number): Promise<{ deltas: number; rollouts: Set<string> }> {
    const lock = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${FOLD_LOCK}) AS locked`.execute(trx);
    if (!lock.rows[0]?.locked) return { deltas: 0, rollouts: new Set() };
    const rows = await trx
      .with('moved', (db) =>
        db
          .deleteFrom('execution_count_deltas')
          .where('id', 'in', (eb) => eb.selectFrom('execution_count_deltas').select('id').orderBy('id').limit(limit))
          .returning([...COUNTED]),
      )
      .with('summed', (db) =>
        db
          .selectFrom('moved')
          .select((eb) => [
            'rollout_id',
            'phase',
            'state',
            eb.fn.countAll<number>().as('deltas'),
            eb.fn.sum<number>('n').as('n'),
            eb.fn.sum<number>('bytes').as('bytes'),
            eb.fn.sum<number>('installed').as('installed'),
            eb.fn.sum<number>('fetched').as('fetched'),
            eb.fn.sum<number>('reused').as('reused'),
          ])
          .groupBy(['rollout_id', 'phase', 'state']),
      )
      .with('added', (db) =>
        db
          .insertInto('execution_counts')
          .columns([...COUNTED])
          .expression((eb) => eb.selectFrom('summed').select([...COUNTED]))
          .onConflict((oc) => oc.columns(['rollout_id', 'phase', 'state']).doUpdateSet(addExcluded)),
      )
      // Data-modifying CTEs run to completion whether or not the query reads them.
      .selectFrom('summed')
      .select(['rollout_id', 'deltas'])
      .execute();
    return { deltas: rows.reduce((sum, r) => sum + Number(r.deltas), 0), rollouts: new Set(rows.map((r) => r.rollout_id)) };
  }
}

/** An upsert's update: the totals plus what is being folded in. */
function addExcluded(eb: ExpressionBuilder<OnConflictDatabase<Database, 'execution_counts'>, OnConflictTables<'execution_counts'>>) {
  return {
    n: eb('execution_counts.n', '+', eb.ref('excluded.n')),
    bytes: eb('execution_counts.bytes', '+', eb.ref('excluded.bytes')),
    installed: eb('execution_counts.installed', '+', eb.ref('excluded.installed')),
    fetched: eb('execution_counts.fetched', '+', eb.ref('excluded.fetched')),
    reused: eb('execution_counts.reused', '+', eb.ref('excluded.reused')),
  };
}
