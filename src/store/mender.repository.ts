// Storage for the Mender adapter: devices' authentication sets (identity and public key, and
// whether an operator accepted them), deployment logs attached to failures, and the secrets every
// server process shares (the JWT signing key).
import type { Kysely } from 'kysely';
import type { MenderAuthSetRow } from './protocol.schema.js';
import type { Database } from './schema.js';

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

export class MenderRepository {
  constructor(private readonly db: Kysely<Database>) {}

  // Authentication sets

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

  // Deployment logs

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

  // Secrets shared by every server process (the JWT signing key)

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
