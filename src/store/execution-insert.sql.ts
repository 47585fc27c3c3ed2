// Writing a rollout's executions when it starts (or devices join): a batch of planned ones, or
// INSERT ... SELECT over the devices a filter matches (in slices), each recording what the device ran before.
import { sql, type Kysely } from 'kysely';
import type { DeviceFilter } from '../core/index.js';
import type { DialectName } from './database.js';
import { deviceWhere } from './device-filter.sql.js';
import { chunks } from './device.repository.js';
import { previousArtifactOf } from './execution-outcome.sql.js';
import type { NewExecution } from './execution-row.js';
import type { Database } from './schema.js';

/** A fresh execution id computed by the database, for executions written by INSERT ... SELECT. */
function newIdSql(dialect: DialectName) {
  return dialect === 'postgres' ? sql<string>`gen_random_uuid()::text` : sql<string>`lower(hex(randomblob(16)))`;
}

/** Inserts executions (pending, or skipped with a reason); a device already in the rollout is left alone. */
export async function insertExecutions(trx: Kysely<Database>, maxParams: number, items: NewExecution[], now: number): Promise<number> {
  let inserted = 0;
  for (const chunk of chunks(items, Math.floor(maxParams / 18))) {
    const result = trx
      .insertInto('executions')
      .values(
        chunk.map((e) => ({
          id: e.id,
          rollout_id: e.rolloutId,
          device_id: e.deviceId,
          artifact_id: e.artifactId,
          phase: e.phase,
          state: e.skipReason ? 'skipped' : 'pending',
          attempts: 0,
          next_attempt_at: 0,
          bytes: 0,
          pull: e.pull ? 1 : 0,
          timezone: e.timezone,
          previous_artifact_id: e.previousArtifactId,
          previous_version: e.previousVersion,
          note: e.skipReason ?? null,
          installed_after_cancel: 0,
          created_at: now,
          updated_at: now,
          finished_at: e.skipReason ? now : null,
        })),
      )
      .onConflict((oc) => oc.columns(['rollout_id', 'device_id']).doNothing());
    const several = chunk.filter((e) => (e.components?.length ?? 0) > 1);
    if (several.length === 0) {
      // The one-artifact path (every rollout of an artifact, most of a release): one statement, as before.
      inserted += Number((await result.executeTakeFirst()).numInsertedOrUpdatedRows ?? 0);
      continue;
    }
    const written = new Set((await result.returning('id').execute()).map((r) => r.id));
    inserted += written.size;
    await insertComponents(trx, maxParams, several.filter((e) => written.has(e.id)));
  }
  return inserted;
}

/** The components of newly written executions, set-based (a device already in the rollout keeps its own). */
async function insertComponents(trx: Kysely<Database>, maxParams: number, items: NewExecution[]): Promise<void> {
  const rows = items.flatMap((e) => e.components!.map((c, position) => ({ rollout_id: e.rolloutId, device_id: e.deviceId, position, component: c.component, artifact_id: c.artifactId })));
  for (const chunk of chunks(rows, Math.floor(maxParams / 5))) {
    await trx.insertInto('execution_components').values(chunk).onConflict((oc) => oc.columns(['rollout_id', 'device_id', 'position']).doNothing()).execute();
  }
}

/**
 * Devices per INSERT ... SELECT of a start on SQLite: a million devices are written in slices of
 * this many, yielding between them. PostgreSQL's driver waits without blocking the event loop, so
 * there one statement writes them all (slices only added statements: create_s 2.2 -> 3.2 s at 100k).
 * With the counting triggers (migration 0018) a slice costs about 20 us a device, so 5,000 keep
 * each hold on the event loop near 0.1 s: polls answered from memory go on between slices, those
 * that need the database wait for the start's transaction (0.5 s for 20,000 devices).
 */
export const FILTER_INSERT_BATCH = 5_000;

/**
 * Inserts a pending phase-0 execution for every device the filter matches (single-phase rollouts
 * need no shuffle), recording each device's version and last installed artifact as what it ran
 * before. On SQLite written in slices of the devices in id order, one INSERT ... SELECT each, with a
 * yield to the event loop between them: at a million devices one statement held better-sqlite3
 * (and so the server) for seconds. The caller's transaction still makes the start all or nothing. Answers how
 * many were inserted.
 */
export async function insertExecutionsForFilter(trx: Kysely<Database>, dialect: DialectName, r: { rolloutId: string; artifactId: string }, filter: DeviceFilter, now: number, batch = dialect === 'sqlite' ? FILTER_INSERT_BATCH : Infinity): Promise<number> {
  const text = (value: string) => sql<string>`CAST(${value} AS TEXT)`;
  let inserted = 0;
  let after: string | null = null;
  for (;;) {
    // The last device of this slice (none: the rest fits in it).
    let bound = trx.selectFrom('devices').select('devices.id').where(deviceWhere(filter));
    if (after !== null) bound = bound.where('devices.id', '>', after);
    const last: string | null = Number.isFinite(batch) ? ((await bound.orderBy('devices.id').limit(1).offset(batch - 1).executeTakeFirst())?.id ?? null) : null;
    const from = after;
    const result = await trx
      .insertInto('executions')
      .columns(['id', 'rollout_id', 'device_id', 'artifact_id', 'phase', 'state', 'attempts', 'next_attempt_at', 'bytes', 'pull', 'timezone', 'previous_artifact_id', 'previous_version', 'created_at', 'updated_at'])
      .expression((eb) => {
        let q = eb
          .selectFrom('devices')
          .where(deviceWhere(filter))
          .select((s) => [
            newIdSql(dialect).as('id'),
            text(r.rolloutId).as('rollout_id'),
            'devices.id as device_id',
            text(r.artifactId).as('artifact_id'),
            sql.lit(0).as('phase'),
            sql.lit('pending').as('state'),
            sql.lit(0).as('attempts'),
            sql.lit(0).as('next_attempt_at'),
            sql.lit(0).as('bytes'),
            s.case().when('devices.mode', '=', 'pull').then(sql.lit(1)).else(sql.lit(0)).end().as('pull'),
            'devices.timezone as timezone',
            previousArtifactOf(s).as('previous_artifact_id'),
            'devices.version as previous_version',
            sql.lit(now).as('created_at'),
            sql.lit(now).as('updated_at'),
          ]);
        if (from !== null) q = q.where('devices.id', '>', from);
        if (last !== null) q = q.where('devices.id', '<=', last);
        return q;
      })
      .onConflict((oc) => oc.columns(['rollout_id', 'device_id']).doNothing())
      .executeTakeFirst();
    inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
    if (last === null) return inserted;
    after = last;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
