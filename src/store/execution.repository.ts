// Execution persistence: one row per (rollout, device). Every state change goes through the core
// transition table and is a guarded UPDATE (WHERE state = from), so a stale writer changes nothing.
// Batches are multi-row statements: the engine's hot path writes hundreds of rows per statement.
import { sql, type Kysely } from 'kysely';
import { assertTransition, IN_FLIGHT_STATES, isTerminal, releaseProtocolOf, type DeviceFilter, type DeviceMode, type Execution, type ExecutionComponent, type ExecutionState, type ReleaseProtocol } from '../core/index.js';
import { claimExecutions, rolloutStillRunning } from './claim.sql.js';
import type { DialectName } from './database.js';
import { deviceWhere } from './device-filter.sql.js';
import { resolveGroupFilter } from './group-filter.sql.js';
import { chunks } from './device.repository.js';
import { countedGroups } from './execution-count.repository.js';
import { insertExecutions, insertExecutionsForFilter } from './execution-insert.sql.js';
import { lastInstalled, requeueFailures } from './execution-outcome.sql.js';
import { toExecution, toMovedExecution, type ClaimedExecution, type ClaimOptions, type MovedExecution, type NewExecution, type RequeuedRow, type TransitionItem } from './execution-row.js';
import type { ExecutionRow } from './rollout.schema.js';
import type { Database } from './schema.js';

export * from './execution-row.js';

/** What a rollout needs of a targeted device: delivery mode, zone, version, and what releases match on. */
export interface RolloutTarget {
  id: string;
  pull: boolean;
  timezone: string;
  version: string | null;
  protocol: ReleaseProtocol;
  deviceType: string | null;
}

/** Changes with the same key are written by one statement (what they set is the same). */
function groupKey(i: TransitionItem): string {
  // Numbers and states print unambiguously; texts (lease owner, error) are quoted by JSON.
  const text = (v: string | null | undefined) => (v === undefined ? 'u' : JSON.stringify(v));
  return `${i.from} ${i.to} ${text(i.leaseOwner)} ${i.bytes} ${i.bytesFetched} ${i.bytesReused} ${i.nextAttemptAt} ${text(i.error)}`;
}

const CLAIMED_COLUMNS = ['id', 'device_id', 'artifact_id', 'phase', 'attempts'] as const;

export class ExecutionRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
    private readonly maxParams: number,
  ) {}

  /** Inserts executions (pending); a device already in the rollout is left alone. */
  insertMany(items: NewExecution[], now: number): Promise<number> {
    return insertExecutions(this.db, this.maxParams, items, now);
  }

  /**
   * Inserts a pending phase-0 execution for every device the filter matches, with INSERT ... SELECT
   * in slices of `batch` devices yielding between them (single-phase rollouts need no shuffle),
   * recording each device's version and last installed artifact as what it ran before. Answers
   * how many were inserted.
   */
  async insertForFilter(r: { rolloutId: string; artifactId: string }, filter: DeviceFilter, now: number, batch?: number): Promise<number> {
    return insertExecutionsForFilter(this.db, this.dialect, r, await resolveGroupFilter(this.db, filter), now, batch);
  }

  async get(id: string): Promise<Execution | null> {
    const row = await this.db.selectFrom('executions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toExecution(row) : null;
  }

  /** The executions with these ids that exist, by id (a device's batched reports read theirs in one statement). */
  async getMany(ids: readonly string[]): Promise<Map<string, Execution>> {
    const found = new Map<string, Execution>();
    for (const chunk of chunks([...new Set(ids)], this.maxParams - 10)) {
      for (const row of await this.db.selectFrom('executions').selectAll().where('id', 'in', chunk).execute()) found.set(row.id, toExecution(row));
    }
    return found;
  }

  /**
   * Moves up to `limit` due pending executions to `delivering` with a lease (push) or to `queued`
   * (pull), in one statement; concurrent claimers on PostgreSQL skip each other's rows.
   */
  async claim(o: ClaimOptions): Promise<ClaimedExecution[]> {
    const to: ExecutionState = o.pull ? 'queued' : 'delivering';
    assertTransition('pending', to);
    if (o.limit <= 0 || (o.timezones && o.timezones.length === 0) || (o.deviceIds && o.deviceIds.length === 0)) return [];
    let ids = this.db
      .selectFrom('executions')
      .select('id')
      .where('rollout_id', '=', o.rolloutId)
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', o.now)
      .where('phase', '<=', o.maxPhase)
      .where('pull', '=', o.pull ? 1 : 0)
      // Checked in the same statement: an engine that read the rollout as running a moment
      // before an operator paused it must not start its work afterwards.
      .where((eb) => eb.exists(rolloutStillRunning(this.db, this.dialect, o.rolloutId)));
    if (o.timezones) ids = ids.where('timezone', 'in', o.timezones);
    if (o.deviceIds) ids = ids.where('device_id', 'in', o.deviceIds);
    if (o.onlineOnly) ids = ids.where('device_id', 'in', (eb) => eb.selectFrom('devices').select('devices.id').where('devices.status', '=', 'online'));
    const lease = { owner: o.lease?.owner ?? null, expiresAt: o.lease?.expiresAt ?? null };
    const set = { state: to, attempts: o.pull ? sql<number>`attempts` : sql<number>`attempts + 1`, lease_owner: lease.owner, lease_expires_at: lease.expiresAt, started_at: o.now, updated_at: o.now };
    const rows = await claimExecutions(this.db, this.dialect, ids.orderBy('phase').limit(o.limit), 'pending', set, CLAIMED_COLUMNS);
    // What the claim set is known here; only what differs per row is read back.
    const known = { rolloutId: o.rolloutId, state: to, pull: o.pull, leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt === null ? null : new Date(lease.expiresAt).toISOString(), startedAt: new Date(o.now).toISOString() };
    const { rolloutId, state, pull, leaseOwner, leaseExpiresAt, startedAt } = known;
    return rows.map((r) => ({ id: r.id, rolloutId, deviceId: r.device_id, artifactId: r.artifact_id, phase: r.phase, pull, state, attempts: r.attempts, leaseOwner, leaseExpiresAt, startedAt }));
  }

  /** Applies state changes in as few statements as possible; answers the ids that changed. */
  async transition(items: TransitionItem[], now: number): Promise<Set<string>> {
    const groups = new Map<string, { item: TransitionItem; ids: string[] }>();
    for (const item of items) {
      assertTransition(item.from, item.to);
      const key = groupKey(item);
      const group = groups.get(key);
      if (group) group.ids.push(item.id);
      else groups.set(key, { item, ids: [item.id] });
    }
    const changed = new Set<string>();
    for (const { item, ids } of groups.values()) {
      const keepLease = IN_FLIGHT_STATES.includes(item.to) && item.to !== 'queued';
      const set: Partial<ExecutionRow> = { state: item.to, updated_at: now };
      if (!keepLease) Object.assign(set, { lease_owner: null, lease_expires_at: null });
      if (isTerminal(item.to)) set.finished_at = now;
      if (item.bytes !== undefined) set.bytes = item.bytes;
      if (item.bytesFetched !== undefined) set.bytes_fetched = item.bytesFetched;
      if (item.bytesReused !== undefined) set.bytes_reused = item.bytesReused;
      if (item.error !== undefined) set.error = item.error;
      if (item.nextAttemptAt !== undefined) set.next_attempt_at = item.nextAttemptAt;
      for (const chunk of chunks(ids, this.maxParams - 10)) {
        let q = this.db.updateTable('executions').set(set).where('id', 'in', chunk).where('state', '=', item.from);
        if (item.leaseOwner !== undefined) q = q.where('lease_owner', '=', item.leaseOwner);
        for (const row of await q.returning('id').execute()) changed.add(row.id);
      }
    }
    return changed;
  }

  /** Moves every execution of a rollout in state `from` (optionally only pull ones) to `to`. */
  async moveAll(rolloutId: string, from: ExecutionState, to: ExecutionState, now: number, options: { pullOnly?: boolean; leaseExpiredBefore?: number } = {}): Promise<MovedExecution[]> {
    assertTransition(from, to);
    let q = this.db
      .updateTable('executions')
      .set({ state: to, updated_at: now, lease_owner: null, lease_expires_at: null, ...(isTerminal(to) ? { finished_at: now } : {}) })
      .where('rollout_id', '=', rolloutId)
      .where('state', '=', from);
    if (options.pullOnly) q = q.where('pull', '=', 1);
    const before = options.leaseExpiredBefore;
    if (before !== undefined) q = q.where((eb) => eb.or([eb('pull', '=', 1), eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', before)]));
    return (await q.returning(['id', 'rollout_id', 'device_id', 'pull', 'attempts']).execute()).map(toMovedExecution);
  }

  /** Push executions whose lease expired (their engine died): back to pending, due now. */
  async reapExpired(now: number, limit: number): Promise<MovedExecution[]> {
    assertTransition('delivering', 'pending');
    const ids = this.db.selectFrom('executions').select('id').where('lease_owner', 'is not', null).where('lease_expires_at', '<', now).where('state', '=', 'delivering').limit(limit);
    const rows = await claimExecutions(
      this.db,
      this.dialect,
      ids,
      'delivering',
      { state: 'pending', lease_owner: null, lease_expires_at: null, next_attempt_at: now, updated_at: now, error: 'lease expired: the engine delivering it stopped' },
      ['id', 'rollout_id', 'device_id', 'pull', 'attempts'],
    );
    return rows.map(toMovedExecution);
  }

  /** Extends the leases this engine holds (long deliveries). */
  async renewLeases(ids: string[], owner: string, expiresAt: number): Promise<void> {
    for (const chunk of chunks(ids, this.maxParams - 10)) {
      await this.db.updateTable('executions').set({ lease_expires_at: expiresAt }).where('id', 'in', chunk).where('lease_owner', '=', owner).execute();
    }
  }

  /**
   * Executions per (phase, state) of one rollout, from the counts the database keeps (migration
   * 0018): a few rows whatever the rollout's size.
   */
  async countsByPhase(rolloutId: string): Promise<{ phase: number; state: ExecutionState; n: number }[]> {
    return (await countedGroups(this.db, [rolloutId])).map((g) => ({ phase: g.phase, state: g.state as ExecutionState, n: g.n }));
  }

  async startedSince(rolloutId: string, since: number): Promise<number> {
    const row = await this.db
      .selectFrom('executions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('rollout_id', '=', rolloutId)
      .where('started_at', '>=', since)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Time zones of a rollout's pending executions (to evaluate maintenance windows per zone), optionally only up to a phase. */
  async pendingTimezones(rolloutId: string, maxPhase?: number, states: ExecutionState[] = ['pending']): Promise<string[]> {
    let q = this.db.selectFrom('executions').select('timezone').distinct().where('rollout_id', '=', rolloutId).where('state', 'in', states);
    if (maxPhase !== undefined) q = q.where('phase', '<=', maxPhase);
    return (await q.execute()).map((r) => r.timezone);
  }

  /** Devices of a rollout's pull executions in these states, optionally only those in one time zone. */
  async pullDevicesIn(rolloutId: string, states: ExecutionState[], timezone?: string): Promise<string[]> {
    let q = this.db.selectFrom('executions').select('device_id').where('rollout_id', '=', rolloutId).where('state', 'in', states).where('pull', '=', 1);
    if (timezone !== undefined) q = q.where('timezone', '=', timezone);
    return (await q.execute()).map((r) => r.device_id);
  }

  /** A rollout's executions, keyset-paged by device id. */
  async list(rolloutId: string, o: { state?: ExecutionState[]; phase?: number; limit: number; after?: string | null }): Promise<Execution[]> {
    let q = this.db.selectFrom('executions').selectAll().where('rollout_id', '=', rolloutId);
    if (o.state?.length) q = q.where('state', 'in', o.state);
    if (o.phase !== undefined) q = q.where('phase', '=', o.phase);
    if (o.after) q = q.where('device_id', '>', o.after);
    return (await q.orderBy('device_id').limit(o.limit).execute()).map(toExecution);
  }

  /** What a rollout needs of the devices a filter matches now (id order, without parsing tags or metadata). */
  async targets(filter: DeviceFilter): Promise<RolloutTarget[]> {
    filter = await resolveGroupFilter(this.db, filter);
    const out: RolloutTarget[] = [];
    let after: string | null = null;
    for (;;) {
      let q = this.db.selectFrom('devices').select(['devices.id', 'devices.mode', 'devices.timezone', 'devices.version', 'devices.protocol', 'devices.device_type']).where(deviceWhere(filter));
      if (after !== null) q = q.where('devices.id', '>', after);
      const rows = await q.orderBy('devices.id').limit(10_000).execute();
      for (const r of rows) out.push({ id: r.id, pull: r.mode === 'pull', timezone: r.timezone, version: r.version, protocol: releaseProtocolOf({ mode: r.mode as DeviceMode, protocol: r.protocol }), deviceType: r.device_type });
      if (rows.length < 10_000) return out;
      after = rows.at(-1)!.id;
    }
  }

  /** Which of these devices already have an execution in the rollout. */
  async deviceIdsIn(rolloutId: string, deviceIds: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const chunk of chunks(deviceIds, this.maxParams - 10)) {
      const rows = await this.db.selectFrom('executions').select('device_id').where('rollout_id', '=', rolloutId).where('device_id', 'in', chunk).execute();
      out.push(...rows.map((r) => r.device_id));
    }
    return out;
  }

  /** The execution of one device in one rollout, or null. */
  async inRollout(rolloutId: string, deviceId: string): Promise<Execution | null> {
    const row = await this.db.selectFrom('executions').selectAll().where('rollout_id', '=', rolloutId).where('device_id', '=', deviceId).executeTakeFirst();
    return row ? toExecution(row) : null;
  }

  /** Every execution of a device that has not finished, whatever its rollout (decommissioning ends them). */
  async unfinishedForDevice(deviceId: string): Promise<Execution[]> {
    const rows = await this.db.selectFrom('executions').selectAll().where('device_id', '=', deviceId).where('state', 'in', ['pending', ...IN_FLIGHT_STATES]).execute();
    return rows.map(toExecution);
  }

  /** The released, unfinished pull execution a device should work on (newest first). */
  async currentForDevice(deviceId: string): Promise<Execution | null> {
    const row = await this.db
      .selectFrom('executions')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('state', 'in', ['queued', 'downloading', 'downloaded', 'installing', 'verifying'])
      .where('pull', '=', 1)
      .orderBy('created_at', 'desc')
      // A literal: with a bound LIMIT SQLite sorts for an unknown count (21 us per poll, 2 us so).
      .limit(sql.lit(1))
      .executeTakeFirst();
    return row ? toExecution(row) : null;
  }

  /**
   * The device's pull execution of this artifact that is in flight (downloading, installing,
   * verifying), whatever its rollout's status: a pause lets it finish, so its download is served.
   */
  async inFlightFor(deviceId: string, artifactId: string): Promise<Execution | null> {
    const row = await this.db
      .selectFrom('executions')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('artifact_id', '=', artifactId)
      .where('state', 'in', ['downloading', 'downloaded', 'installing', 'verifying'])
      .where('pull', '=', 1)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toExecution(row) : null;
  }

  /**
   * The components an execution of `rolloutId` delivers to `deviceId`, in install order, when a
   * release gives it several; empty for an execution of one artifact (its artifactId is all).
   */
  async componentsOf(rolloutId: string, deviceId: string): Promise<ExecutionComponent[]> {
    const rows = await this.db.selectFrom('execution_components').select(['component', 'artifact_id']).where('rollout_id', '=', rolloutId).where('device_id', '=', deviceId).orderBy('position').execute();
    return rows.map((r) => ({ component: r.component, artifactId: r.artifact_id }));
  }

  /** The devices of a rollout whose execution delivers several components. */
  async devicesWithComponents(rolloutId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('execution_components').select('device_id').distinct().where('rollout_id', '=', rolloutId).execute();
    return new Set(rows.map((r) => r.device_id));
  }

  /**
   * The device's pull execution in flight (downloading to verifying) that delivers this artifact as
   * one of several components, whatever its rollout's status (see inFlightFor).
   */
  async inFlightWithComponent(deviceId: string, artifactId: string): Promise<Execution | null> {
    const row = await this.db
      .selectFrom('executions')
      .innerJoin('execution_components as c', (j) => j.onRef('c.rollout_id', '=', 'executions.rollout_id').onRef('c.device_id', '=', 'executions.device_id'))
      .selectAll('executions')
      .where('executions.device_id', '=', deviceId)
      .where('c.artifact_id', '=', artifactId)
      .where('executions.state', 'in', ['queued', 'downloading', 'downloaded', 'installing', 'verifying'])
      .where('executions.pull', '=', 1)
      .orderBy('executions.created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toExecution(row) : null;
  }

  /** Records the bytes a device reports while it stays in `state` (progress; the state's time does not move). */
  async recordBytes(id: string, state: ExecutionState, bytes: number): Promise<void> {
    await this.db.updateTable('executions').set({ bytes }).where('id', '=', id).where('state', '=', state).where('bytes', '<', bytes).execute();
  }

  /**
   * Marks a cancelled execution as installed anyway (the device reported success after the cancel),
   * with a note; the state stays `cancelled`. Answers whether it was newly marked.
   */
  async noteInstalledAfterCancel(id: string, note: string): Promise<boolean> {
    const rows = await this.db.updateTable('executions').set({ installed_after_cancel: 1, note }).where('id', '=', id).where('state', '=', 'cancelled').where('installed_after_cancel', '=', 0).returning('id').execute();
    return rows.length > 0;
  }

  /**
   * An operator's retry: re-opens the failed and rolled-back executions of a rollout (or of one
   * device in it) as `pending`, due now, with fresh attempts and a new id each (a new deployment
   * for the device). Answers the re-opened rows with their previous id and state.
   */
  requeue(rolloutId: string, deviceId: string | null, now: number): Promise<RequeuedRow[]> {
    return requeueFailures(this.db, this.maxParams, rolloutId, deviceId, now);
  }

  /**
   * The artifact each device last installed through any rollout (for rollback): its latest
   * success, or a cancel it installed anyway. After a revert (switched back to a release this
   * server never had) the device runs no artifact of ours, so it has none.
   */
  lastSucceeded(deviceIds: string[]): Promise<Map<string, string>> {
    return lastInstalled(this.db, this.maxParams, deviceIds);
  }
}
