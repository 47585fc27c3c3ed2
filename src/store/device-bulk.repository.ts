// Bulk actions over a selection of devices, set-based in both dialects. `select` freezes the
// selection in bulk_selections under a run id; every later statement of the run (the change,
// each device's history, credentials of decommissioned devices) reads that set, so they all
// touch the same devices and the count has one source. Call them in one unit of work, and
// `release` last: the selection's rows live only inside that transaction.
import { sql, type Kysely, type SqlBool } from 'kysely';
import { IN_FLIGHT_STATES, type BulkChange, type DeviceFilter, type Execution } from '../core/index.js';
import type { DialectName } from './database.js';
import { deviceWhere } from './device-filter.sql.js';
import { toExecution } from './execution-row.js';
import { resolveGroupFilter } from './group-filter.sql.js';
import type { Database } from './schema.js';

const text = (value: string) => sql<string>`CAST(${value} AS TEXT)`;

export class DeviceBulkRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /** The devices of the run: `device_id IN (its selection)`. */
  private inRun(runId: string, column: string) {
    return sql<SqlBool>`${sql.ref(column)} IN (SELECT device_id FROM bulk_selections WHERE run_id = ${runId})`;
  }

  /** Freezes the devices `filter` matches now as the run's selection; answers how many. */
  async select(runId: string, filter: DeviceFilter): Promise<number> {
    const resolved = await resolveGroupFilter(this.db, filter);
    const result = await this.db
      .insertInto('bulk_selections')
      .columns(['run_id', 'device_id'])
      .expression((eb) => eb.selectFrom('devices').where(deviceWhere(resolved)).select([text(runId).as('run_id'), 'devices.id as device_id']))
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }

  /** The run's device ids, in id order. */
  async deviceIds(runId: string): Promise<string[]> {
    return (await this.db.selectFrom('bulk_selections').select('device_id').where('run_id', '=', runId).orderBy('device_id').execute()).map((r) => r.device_id);
  }

  /**
   * One event per device of the run, in one INSERT ... SELECT: each device's history shows the
   * change, with `data` naming the bulk action's own audit event.
   */
  async history(runId: string, event: { type: string; actor: string; data: Record<string, unknown> }, now: number): Promise<number> {
    const result = await this.db
      .insertInto('events')
      .columns(['ts', 'type', 'actor', 'rollout_id', 'device_id', 'execution_id', 'data'])
      .expression((eb) =>
        eb
          .selectFrom('bulk_selections')
          .where('run_id', '=', runId)
          .select([sql.lit(now).as('ts'), text(event.type).as('type'), text(event.actor).as('actor'), sql<null>`NULL`.as('rollout_id'), 'device_id', sql<null>`NULL`.as('execution_id'), text(JSON.stringify(event.data)).as('data')]),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }

  /** Applies a tag, untag, location or device type change to every device of the run. */
  async apply(runId: string, change: Exclude<BulkChange, { action: 'decommission' }>, now: number): Promise<void> {
    const selected = this.inRun(runId, 'id');
    if (change.action === 'set-location') {
      await this.db.updateTable('devices').set({ location: change.location, updated_at: now }).where(selected).execute();
      return;
    }
    if (change.action === 'set-device-type') {
      await this.db.updateTable('devices').set({ device_type: change.deviceType, updated_at: now }).where(selected).execute();
      return;
    }
    const keys = change.action === 'tag' ? Object.keys(change.tags) : change.keys;
    // The tags column (the device's map, as JSON) and the tag index change together.
    await this.db.updateTable('devices').set({ tags: this.tagsExpression(change), updated_at: now }).where(selected).execute();
    await this.db.deleteFrom('device_tags').where('key', 'in', keys).where(this.inRun(runId, 'device_id')).execute();
    if (change.action === 'tag') {
      for (const [key, value] of Object.entries(change.tags)) {
        await this.db
          .insertInto('device_tags')
          .columns(['device_id', 'key', 'value'])
          .expression((eb) => eb.selectFrom('bulk_selections').where('run_id', '=', runId).select(['device_id', text(key).as('key'), text(value).as('value')]))
          .execute();
      }
    }
  }

  /** The new tags JSON of a row, computed by the database: json_set/json_remove, or jsonb || and -. */
  private tagsExpression(change: { action: 'tag'; tags: Record<string, string> } | { action: 'untag'; keys: string[] }) {
    const path = (key: string) => `$."${key}"`;
    if (this.dialect === 'sqlite') {
      if (change.action === 'tag') return sql<string>`json_set(tags, ${sql.join(Object.entries(change.tags).map(([k, v]) => sql`${path(k)}, ${v}`))})`;
      return sql<string>`json_remove(tags, ${sql.join(change.keys.map(path))})`;
    }
    if (change.action === 'tag') return sql<string>`CAST(CAST(tags AS jsonb) || CAST(${JSON.stringify(change.tags)} AS jsonb) AS TEXT)`;
    return sql<string>`CAST(CAST(tags AS jsonb) ${sql.join(change.keys.map((k) => sql`- CAST(${k} AS TEXT)`), sql` `)} AS TEXT)`;
  }

  /**
   * Decommissions every device of the run: marks it, revokes its device tokens and Mender
   * authentication sets, and drops its push credentials (as DeviceRepository.decommission does
   * for one device). Answers the unfinished executions of those devices, for the caller to end.
   */
  async decommission(runId: string, now: number): Promise<Execution[]> {
    await this.db.updateTable('devices').set({ decommissioned_at: now, updated_at: now }).where(this.inRun(runId, 'id')).where('decommissioned_at', 'is', null).execute();
    await this.db.updateTable('tokens').set({ revoked_at: now }).where(this.inRun(runId, 'device_id')).where('revoked_at', 'is', null).execute();
    await this.db.updateTable('mender_auth_sets').set({ status: 'decommissioned', updated_at: now }).where(this.inRun(runId, 'device_id')).where('status', '!=', 'decommissioned').execute();
    await this.db.deleteFrom('device_secrets').where(this.inRun(runId, 'device_id')).execute();
    const rows = await this.db.selectFrom('executions').selectAll().where(this.inRun(runId, 'device_id')).where('state', 'in', ['pending', ...IN_FLIGHT_STATES]).execute();
    return rows.map(toExecution);
  }

  /** Forgets the run's selection (last statement of its unit of work). */
  async release(runId: string): Promise<void> {
    await this.db.deleteFrom('bulk_selections').where('run_id', '=', runId).execute();
  }
}
