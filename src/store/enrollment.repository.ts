// Enrollment keys (a fleet-wide secret a device presents to register itself) and each device's
// enrollment state ('pending' until an operator accepts it, unless the key auto-accepts).
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { hashToken } from './token.repository.js';
import type { Database, EnrollmentKeyRow } from './schema.js';

export type EnrollmentState = 'accepted' | 'pending' | 'rejected';

/** What an enrolled device inherits from the key that enrolled it. */
export interface EnrollmentDefaults {
  tags?: Record<string, string>;
  location?: string;
  timezone?: string;
}

/** An enrollment key as the API shows it (never its secret). */
export interface EnrollmentKeyRecord {
  id: string;
  name: string;
  autoAccept: boolean;
  defaults: EnrollmentDefaults;
  maxUses: number | null;
  uses: number;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toRecord(row: EnrollmentKeyRow): EnrollmentKeyRecord {
  return {
    id: row.id,
    name: row.name,
    autoAccept: row.auto_accept === 1,
    defaults: JSON.parse(row.defaults) as EnrollmentDefaults,
    maxUses: row.max_uses,
    uses: Number(row.uses),
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
  };
}

export class EnrollmentRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates a key; the plaintext is returned once and only its hash is stored. */
  async createKey(input: { name: string; autoAccept: boolean; defaults: EnrollmentDefaults; maxUses: number | null; expiresAt: number | null }, now: number): Promise<{ key: string; record: EnrollmentKeyRecord }> {
    const key = 'uo_enr_' + randomBytes(32).toString('base64url');
    const row: EnrollmentKeyRow = {
      id: randomUUID(),
      hash: hashToken(key),
      name: input.name,
      auto_accept: input.autoAccept ? 1 : 0,
      defaults: JSON.stringify(input.defaults),
      max_uses: input.maxUses,
      uses: 0,
      created_at: now,
      expires_at: input.expiresAt,
      revoked_at: null,
    };
    await this.db.insertInto('enrollment_keys').values(row).execute();
    return { key, record: toRecord(row) };
  }

  async listKeys(): Promise<EnrollmentKeyRecord[]> {
    return (await this.db.selectFrom('enrollment_keys').selectAll().orderBy('created_at').execute()).map(toRecord);
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('enrollment_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** True when `key` is a live key (not revoked, expired or used up); uses nothing. */
  async isLive(key: string, now: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('enrollment_keys')
      .select('id')
      .where('hash', '=', hashToken(key))
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Uses a live key once: answers its record, or null when it is unknown, revoked, expired or
   * used up. The use count rises in the same statement that checks it, so concurrent enrollments
   * cannot exceed max_uses.
   */
  async consumeKey(key: string, now: number): Promise<EnrollmentKeyRecord | null> {
    const hash = hashToken(key);
    const result = await this.db
      .updateTable('enrollment_keys')
      .set({ uses: sql<number>`uses + 1` })
      .where('hash', '=', hash)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return null;
    const row = await this.db.selectFrom('enrollment_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async enrollmentOf(deviceId: string): Promise<EnrollmentState | null> {
    const row = await this.db.selectFrom('devices').select('enrollment').where('id', '=', deviceId).executeTakeFirst();
    return row ? ((row.enrollment ?? 'accepted') as EnrollmentState) : null;
  }

  /** Sets a device's enrollment state; false when the device does not exist. */
  async setEnrollment(deviceId: string, state: EnrollmentState, now: number): Promise<boolean> {
    const result = await this.db.updateTable('devices').set({ enrollment: state, updated_at: now }).where('id', '=', deviceId).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Devices waiting for an operator's decision, oldest first. */
  async pending(limit: number): Promise<{ id: string; name: string; createdAt: string }[]> {
    const rows = await this.db.selectFrom('devices').select(['id', 'name', 'created_at']).where('enrollment', '=', 'pending').orderBy('created_at').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at).toISOString() }));
  }
}
