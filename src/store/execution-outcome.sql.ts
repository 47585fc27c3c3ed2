// What executions left on their devices, and re-opening the ones that failed: the previous
// artifact a rollout records for each device (its last install, none after a revert), and an
// operator's retry. Statements of ExecutionRepository kept apart from the state machine's writes.
import { randomUUID } from 'node:crypto';
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { assertRetryable, RETRYABLE_STATES, type ExecutionState } from '../core/index.js';
import { chunks } from './device.repository.js';
import type { RequeuedRow } from './execution-row.js';
import type { Database } from './schema.js';

/** Executions that left their artifact installed: succeeded, or cancelled but installed anyway. */
const installedWhere = (eb: ExpressionBuilder<Database, 'executions' | 'rollouts'>) =>
  eb.or([eb('executions.state', '=', 'succeeded'), eb.and([eb('executions.state', '=', 'cancelled'), eb('executions.installed_after_cancel', '=', 1)])]);

/**
 * The correlated subquery an INSERT ... SELECT FROM devices uses for each device's previous
 * artifact: the latest execution that left one installed; NULL when that was a revert (the device
 * went back to a release that is not ours).
 */
export function previousArtifactOf(s: ExpressionBuilder<Database, 'devices'>) {
  return s
    .selectFrom('executions as prev')
    .innerJoin('rollouts as prev_rollout', 'prev_rollout.id', 'prev.rollout_id')
    .select((p) => p.case().when('prev_rollout.revert', '=', 1).then(sql<string | null>`NULL`).else(p.ref('prev.artifact_id')).end().as('artifact_id'))
    .whereRef('prev.device_id', '=', 'devices.id')
    .where((eb) => eb.or([eb('prev.state', '=', 'succeeded'), eb.and([eb('prev.state', '=', 'cancelled'), eb('prev.installed_after_cancel', '=', 1)])]))
    .orderBy('prev.finished_at', 'desc')
    .limit(1);
}

/** The same, for a list of devices: device id -> the artifact it last installed (devices with none are left out). */
export async function lastInstalled(db: Kysely<Database>, maxParams: number, deviceIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, { artifact: string | null; at: number }>();
  for (const chunk of chunks(deviceIds, maxParams - 10)) {
    const rows = await db
      .selectFrom('executions')
      .innerJoin('rollouts', 'rollouts.id', 'executions.rollout_id')
      .select(['executions.device_id', 'executions.artifact_id', 'executions.finished_at', 'rollouts.revert'])
      .where('executions.device_id', 'in', chunk)
      .where(installedWhere)
      .execute();
    for (const r of rows) {
      const at = Number(r.finished_at ?? 0);
      const seen = out.get(r.device_id);
      if (!seen || seen.at < at) out.set(r.device_id, { artifact: r.revert === 1 ? null : r.artifact_id, at });
    }
  }
  return new Map([...out].filter(([, v]) => v.artifact !== null).map(([k, v]) => [k, v.artifact!]));
}

/** Re-opens a rollout's failures (or one device's) as pending with fresh attempts and new ids. */
export async function requeueFailures(trx: Kysely<Database>, maxParams: number, rolloutId: string, deviceId: string | null, now: number): Promise<RequeuedRow[]> {
  let q = trx.selectFrom('executions').select(['id', 'device_id', 'state', 'phase']).where('rollout_id', '=', rolloutId).where('state', 'in', [...RETRYABLE_STATES]);
  if (deviceId !== null) q = q.where('device_id', '=', deviceId);
  const found = await q.execute();
  const out: RequeuedRow[] = [];
  for (const chunk of chunks(found, Math.floor((maxParams - 20) / 3))) {
    const fresh = new Map<string, string>(chunk.map((r) => [r.id, randomUUID()]));
    for (const r of chunk) assertRetryable(r.state as ExecutionState);
    const newId = sql<string>`CASE id ${sql.join(chunk.map((r) => sql`WHEN ${r.id} THEN ${fresh.get(r.id)!}`), sql` `)} END`;
    const rows = await trx
      .updateTable('executions')
      .set({ id: newId, state: 'pending', attempts: 0, next_attempt_at: now, lease_owner: null, lease_expires_at: null, bytes: 0, error: null, note: null, installed_after_cancel: 0, started_at: null, finished_at: null, updated_at: now })
      .where('id', 'in', chunk.map((r) => r.id))
      .where('state', 'in', [...RETRYABLE_STATES])
      .returning(['id', 'device_id'])
      .execute();
    const byNew = new Map(chunk.map((r) => [fresh.get(r.id)!, r]));
    for (const row of rows) {
      const before = byNew.get(row.id)!;
      out.push({ id: row.id, previousId: before.id, deviceId: row.device_id, rolloutId, from: before.state as ExecutionState, phase: before.phase });
    }
  }
  return out;
}
