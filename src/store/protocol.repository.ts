// Storage for the device protocol adapters (hawkBit DDI, Mender): tenants and gateway tokens,
// numeric hawkBit action ids, sha1/md5 of artifacts, Mender authentication sets, server secrets.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { MenderAuthSetRow } from './protocol.schema.js';

export type DeviceProtocol = 'native' | 'hawkbit' | 'mender';
export type AuthSetStatus = 'pending' | 'accepted' | 'rejected' | 'preauthorized' | 'decommissioned';

/** A Mender device's identity and public key, and whether an operator accepted it. */
export interface MenderAuthSet {
  id: string;
  deviceId: string;
  identity: Record<string, unknown>;
  pubkey: string;
  status: AuthSetStatus;
  createdAt: string;
  updatedAt: string;
}

/** What the adapters read of an execution (the engine owns every write). */
export interface ExecutionView {
  id: string;
  deviceId: string;
  state: string;
  artifactId: string;
}

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

function toAuthSet(row: MenderAuthSetRow): MenderAuthSet {
  return {
    id: row.id,
    deviceId: row.device_id,
    identity: JSON.parse(row.id_data) as Record<string, unknown>,
    pubkey: row.pubkey,
    status: row.status as AuthSetStatus,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export class ProtocolRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async setDeviceProtocol(deviceId: string, protocol: DeviceProtocol): Promise<void> {
    await this.db.updateTable('devices').set({ protocol }).where('id', '=', deviceId).execute();
  }

  async deviceProtocol(deviceId: string): Promise<DeviceProtocol | null> {
    const row = await this.db.selectFrom('devices').select('protocol').where('id', '=', deviceId).executeTakeFirst();
    return row ? ((row.protocol ?? 'native') as DeviceProtocol) : null;
  }

  // hawkBit tenants

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

  // hawkBit actions

  /** The action number of an execution, created on first use (idempotent under races). */
  async actionFor(executionId: string, deviceId: string, now: number): Promise<HawkbitAction> {
    await this.db
      .insertInto('hawkbit_actions')
      .values({ execution_id: executionId, device_id: deviceId, offered_at: null, cancel_acked_at: null, last_update_mode: null, created_at: now })
      .onConflict((oc) => oc.column('execution_id').doNothing())
      .execute();
    const row = await this.db.selectFrom('hawkbit_actions').selectAll().where('execution_id', '=', executionId).executeTakeFirstOrThrow();
    return this.toAction(row);
  }

  async action(id: number): Promise<HawkbitAction | null> {
    const row = await this.db.selectFrom('hawkbit_actions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.toAction(row) : null;
  }

  /** The device's most recent actions, newest first. */
  async recentActions(deviceId: string, limit: number): Promise<HawkbitAction[]> {
    const rows = await this.db.selectFrom('hawkbit_actions').selectAll().where('device_id', '=', deviceId).orderBy('id', 'desc').limit(limit).execute();
    return rows.map((row) => this.toAction(row));
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

  private toAction(row: { id: number; execution_id: string; device_id: string; offered_at: number | null; cancel_acked_at: number | null; last_update_mode: string | null }): HawkbitAction {
    return { id: Number(row.id), executionId: row.execution_id, deviceId: row.device_id, offeredAt: row.offered_at, cancelAckedAt: row.cancel_acked_at, lastUpdateMode: row.last_update_mode };
  }

  /** One execution's device, state and artifact, or null. */
  async execution(id: string): Promise<ExecutionView | null> {
    const { rows } = await sql<{ id: string; device_id: string; state: string; artifact_id: string }>`SELECT id, device_id, state, artifact_id FROM executions WHERE id = ${id}`.execute(this.db);
    const row = rows[0];
    return row ? { id: row.id, deviceId: row.device_id, state: row.state, artifactId: row.artifact_id } : null;
  }

  /**
   * A failed (or rolled-back) execution's error, rewritten with the reason its device's log gave
   * after the failure was recorded (a Mender deployment log). Answers whether it changed; an
   * execution in any other state is left alone.
   */
  async attachFailureLog(executionId: string, error: string): Promise<boolean> {
    // updated_at stays: it dates the last change of state, which this is not.
    const result = await this.db.updateTable('executions').set({ error }).where('id', '=', executionId).where('state', 'in', ['failed', 'rolled-back']).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  // Extra artifact hashes

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

  // Mender authentication sets

  async authSet(id: string): Promise<MenderAuthSet | null> {
    const row = await this.db.selectFrom('mender_auth_sets').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAuthSet(row) : null;
  }

  async authSetFor(deviceId: string, pubkey: string): Promise<MenderAuthSet | null> {
    const row = await this.db.selectFrom('mender_auth_sets').selectAll().where('device_id', '=', deviceId).where('pubkey', '=', pubkey).executeTakeFirst();
    return row ? toAuthSet(row) : null;
  }

  /** Inserts a set unless one exists for (device, key); answers the stored set. */
  async addAuthSet(set: { id: string; deviceId: string; identity: Record<string, unknown>; pubkey: string; status: AuthSetStatus }, now: number): Promise<MenderAuthSet> {
    await this.db
      .insertInto('mender_auth_sets')
      .values({ id: set.id, device_id: set.deviceId, id_data: JSON.stringify(set.identity), pubkey: set.pubkey, status: set.status, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['device_id', 'pubkey']).doNothing())
      .execute();
    return (await this.authSetFor(set.deviceId, set.pubkey))!;
  }

  async setAuthStatus(id: string, status: AuthSetStatus, now: number): Promise<void> {
    await this.db.updateTable('mender_auth_sets').set({ status, updated_at: now }).where('id', '=', id).execute();
  }

  async listAuthSets(status: AuthSetStatus | undefined, limit: number): Promise<MenderAuthSet[]> {
    let query = this.db.selectFrom('mender_auth_sets').selectAll().orderBy('created_at').orderBy('id').limit(limit);
    if (status) query = query.where('status', '=', status);
    return (await query.execute()).map(toAuthSet);
  }

  // Secrets shared by every server process (e.g. the Mender JWT key)

  /** The named secret; the first caller's `generate()` wins a race. */
  async secret(name: string, generate: () => string, now: number): Promise<string> {
    await this.db
      .insertInto('protocol_secrets')
      .values({ name, value: generate(), created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db.selectFrom('protocol_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }
}
