// What pull devices tell us: their latest report and inventory, and batched heartbeats (one UPDATE
// for every device seen since the last flush, instead of a write per poll).
import type { Kysely } from 'kysely';
import { chunks } from './device.repository.js';
import { EventRepository } from './event.repository.js';
import type { Database } from './schema.js';
import { atomic } from './atomic.sql.js';

/** What a heartbeat callback may write in the heartbeat's transaction: its events. */
export interface InTransaction {
  events: EventRepository;
}

/** The latest report and inventory a device sent. */
export interface StoredDeviceReport {
  deviceId: string;
  inventory: Record<string, unknown>;
  report: Record<string, unknown>;
  reportedAt: string;
}

export class DeviceReportRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxParams: number,
  ) {}

  /** Stores the latest report; inventory is replaced only when the report carries one. */
  async save(deviceId: string, report: Record<string, unknown>, inventory: Record<string, unknown> | undefined, now: number): Promise<void> {
    const values = { device_id: deviceId, report: JSON.stringify(report), inventory: JSON.stringify(inventory ?? {}), enrollment_key_id: null, reported_at: now };
    await this.db
      .insertInto('device_reports')
      .values(values)
      .onConflict((oc) =>
        oc.column('device_id').doUpdateSet(inventory === undefined ? { report: values.report, reported_at: now } : { report: values.report, inventory: values.inventory, reported_at: now }),
      )
      .execute();
  }

  /** Remembers which enrollment key registered a device (for audits). */
  async recordEnrollment(deviceId: string, keyId: string, now: number): Promise<void> {
    await this.db
      .insertInto('device_reports')
      .values({ device_id: deviceId, report: '{}', inventory: '{}', enrollment_key_id: keyId, reported_at: now })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ enrollment_key_id: keyId }))
      .execute();
  }

  async get(deviceId: string): Promise<StoredDeviceReport | null> {
    const row = await this.db.selectFrom('device_reports').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
    if (!row) return null;
    return {
      deviceId: row.device_id,
      inventory: JSON.parse(row.inventory) as Record<string, unknown>,
      report: JSON.parse(row.report) as Record<string, unknown>,
      reportedAt: new Date(row.reported_at).toISOString(),
    };
  }

  /**
   * Records heartbeats of many devices at `now`. `cameOnline` is told, inside the same
   * transaction, which devices were not online before (to record events atomically with it).
   */
  async touchMany(ids: string[], now: number, cameOnline?: (ids: string[], tx: InTransaction) => Promise<void>): Promise<string[]> {
    const changed: string[] = [];
    for (const chunk of chunks(ids, this.maxParams - 10)) {
      await atomic(this.db, async (trx) => {
        // One conditional UPDATE decides who brings a device online: with several servers flushing
        // the same device, the row lock makes the second re-check `status` and skip it (a SELECT
        // first would let both see it offline and both emit device.online).
        const rows = await trx.updateTable('devices').set({ last_seen: now, status: 'online' }).where('id', 'in', chunk).where('status', '<>', 'online').returning('id').execute();
        await trx.updateTable('devices').set({ last_seen: now }).where('id', 'in', chunk).where('status', '=', 'online').execute();
        const ids = rows.map((r) => r.id);
        if (ids.length > 0) await cameOnline?.(ids, this.inTransaction(trx));
        changed.push(...ids);
      });
    }
    return changed;
  }

  /** Marks online devices not seen since `cutoff` offline; `marked` runs in the same transaction. */
  async markOffline(cutoff: number, now: number, marked?: (ids: string[], tx: InTransaction) => Promise<void>, limit = 2_000): Promise<string[]> {
    return atomic(this.db, async (trx) => {
      // At most `limit` devices per call: a fleet that went silent at once (or an import of stale
      // devices) is marked in short transactions instead of one that blocks the server.
      // The ids first, then the update by primary key: as one statement (`id IN (SELECT … LIMIT)`),
      // PostgreSQL planned a nested loop that re-ran the subquery for every online device whenever
      // its statistics were taken before the fleet came online (25 s for 5,000 devices, holding
      // the rows every heartbeat and report then waited for).
      const due = await trx.selectFrom('devices').select('id').where('status', '=', 'online').where('last_seen', '<', cutoff).limit(Math.min(limit, this.maxParams - 10)).execute();
      if (due.length === 0) return [];
      const rows = await trx
        .updateTable('devices')
        .set({ status: 'offline', updated_at: now })
        .where('id', 'in', due.map((r) => r.id))
        .where('status', '=', 'online')
        .returning('id')
        .execute();
      const ids = rows.map((r) => r.id);
      if (ids.length > 0) await marked?.(ids, this.inTransaction(trx));
      return ids;
    });
  }

  private inTransaction(trx: Kysely<Database>): InTransaction {
    return { events: new EventRepository(trx, this.maxParams) };
  }
}
