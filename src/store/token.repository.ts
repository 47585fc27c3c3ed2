// Operator, device and enrollment tokens. Only a SHA-256 of each token is stored: tokens are 256-bit
// random secrets, so a fast hash is enough and keeps authentication off the hot path's budget.
import { hash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Role } from '../core/index.js';
import type { Database, TokenRow } from './schema.js';

export type TokenKind = 'operator' | 'device' | 'enrollment';

export interface TokenRecord {
  id: string;
  kind: TokenKind;
  role: Role | null;
  deviceId: string | null;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

// crypto.hash is the one-shot form: a third of createHash's cost, paid on every authenticated request.
export const hashToken = (token: string) => hash('sha256', token, 'hex');

const PREFIX: Record<TokenKind, string> = { operator: 'uo_op_', device: 'uo_dev_', enrollment: 'uo_enr_' };

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    kind: row.kind as TokenKind,
    role: row.role as Role | null,
    deviceId: row.device_id,
    name: row.name,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
  };
}

export class TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates a token; the plaintext is returned once and never stored. */
  async create(input: { kind: TokenKind; role?: Role | null; deviceId?: string | null; name: string; expiresAt?: number | null }, now: number): Promise<{ token: string; record: TokenRecord }> {
    const token = PREFIX[input.kind] + randomBytes(32).toString('base64url');
    const row: TokenRow = {
      id: randomUUID(),
      hash: hashToken(token),
      kind: input.kind,
      role: input.role ?? null,
      device_id: input.deviceId ?? null,
      name: input.name,
      created_at: now,
      expires_at: input.expiresAt ?? null,
      revoked_at: null,
    };
    await this.db.insertInto('tokens').values(row).execute();
    return { token, record: toRecord(row) };
  }

  /**
   * Issues one device token for each of these devices in one statement per batch (provisioning a
   * large fleet, the million-device benchmark); answers the plaintexts in the same order. Only
   * their hashes are stored. Devices' previous tokens stay valid: revoke them first if needed.
   */
  async createDeviceTokens(deviceIds: string[], now: number, batchSize = 2_000): Promise<string[]> {
    const tokens: string[] = [];
    for (let start = 0; start < deviceIds.length; start += batchSize) {
      const rows: TokenRow[] = deviceIds.slice(start, start + batchSize).map((deviceId) => {
        const token = PREFIX.device + randomBytes(32).toString('base64url');
        tokens.push(token);
        return { id: randomUUID(), hash: hashToken(token), kind: 'device', role: null, device_id: deviceId, name: `device-${deviceId}`, created_at: now, expires_at: null, revoked_at: null };
      });
      await this.db.insertInto('tokens').values(rows).execute();
    }
    return tokens;
  }

  /** The live token with this plaintext, or null (unknown, revoked or expired). */
  async findActive(token: string, now: number): Promise<TokenRecord | null> {
    const row = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hashToken(token)).executeTakeFirst();
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return null;
    return toRecord(row);
  }

  async list(kind?: TokenKind): Promise<TokenRecord[]> {
    let query = this.db.selectFrom('tokens').selectAll().orderBy('created_at');
    if (kind) query = query.where('kind', '=', kind);
    return (await query.execute()).map(toRecord);
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Revokes every live token of a device (before issuing a new one, or when it is removed). */
  async revokeForDevice(deviceId: string, now: number): Promise<number> {
    const result = await this.db.updateTable('tokens').set({ revoked_at: now }).where('device_id', '=', deviceId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async countOperators(): Promise<number> {
    const row = await this.db.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'operator').where('revoked_at', 'is', null).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
