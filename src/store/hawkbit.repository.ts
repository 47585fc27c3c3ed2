// Storage for the hawkBit DDI adapter: tenants and their gateway tokens, the numeric action ids
// DDI uses for our executions, and the sha1/md5 of artifacts that DDI clients check.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A hawkBit action: the number DDI uses for one of our executions. */
export interface HawkbitAction {
  id: number;
  executionId: string;
  deviceId: string;
  offeredAt: number | null;
  cancelAckedAt: number | null;
  /** The DDI `update` mode last served, so a client's answer to 'skip' is not taken as an install. */
  lastUpdateMode: string | null;
}

function toAction(row: { id: number; execution_id: string; device_id: string; offered_at: number | null; cancel_acked_at: number | null; last_update_mode: string | null }): HawkbitAction {
  return { id: Number(row.id), executionId: row.execution_id, deviceId: row.device_id, offeredAt: row.offered_at, cancelAckedAt: row.cancel_acked_at, lastUpdateMode: row.last_update_mode };
}

export class HawkbitRepository {
  constructor(private readonly db: Kysely<Database>) {}

  // Tenants

  async setGatewayToken(tenant: string, tokenHash: string | null, now: number): Promise<void> {
    await this.db
      .insertInto('hawkbit_tenants')
      .values({ name: tenant, gateway_token_hash: tokenHash, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ gateway_token_hash: tokenHash, updated_at: now }))
      .execute();
  }

  async gatewayTokenHash(tenant: string): Promise<string | null> {
    const row = await this.db.selectFrom('hawkbit_tenants').select('gateway_token_hash').where('name', '=', tenant).executeTakeFirst();
    return row?.gateway_token_hash ?? null;
  }

  // Actions

  /** The action number of an execution, created on first use (idempotent under races). */
  async actionFor(executionId: string, deviceId: string, now: number): Promise<HawkbitAction> {
    await this.db
      .insertInto('hawkbit_actions')
      .values({ execution_id: executionId, device_id: deviceId, offered_at: null, cancel_acked_at: null, last_update_mode: null, created_at: now })
      .onConflict((oc) => oc.column('execution_id').doNothing())
      .execute();
    const row = await this.db.selectFrom('hawkbit_actions').selectAll().where('execution_id', '=', executionId).executeTakeFirstOrThrow();
    return toAction(row);
  }

  async action(id: number): Promise<HawkbitAction | null> {
    const row = await this.db.selectFrom('hawkbit_actions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAction(row) : null;
  }

  /** The device's most recent actions, newest first. */
  async recentActions(deviceId: string, limit: number): Promise<HawkbitAction[]> {
    const rows = await this.db.selectFrom('hawkbit_actions').selectAll().where('device_id', '=', deviceId).orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toAction);
  }

  /** Records that deploymentBase was served with this update mode (first offer time kept). */
  async markOffered(id: number, mode: string, now: number): Promise<void> {
    await this.db
      .updateTable('hawkbit_actions')
      .set((eb) => ({ offered_at: eb.fn.coalesce('offered_at', eb.val(now)), last_update_mode: mode }))
      .where('id', '=', id)
      .execute();
  }

  async ackCancel(id: number, now: number): Promise<void> {
    await this.db.updateTable('hawkbit_actions').set({ cancel_acked_at: now }).where('id', '=', id).where('cancel_acked_at', 'is', null).execute();
  }

  // The sha1 and md5 DDI's artifact links carry

  async artifactHashes(artifactId: string): Promise<{ sha1: string; md5: string } | null> {
    const row = await this.db.selectFrom('artifact_hashes').select(['sha1', 'md5']).where('artifact_id', '=', artifactId).executeTakeFirst();
    return row ?? null;
  }

  async saveArtifactHashes(artifactId: string, hashes: { sha1: string; md5: string }, now: number): Promise<void> {
    await this.db
      .insertInto('artifact_hashes')
      .values({ artifact_id: artifactId, ...hashes, created_at: now })
      .onConflict((oc) => oc.column('artifact_id').doNothing())
      .execute();
  }
}
