// The device registry's persistence: CRUD, filtered keyset pages, counts and batched upserts.
import type { Database as SQLiteDatabase } from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { AUTH_FIELD, ConflictError, idCursor, splitSecrets, versionKey, type Device, type DeviceFilter, type DeviceInput, type ImportStaging, type SplitSecrets } from '../core/index.js';
import type { DeviceSecretRepository } from './device-secret.repository.js';
import { SecretStaging } from './device-secret.staging.js';
import { deviceWhere } from './device-filter.sql.js';
import { ROW_COLUMNS, toDevice, toRow } from './device-row.js';
import type { Database } from './schema.js';
import { atomic } from './atomic.sql.js';
import { SqliteBulkUpsert } from './device-bulk.sqlite.js';
import { PostgresImportStaging } from './device-import.postgres.js';
import { SqliteImportStaging } from './device-import.sqlite.js';

export interface DevicePage {
  items: Device[];
  nextCursor: string | null;
}


/** The protocol a device speaks: the native device API, hawkBit DDI or Mender. */
export type DeviceProtocol = 'native' | 'hawkbit' | 'mender';

export class DeviceRepository {
  private bulk: SqliteBulkUpsert | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxParams: number,
    /** Where metadata.auth values go: every write below splits them off (the row keeps "[set]"). */
    readonly secrets: DeviceSecretRepository,
    /** SQLite only: bulk imports use prepared statements on the raw connection (see upsertMany). */
    private readonly sqlite?: SQLiteDatabase,
  ) {}

  async get(id: string): Promise<Device | null> {
    const row = await this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDevice(row) : null;
  }

  async getMany(ids: string[]): Promise<Device[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('devices').selectAll().where('id', 'in', ids).execute();
    return rows.map(toDevice);
  }

  /** Inserts a new device; a ConflictError when the id is taken. */
  async create(device: DeviceInput, now: number): Promise<Device> {
    const split = splitSecrets(device.metadata);
    const row = toRow({ ...device, metadata: split.metadata }, now);
    try {
      await atomic(this.db, async (trx) => {
        await trx.insertInto('devices').values(row).execute();
        await this.writeTags(trx, [device]);
        await this.secrets.write(trx, device.id, split, now);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`device '${device.id}' already exists; use PUT or PATCH /api/v1/devices/${device.id} to change it`);
      throw error;
    }
    return toDevice(row);
  }

  /** Replaces a stored device's fields, keeping its creation time. */
  async update(device: DeviceInput, now: number): Promise<Device | null> {
    const split = splitSecrets(device.metadata);
    const { created_at: _c, id: _id, ...fields } = toRow({ ...device, metadata: split.metadata }, now);
    const changed = await atomic(this.db, async (trx) => {
      const result = await trx.updateTable('devices').set(fields).where('id', '=', device.id).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await trx.deleteFrom('device_tags').where('device_id', '=', device.id).execute();
      await this.writeTags(trx, [device]);
      await this.secrets.write(trx, device.id, split, now);
      return true;
    });
    return changed ? this.get(device.id) : null;
  }

  /**
   * Marks a device decommissioned (its row, and so its history, stays) and revokes its device
   * tokens and Mender authentication sets in the same transaction. Answers whether this call
   * decommissioned it (false: it already was); null when there is no such device.
   */
  async decommission(id: string, now: number): Promise<boolean | null> {
    const result = await this.db.updateTable('devices').set({ decommissioned_at: now, updated_at: now }).where('id', '=', id).where('decommissioned_at', 'is', null).executeTakeFirst();
    const first = Number(result.numUpdatedRows) > 0;
    if (!first && !(await this.db.selectFrom('devices').select('id').where('id', '=', id).executeTakeFirst())) return null;
    // Again on a repeated call: a credential added since (or left by a crash) ends too.
    await this.db.updateTable('tokens').set({ revoked_at: now }).where('device_id', '=', id).where('revoked_at', 'is', null).execute();
    await this.db.updateTable('mender_auth_sets').set({ status: 'decommissioned', updated_at: now }).where('device_id', '=', id).where('status', '!=', 'decommissioned').execute();
    // Its push credentials go too: nothing is pushed to it again, and a stolen device's SSH
    // password or bearer token is not kept where a backup could leak it.
    await this.db.deleteFrom('device_secrets').where('device_id', '=', id).execute();
    return first;
  }

  /**
   * The filtered row source. With a tag in the filter, rows are driven from the tag index
   * (key, value, device_id), which yields device ids in order: a page reads only its own rows
   * instead of testing every device. Other conditions, and further tags, are checked per row.
   */
  private filtered(filter: DeviceFilter) {
    const [lead, ...rest] = filter.tags ?? [];
    if (!lead) return { from: this.db.selectFrom('devices').where(deviceWhere(filter)), order: sql.ref<string>('devices.id') };
    const from = this.db
      .selectFrom('device_tags as lead')
      .innerJoin('devices', 'devices.id', 'lead.device_id')
      .where('lead.key', '=', lead.key)
      .where('lead.value', '=', lead.value)
      // The devices-scoped condition is valid here too: `devices` is part of this join.
      .where(deviceWhere({ ...filter, tags: rest }) as never);
    return { from: from as unknown as ReturnType<typeof this.plain>, order: sql.ref<string>('lead.device_id') };
  }

  private plain() {
    return this.db.selectFrom('devices');
  }

  /** One keyset page ordered by id: stable while devices are added or removed. */
  async list(filter: DeviceFilter, options: { limit: number; after?: string | null }): Promise<DevicePage> {
    const { from, order } = this.filtered(filter);
    let query = from.selectAll('devices');
    if (options.after) query = query.where(order, '>', options.after);
    const rows = await query.orderBy(order).limit(options.limit + 1).execute();
    const more = rows.length > options.limit;
    const items = (more ? rows.slice(0, options.limit) : rows).map(toDevice);
    const last = items.at(-1);
    return { items, nextCursor: more && last ? idCursor.encode(last.id) : null };
  }

  async count(filter: DeviceFilter): Promise<number> {
    const { from } = this.filtered(filter);
    const row = await from.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Ids matching a filter, in id order, a batch at a time (rollout target sets, exports). */
  async *iterate(filter: DeviceFilter, batchSize = 1000): AsyncGenerator<Device[]> {
    let after: string | null = null;
    for (;;) {
      const page: DevicePage = await this.list(filter, { limit: batchSize, after });
      if (page.items.length > 0) yield page.items;
      if (!page.nextCursor) return;
      after = page.items.at(-1)!.id;
    }
  }

  /** Inserts or replaces many devices in one transaction; answers how many were new. */
  async upsertMany(inputs: DeviceInput[], now: number): Promise<{ created: number; updated: number }> {
    if (inputs.length === 0) return { created: 0, updated: 0 };
    const splits = inputs.map((d) => splitSecrets(d.metadata));
    const devices = inputs.map((d, i) => ({ ...d, metadata: splits[i]!.metadata }));
    // Dialect difference, named: on SQLite one synchronous transaction of prepared single-row
    // statements is several times cheaper than building and preparing huge multi-row statements.
    // It must not run inside a transaction Kysely has open on the same connection (it would
    // become part of it), so then the portable path below waits its turn instead.
    if (this.sqlite && !this.sqlite.inTransaction) {
      this.bulk ??= new SqliteBulkUpsert(this.sqlite);
      const counts = await this.bulk.run(devices.map((d) => toRow(d, now)), devices);
      await atomic(this.db, (trx) => this.writeSecrets(trx, devices, splits, now));
      return counts;
    }
    return atomic(this.db, async (trx) => {
      const ids = devices.map((d) => d.id);
      const existing = new Set<string>();
      for (const chunk of chunks(ids, this.maxParams)) {
        for (const row of await trx.selectFrom('devices').select('id').where('id', 'in', chunk).execute()) existing.add(row.id);
      }
      for (const chunk of chunks(devices, Math.floor(this.maxParams / ROW_COLUMNS.length))) {
        await trx
          .insertInto('devices')
          .values(chunk.map((d) => toRow(d, now)))
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              name: eb.ref('excluded.name'),
              address: eb.ref('excluded.address'),
              mode: eb.ref('excluded.mode'),
              status: eb.ref('excluded.status'),
              last_seen: eb.ref('excluded.last_seen'),
              version: eb.ref('excluded.version'),
              version_key: eb.ref('excluded.version_key'),
              location: eb.ref('excluded.location'),
              timezone: eb.ref('excluded.timezone'),
              tags: eb.ref('excluded.tags'),
              metadata: eb.ref('excluded.metadata'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      const replaced = ids.filter((id) => existing.has(id));
      for (const chunk of chunks(replaced, this.maxParams)) await trx.deleteFrom('device_tags').where('device_id', 'in', chunk).execute();
      await this.writeTags(trx, devices);
      await this.writeSecrets(trx, devices, splits, now);
      return { created: devices.length - existing.size, updated: existing.size };
    });
  }

  /**
   * Where a bulk import stages its validated devices: on SQLite a scratch database in the import's
   * temporary directory (SqliteImportStaging), on PostgreSQL a temporary table of the import's own
   * connection (PostgresImportStaging). Both move the rows in with INSERT ... SELECT.
   */
  importStaging(dir: string, now: number): ImportStaging {
    const rows = this.sqlite ? new SqliteImportStaging(this.sqlite, dir, now) : new PostgresImportStaging(this.db, now);
    return new SecretStaging(rows, this.db, this.secrets, dir, now);
  }

  /** For an import row: why its "[set]" credentials cannot be kept (no stored value), or null. */
  keptProblem(device: DeviceInput): Promise<string | null> | null {
    const { kept } = splitSecrets(device.metadata);
    return kept.length === 0 ? null : this.secrets.keptProblem(device.id, kept);
  }

  /** The device with its credentials opened, for a push transport; nothing else may call this. */
  async withCredentials(device: Device): Promise<Device> {
    const auth = device.metadata[AUTH_FIELD];
    if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) return device;
    const keys = Object.keys(auth);
    if (keys.length === 0) return device;
    return { ...device, metadata: { ...device.metadata, [AUTH_FIELD]: await this.secrets.credentials(device.id, keys) } };
  }

  /**
   * Refreshes the query planner's statistics after a bulk change. Without them SQLite may read a
   * wide version range through its index and sort it, instead of walking ids in order.
   */
  async analyze(): Promise<void> {
    await sql`ANALYZE devices`.execute(this.db);
    await sql`ANALYZE device_tags`.execute(this.db);
  }

  /**
   * Records the hardware type a device reported (Mender inventory, hawkBit attributes, the agent);
   * writes only when it changed, so a repeated report costs no update.
   */
  async setDeviceType(id: string, deviceType: string, now: number): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ device_type: deviceType, updated_at: now })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('device_type', 'is', null), eb('device_type', '!=', deviceType)]))
      .execute();
  }

  /** Records a heartbeat: the device was seen now and is online. */
  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('devices').set({ last_seen: now, status: 'online' }).where('id', '=', id).execute();
  }

  /**
   * Records the version each device runs: one UPDATE per distinct version (and per chunk of
   * ids), touching only rows whose version differs. With `unknownOnly`, devices whose version is
   * known keep it. The registry's DeviceVersions is the one caller: it owns the rule.
   */
  async setVersions(runs: readonly { deviceId: string; version: string }[], now: number, options: { unknownOnly?: boolean } = {}): Promise<void> {
    const byVersion = new Map<string, string[]>();
    for (const { deviceId, version } of runs) {
      const ids = byVersion.get(version);
      if (ids) ids.push(deviceId);
      else byVersion.set(version, [deviceId]);
    }
    for (const [version, ids] of byVersion) {
      for (const chunk of chunks([...new Set(ids)], this.maxParams - 10)) {
        let update = this.db.updateTable('devices').set({ version, version_key: versionKey(version), updated_at: now }).where('id', 'in', chunk);
        update = options.unknownOnly ? update.where('version', 'is', null) : update.where('version', 'is distinct from', version);
        await update.execute();
      }
    }
  }

  /** Marks online devices not seen since `cutoff` offline; answers which ones changed. */
  async markOffline(cutoff: number, now: number): Promise<string[]> {
    const rows = await this.db
      .updateTable('devices')
      .set({ status: 'offline', updated_at: now })
      .where('status', '=', 'online')
      .where('last_seen', '<', cutoff)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  async setProtocol(deviceId: string, protocol: DeviceProtocol): Promise<void> {
    await this.db.updateTable('devices').set({ protocol }).where('id', '=', deviceId).execute();
  }

  /** The device's protocol, or null when there is no such device. */
  async protocol(deviceId: string): Promise<DeviceProtocol | null> {
    const row = await this.db.selectFrom('devices').select('protocol').where('id', '=', deviceId).executeTakeFirst();
    return row ? ((row.protocol ?? 'native') as DeviceProtocol) : null;
  }

  /** Each device's credentials after a batch write: stored as given, or removed when it names none. */
  private async writeSecrets(trx: Kysely<Database>, devices: DeviceInput[], splits: SplitSecrets[], now: number): Promise<void> {
    const none: string[] = [];
    for (let i = 0; i < devices.length; i++) {
      if (splits[i]!.keys.length > 0) await this.secrets.write(trx, devices[i]!.id, splits[i]!, now);
      else none.push(devices[i]!.id);
    }
    for (const chunk of chunks(none, this.maxParams)) await trx.deleteFrom('device_secrets').where('device_id', 'in', chunk).execute();
  }

  private async writeTags(trx: Kysely<Database>, devices: DeviceInput[]): Promise<void> {
    const rows = devices.flatMap((d) => Object.entries(d.tags).map(([key, value]) => ({ device_id: d.id, key, value })));
    for (const chunk of chunks(rows, Math.floor(this.maxParams / 3))) await trx.insertInto('device_tags').values(chunk).execute();
  }
}

export function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** True for a primary-key or unique violation in either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
