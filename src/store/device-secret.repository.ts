// Device credentials at rest: one sealed row per device and credential in device_secrets, under
// the one key the database is bound to (secrets_key). Device writes call write() inside their own
// transaction; only the push delivery path calls credentials(), which opens them.
import type { Database as SQLiteDatabase } from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { AUTH_FIELD, hasSecretValues, redactSecrets, SecretOpenError, splitSecrets, ValidationError, SECRET_SET, type SecretBox, type SplitSecrets } from '../core/index.js';
import type { Database } from './schema.js';
import { atomic } from './atomic.sql.js';

/** The credentials cannot be opened with this server's key: says which key they need and how to fix it. */
export class SecretsKeyError extends Error {}

const HOW_TO_FIX = 'every server of a database needs the same secrets key file (ORCHESTRATOR_SECRETS_KEY_FILE, default <data>/secrets.key): copy it from a server that has it or restore it from backup (docs/security.md#device-credentials)';

/** The sealed value's context: a value copied to another device or credential does not open. */
const contextOf = (deviceId: string, key: string) => `device-secret\n${deviceId}\n${key}`;

/** A device's credentials about to be written, already sealed (import staging keeps them so). */
export interface SealedSecrets {
  deviceId: string;
  /** Credential key -> sealed value, for the credentials given with a value. */
  sealed: Record<string, string>;
  /** Every key the device has after the write (given and kept). */
  keys: string[];
}

export class DeviceSecretRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
    /** SQLite only: sealing old plaintext overwrites what it replaces (secure_delete). */
    private readonly sqlite?: SQLiteDatabase,
  ) {}

  get keyId(): string {
    return this.box.keyId;
  }

  /** Seals the new values of a split for one device (its id is part of each value's context). */
  seal(deviceId: string, split: SplitSecrets): SealedSecrets {
    const sealed: Record<string, string> = {};
    for (const [key, value] of Object.entries(split.values)) sealed[key] = this.box.seal(value, contextOf(deviceId, key));
    return { deviceId, sealed, keys: split.keys };
  }

  /**
   * Inside a device write: stores the given values, keeps the credentials sent as "[set]" (a
   * ValidationError when one has no stored value) and deletes the credentials no longer named.
   */
  async write(trx: Kysely<Database>, deviceId: string, split: SplitSecrets, now: number): Promise<void> {
    if (split.kept.length > 0) {
      const missing = await this.missingKept(deviceId, split.kept, trx);
      if (missing.length > 0) throw new ValidationError(missingMessage(deviceId, missing), missing.map((key) => ({ path: `metadata.${AUTH_FIELD}.${key}`, message: `is "${SECRET_SET}" but no value is stored for it` })));
    }
    await this.apply(trx, [this.seal(deviceId, split)], now);
  }

  /** Writes sealed credentials, each device's set replacing what it had (kept keys stay). */
  async apply(trx: Kysely<Database>, items: SealedSecrets[], now: number): Promise<void> {
    const rows = items.flatMap((item) => Object.entries(item.sealed).map(([key, sealed]) => ({ device_id: item.deviceId, key, sealed, key_id: this.box.keyId, updated_at: now })));
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await trx
        .insertInto('device_secrets')
        .values(chunk)
        .onConflict((oc) => oc.columns(['device_id', 'key']).doUpdateSet((eb) => ({ sealed: eb.ref('excluded.sealed'), key_id: eb.ref('excluded.key_id'), updated_at: eb.ref('excluded.updated_at') })))
        .execute();
    }
    for (const item of items) {
      let drop = trx.deleteFrom('device_secrets').where('device_id', '=', item.deviceId);
      if (item.keys.length > 0) drop = drop.where('key', 'not in', item.keys);
      await drop.execute();
    }
  }

  /** Why `kept` ("[set]" credentials) cannot be kept for the device, or null when each has a stored value. */
  async keptProblem(deviceId: string, kept: string[]): Promise<string | null> {
    const missing = await this.missingKept(deviceId, kept);
    return missing.length > 0 ? missingMessage(deviceId, missing) : null;
  }

  /** Of `keys`, those the device has no stored value for. */
  async missingKept(deviceId: string, keys: string[], db: Kysely<Database> = this.db): Promise<string[]> {
    if (keys.length === 0) return [];
    const stored = new Set((await db.selectFrom('device_secrets').select('key').where('device_id', '=', deviceId).execute()).map((r) => r.key));
    return keys.filter((key) => !stored.has(key));
  }

  /**
   * Deletes credentials whose key the device's metadata no longer names (after a bulk import,
   * whose rows replace devices wholesale). The table holds push credentials only, so it is small.
   */
  async prune(): Promise<number> {
    const rows = await this.db.selectFrom('device_secrets as s').innerJoin('devices as d', 'd.id', 's.device_id').select(['s.device_id', 's.key', 'd.metadata']).execute();
    const stale = rows.filter((row) => {
      const auth = (JSON.parse(row.metadata) as Record<string, unknown>)[AUTH_FIELD];
      return !(typeof auth === 'object' && auth !== null && row.key in auth);
    });
    for (const row of stale) await this.db.deleteFrom('device_secrets').where('device_id', '=', row.device_id).where('key', '=', row.key).execute();
    return stale.length;
  }

  /**
   * A device's credentials, opened: for the push transports only. A credential marked "[set]" in
   * `keys` with no stored value, or one sealed under another key, is a SecretsKeyError that says so.
   */
  async credentials(deviceId: string, keys: string[]): Promise<Record<string, string>> {
    const rows = await this.db.selectFrom('device_secrets').select(['key', 'sealed', 'key_id']).where('device_id', '=', deviceId).execute();
    const out: Record<string, string> = {};
    for (const row of rows) {
      if (row.key_id !== this.box.keyId) throw new SecretsKeyError(`device '${deviceId}' credential '${row.key}' was sealed under secrets key ${row.key_id}, but this server has key ${this.box.keyId}: ${HOW_TO_FIX}`);
      try {
        out[row.key] = this.box.open(row.sealed, contextOf(deviceId, row.key));
      } catch (error) {
        if (!(error instanceof SecretOpenError)) throw error;
        throw new SecretsKeyError(`device '${deviceId}' credential '${row.key}' does not open under secrets key ${this.box.keyId} (altered, or sealed under another key): ${HOW_TO_FIX}`);
      }
    }
    const missing = keys.filter((key) => !(key in out));
    if (missing.length > 0) throw new SecretsKeyError(`${missingMessage(deviceId, missing)} (a restore without them, or they were discarded)`);
    return out;
  }

  /**
   * At start: binds the database to this server's key, or refuses (SecretsKeyError) when the
   * database holds credentials sealed under another key. A database bound to a key that sealed
   * nothing is rebound. The first time, moves the plaintext metadata.auth of earlier versions in.
   */
  async bind(now: number, on: { sealed?: (devices: number) => void; rebound?: (from: string) => void } = {}): Promise<void> {
    await this.db.insertInto('secrets_key').values({ id: 1, key_id: this.box.keyId, bound_at: now, sealed_at: null }).onConflict((oc) => oc.column('id').doNothing()).execute();
    const bound = await this.db.selectFrom('secrets_key').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
    if (bound.key_id !== this.box.keyId) {
      const sealed = await this.db.selectFrom('device_secrets').select((eb) => eb.fn.countAll<number>().as('n')).where('key_id', '=', bound.key_id).executeTakeFirstOrThrow();
      if (Number(sealed.n) > 0) {
        throw new SecretsKeyError(`this database holds ${Number(sealed.n)} device credential(s) sealed under secrets key ${bound.key_id}, but this server's key is ${this.box.keyId}; it does not start, so that nothing is pushed without its credentials. E${HOW_TO_FIX.slice(1)}. If that key is lost for good, see "Lost key" there`);
      }
      await this.db.updateTable('secrets_key').set({ key_id: this.box.keyId, bound_at: now }).where('id', '=', 1).where('key_id', '=', bound.key_id).execute();
      on.rebound?.(bound.key_id);
    }
    if (bound.sealed_at === null) {
      const devices = await this.sealPlaintext(now);
      await this.db.updateTable('secrets_key').set({ sealed_at: now }).where('id', '=', 1).execute();
      if (devices > 0) on.sealed?.(devices);
    }
  }

  /** The key id the database is bound to, or null before any server bound it. */
  async boundKeyId(): Promise<string | null> {
    return (await this.db.selectFrom('secrets_key').select('key_id').where('id', '=', 1).executeTakeFirst())?.key_id ?? null;
  }

  /**
   * Moves credentials that earlier versions kept in plaintext in devices.metadata (and SSH
   * passwords in addresses) into device_secrets, and scrubs them from the device events that
   * recorded them. Idempotent: a device that shows only "[set]" is left alone. Answers how many
   * devices it sealed.
   */
  async sealPlaintext(now: number): Promise<number> {
    // On SQLite the old page contents would stay in the file's free space and the WAL: zero them.
    this.sqlite?.pragma('secure_delete = ON');
    try {
      return await this.sealEach(now);
    } finally {
      this.sqlite?.pragma('secure_delete = OFF');
      this.sqlite?.pragma('wal_checkpoint(TRUNCATE)');
    }
  }

  private async sealEach(now: number): Promise<number> {
    let sealed = 0;
    let after = '';
    for (;;) {
      const page = await this.db
        .selectFrom('devices')
        .select(['id', 'mode', 'address', 'metadata'])
        .where('id', '>', after)
        .where((eb) => eb.or([eb('metadata', 'like', `%"${AUTH_FIELD}"%`), eb.and([eb('mode', '=', 'ssh'), eb('address', 'like', 'ssh://%:%@%')])]))
        .orderBy('id')
        .limit(500)
        .execute();
      if (page.length === 0) break;
      after = page.at(-1)!.id;
      for (const row of page) {
        const { metadata, address } = passwordOutOfAddress(row.mode, row.address, JSON.parse(row.metadata) as Record<string, unknown>);
        if (!hasSecretValues(metadata)) continue;
        const split = splitSecrets(metadata);
        await atomic(this.db, async (trx) => {
          await trx.updateTable('devices').set({ metadata: JSON.stringify(split.metadata), address }).where('id', '=', row.id).execute();
          // Values that earlier versions stored; a "[set]" among them has nothing to keep.
          await this.apply(trx, [this.seal(row.id, { ...split, kept: [], keys: Object.keys(split.values) })], now);
        });
        sealed++;
      }
    }
    await this.scrubEvents();
    return sealed;
  }

  /** Device events of earlier versions recorded the device (or the patch) with its credentials. */
  private async scrubEvents(): Promise<void> {
    let after = 0;
    for (;;) {
      const page = await this.db.selectFrom('events').select(['id', 'data']).where('id', '>', after)
        .where('type', 'like', 'device.%')
        .where((eb) => eb.or([eb('data', 'like', `%"${AUTH_FIELD}"%`), eb('data', 'like', '%ssh://%:%@%')]))
        .orderBy('id').limit(500).execute();
      if (page.length === 0) return;
      after = Number(page.at(-1)!.id);
      for (const row of page) {
        const data = JSON.parse(row.data) as Record<string, unknown>;
        const scrubbed = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, redactSecrets(v)]));
        const text = JSON.stringify(scrubbed);
        if (text !== row.data) await this.db.updateTable('events').set({ data: text }).where('id', '=', row.id).execute();
      }
    }
  }
}

/**
 * Earlier versions took an SSH password in the address (ssh://user:password@host/dir), which every
 * viewer reads: it moves to metadata.auth.password (unless one is set there already, which wins).
 */
function passwordOutOfAddress(mode: string, address: string | null, metadata: Record<string, unknown>): { address: string | null; metadata: Record<string, unknown> } {
  if (mode !== 'ssh' || !address) return { address, metadata };
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return { address, metadata };
  }
  if (!url.password) return { address, metadata };
  const password = decodeURIComponent(url.password);
  url.password = '';
  const auth = typeof metadata[AUTH_FIELD] === 'object' && metadata[AUTH_FIELD] !== null ? (metadata[AUTH_FIELD] as Record<string, unknown>) : {};
  return { address: url.toString(), metadata: { ...metadata, [AUTH_FIELD]: { password, ...auth } } };
}

function missingMessage(deviceId: string, keys: string[]): string {
  return `device '${deviceId}' has no stored value for ${keys.map((k) => `metadata.${AUTH_FIELD}.${k}`).join(', ')}: "${SECRET_SET}" keeps a stored credential, so send the value itself`;
}
