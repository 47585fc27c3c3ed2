// Execution persistence: one row per (rollout, device). Every state change goes through the core
// transition table and is a guarded UPDATE (WHERE state = from), so a stale writer changes nothing.
// Batches are multi-row statements: the engine's hot path writes hundreds of rows per statement.
import { sql, type Kysely } from 'kysely';
import { assertTransition, isTerminal, type DeviceFilter, type Execution, type ExecutionState } from '../core/index.js';
import { claimExecutions } from './claim.sql.js';
import type { DialectName } from './database.js';
import { deviceWhere } from './device-filter.sql.js';
import { chunks } from './device.repository.js';
import type { ExecutionRow } from './rollout.schema.js';
import type { Database } from './schema.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toExecution(row: ExecutionRow): Execution {
  return {
    id: row.id,
    rolloutId: row.rollout_id,
    deviceId: row.device_id,
    artifactId: row.artifact_id,
    phase: row.phase,
    state: row.state as ExecutionState,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at > 0 ? iso(row.next_attempt_at) : null,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: iso(row.lease_expires_at),
    pull: row.pull === 1,
    bytes: Number(row.bytes),
    bytesFetched: row.bytes_fetched === null || row.bytes_fetched === undefined ? null : Number(row.bytes_fetched),
    bytesReused: row.bytes_reused === null || row.bytes_reused === undefined ? null : Number(row.bytes_reused),
    error: row.error,
    previousArtifactId: row.previous_artifact_id,
    previousVersion: row.previous_version,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

export interface NewExecution {
  id: string;
  rolloutId: string;
  deviceId: string;
  artifactId: string;
  phase: number;
  pull: boolean;
  timezone: string;
  previousArtifactId: string | null;
  previousVersion: string | null;
}

/** Which pending executions of one rollout to start now. */
export interface ClaimOptions {
  rolloutId: string;
  /** Only phases up to and including this one. */
  maxPhase: number;
  limit: number;
  now: number;
  /** Pull devices are released (-> queued); push devices are leased (-> delivering). */
  pull: boolean;
  /** Push only: who holds the lease and until when. */
  lease?: { owner: string; expiresAt: number };
  /** Only devices in these zones (maintenance windows open there), or null for any. */
  timezones?: string[] | null;
  /** Only devices the registry sees online (on-connect). */
  onlineOnly?: boolean;
  /** Only these devices. */
  deviceIds?: string[];
}

/** One state change of one execution. */
export interface TransitionItem {
  id: string;
  from: ExecutionState;
  to: ExecutionState;
  /** When set, only while this engine still holds the lease. */
  leaseOwner?: string;
  bytes?: number;
  bytesFetched?: number;
  bytesReused?: number;
  error?: string | null;
  /** For a retry (-> pending): when it may be attempted again. */
  nextAttemptAt?: number;
}

export interface MovedRow {
  id: string;
  rollout_id: string;
  device_id: string;
  pull: number;
  attempts: number;
}

/** A fresh execution id computed by the database, for executions written by INSERT ... SELECT. */
function newIdSql(dialect: DialectName) {
  return dialect === 'postgres' ? sql<string>`gen_random_uuid()::text` : sql<string>`lower(hex(randomblob(16)))`;
}

const ACTIVE: ExecutionState[] = ['queued', 'delivering', 'downloading', 'installing', 'verifying'];

export class ExecutionRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
    private readonly maxParams: number,
  ) {}

  /** Inserts executions (pending); a device already in the rollout is left alone. */
  async insertMany(items: NewExecution[], now: number, trx: Kysely<Database> = this.db): Promise<number> {
    let inserted = 0;
    for (const chunk of chunks(items, Math.floor(this.maxParams / 16))) {
      const result = await trx
        .insertInto('executions')
        .values(
          chunk.map((e) => ({
            id: e.id,
            rollout_id: e.rolloutId,
            device_id: e.deviceId,
            artifact_id: e.artifactId,
            phase: e.phase,
            state: 'pending',
            attempts: 0,
            next_attempt_at: 0,
            bytes: 0,
            pull: e.pull ? 1 : 0,
            timezone: e.timezone,
            previous_artifact_id: e.previousArtifactId,
            previous_version: e.previousVersion,
            created_at: now,
            updated_at: now,
          })),
        )
        .onConflict((oc) => oc.columns(['rollout_id', 'device_id']).doNothing())
        .executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return inserted;
  }

  /**
   * Inserts a pending phase-0 execution for every device the filter matches, in one statement
   * (single-phase rollouts need no shuffle), recording each device's version and last installed
   * artifact as what it ran before. Answers how many were inserted.
   */
  async insertForFilter(r: { rolloutId: string; artifactId: string }, filter: DeviceFilter, now: number, trx: Kysely<Database> = this.db): Promise<number> {
    const text = (value: string) => sql<string>`CAST(${value} AS TEXT)`;
    const result = await trx
      .insertInto('executions')
      .columns(['id', 'rollout_id', 'device_id', 'artifact_id', 'phase', 'state', 'attempts', 'next_attempt_at', 'bytes', 'pull', 'timezone', 'previous_artifact_id', 'previous_version', 'created_at', 'updated_at'])
      .expression((eb) =>
        eb
          .selectFrom('devices')
          .where(deviceWhere(filter))
          .select((s) => [
            newIdSql(this.dialect).as('id'),
            text(r.rolloutId).as('rollout_id'),
            'devices.id as device_id',
            text(r.artifactId).as('artifact_id'),
            sql.lit(0).as('phase'),
            sql.lit('pending').as('state'),
            sql.lit(0).as('attempts'),
            sql.lit(0).as('next_attempt_at'),
            sql.lit(0).as('bytes'),
            s.case().when('devices.mode', '=', 'pull').then(sql.lit(1)).else(sql.lit(0)).end().as('pull'),
            'devices.timezone as timezone',
            s
              .selectFrom('executions as prev')
              .select('prev.artifact_id')
              .whereRef('prev.device_id', '=', 'devices.id')
              .where('prev.state', '=', 'succeeded')
              .orderBy('prev.finished_at', 'desc')
              .limit(1)
              .as('previous_artifact_id'),
            'devices.version as previous_version',
            sql.lit(now).as('created_at'),
            sql.lit(now).as('updated_at'),
          ]),
      )
      .onConflict((oc) => oc.columns(['rollout_id', 'device_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }

  async get(id: string): Promise<Execution | null> {
    const row = await this.db.selectFrom('executions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toExecution(row) : null;
  }

  /**
   * Moves up to `limit` due pending executions to `delivering` with a lease (push) or to `queued`
   * (pull), in one statement; concurrent claimers on PostgreSQL skip each other's rows.
   */
  async claim(o: ClaimOptions, trx: Kysely<Database> = this.db): Promise<Execution[]> {
    const to: ExecutionState = o.pull ? 'queued' : 'delivering';
    assertTransition('pending', to);
    if (o.limit <= 0 || (o.timezones && o.timezones.length === 0) || (o.deviceIds && o.deviceIds.length === 0)) return [];
    let ids = trx
      .selectFrom('executions')
      .select('id')
      .where('rollout_id', '=', o.rolloutId)
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', o.now)
      .where('phase', '<=', o.maxPhase)
      .where('pull', '=', o.pull ? 1 : 0);
    if (o.timezones) ids = ids.where('timezone', 'in', o.timezones);
    if (o.deviceIds) ids = ids.where('device_id', 'in', o.deviceIds);
    if (o.onlineOnly) ids = ids.where('device_id', 'in', (eb) => eb.selectFrom('devices').select('devices.id').where('devices.status', '=', 'online'));
    const rows = await claimExecutions(trx, this.dialect, ids.orderBy('phase').limit(o.limit), 'pending', {
      state: to,
      attempts: o.pull ? sql<number>`attempts` : sql<number>`attempts + 1`,
      lease_owner: o.lease?.owner ?? null,
      lease_expires_at: o.lease?.expiresAt ?? null,
      started_at: o.now,
      updated_at: o.now,
    });
    return rows.map(toExecution);
  }

  /** Applies state changes in as few statements as possible; answers the ids that changed. */
  async transition(items: TransitionItem[], now: number, trx: Kysely<Database> = this.db): Promise<Set<string>> {
    const groups = new Map<string, { item: TransitionItem; ids: string[] }>();
    for (const item of items) {
      assertTransition(item.from, item.to);
      const key = JSON.stringify([item.from, item.to, item.leaseOwner, item.bytes, item.bytesFetched, item.bytesReused, item.error, item.nextAttemptAt]);
      const group = groups.get(key);
      if (group) group.ids.push(item.id);
      else groups.set(key, { item, ids: [item.id] });
    }
    const changed = new Set<string>();
    for (const { item, ids } of groups.values()) {
      const keepLease = ACTIVE.includes(item.to) && item.to !== 'queued';
      const set: Partial<ExecutionRow> = { state: item.to, updated_at: now };
      if (!keepLease) Object.assign(set, { lease_owner: null, lease_expires_at: null });
      if (isTerminal(item.to)) set.finished_at = now;
      if (item.bytes !== undefined) set.bytes = item.bytes;
      if (item.bytesFetched !== undefined) set.bytes_fetched = item.bytesFetched;
      if (item.bytesReused !== undefined) set.bytes_reused = item.bytesReused;
      if (item.error !== undefined) set.error = item.error;
      if (item.nextAttemptAt !== undefined) set.next_attempt_at = item.nextAttemptAt;
      for (const chunk of chunks(ids, this.maxParams - 10)) {
        let q = trx.updateTable('executions').set(set).where('id', 'in', chunk).where('state', '=', item.from);
        if (item.leaseOwner !== undefined) q = q.where('lease_owner', '=', item.leaseOwner);
        for (const row of await q.returning('id').execute()) changed.add(row.id);
      }
    }
    return changed;
  }

  /** Moves every execution of a rollout in state `from` (optionally only pull ones) to `to`. */
  async moveAll(rolloutId: string, from: ExecutionState, to: ExecutionState, now: number, trx: Kysely<Database> = this.db, options: { pullOnly?: boolean; leaseExpiredBefore?: number } = {}): Promise<MovedRow[]> {
    assertTransition(from, to);
    let q = trx
      .updateTable('executions')
      .set({ state: to, updated_at: now, lease_owner: null, lease_expires_at: null, ...(isTerminal(to) ? { finished_at: now } : {}) })
      .where('rollout_id', '=', rolloutId)
      .where('state', '=', from);
    if (options.pullOnly) q = q.where('pull', '=', 1);
    const before = options.leaseExpiredBefore;
    if (before !== undefined) q = q.where((eb) => eb.or([eb('pull', '=', 1), eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', before)]));
    return q.returning(['id', 'rollout_id', 'device_id', 'pull', 'attempts']).execute();
  }

  /** Push executions whose lease expired (their engine died): back to pending, due now. */
  async reapExpired(now: number, limit: number, trx: Kysely<Database> = this.db): Promise<MovedRow[]> {
    assertTransition('delivering', 'pending');
    const ids = trx.selectFrom('executions').select('id').where('lease_owner', 'is not', null).where('lease_expires_at', '<', now).where('state', '=', 'delivering').limit(limit);
    const rows = await claimExecutions(trx, this.dialect, ids, 'delivering', {
      state: 'pending',
      lease_owner: null,
      lease_expires_at: null,
      next_attempt_at: now,
      updated_at: now,
      error: 'lease expired: the engine delivering it stopped',
    });
    return rows.map((r) => ({ id: r.id, rollout_id: r.rollout_id, device_id: r.device_id, pull: r.pull, attempts: r.attempts }));
  }

  /** Extends the leases this engine holds (long deliveries). */
  async renewLeases(ids: string[], owner: string, expiresAt: number): Promise<void> {
    for (const chunk of chunks(ids, this.maxParams - 10)) {
      await this.db.updateTable('executions').set({ lease_expires_at: expiresAt }).where('id', 'in', chunk).where('lease_owner', '=', owner).execute();
    }
  }

  /** Executions per (phase, state) of one rollout. */
  async countsByPhase(rolloutId: string): Promise<{ phase: number; state: ExecutionState; n: number }[]> {
    const rows = await this.db
      .selectFrom('executions')
      .select(['phase', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('rollout_id', '=', rolloutId)
      .groupBy(['phase', 'state'])
      .execute();
    return rows.map((r) => ({ phase: r.phase, state: r.state as ExecutionState, n: Number(r.n) }));
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

  /** Time zones of a rollout's pending executions (to evaluate maintenance windows per zone). */
  async pendingTimezones(rolloutId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('executions').select('timezone').distinct().where('rollout_id', '=', rolloutId).where('state', '=', 'pending').execute();
    return rows.map((r) => r.timezone);
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
  async targets(filter: DeviceFilter): Promise<{ id: string; pull: boolean; timezone: string; version: string | null }[]> {
    const out: { id: string; pull: boolean; timezone: string; version: string | null }[] = [];
    let after: string | null = null;
    for (;;) {
      let q = this.db.selectFrom('devices').select(['devices.id', 'devices.mode', 'devices.timezone', 'devices.version']).where(deviceWhere(filter));
      if (after !== null) q = q.where('devices.id', '>', after);
      const rows = await q.orderBy('devices.id').limit(10_000).execute();
      for (const r of rows) out.push({ id: r.id, pull: r.mode === 'pull', timezone: r.timezone, version: r.version });
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

  /** Bytes delivered, fetched and reused, and executions finished since `since`, for progress rates. */
  async stats(rolloutId: string, since: number): Promise<{ bytes: number; bytesFetched: number; bytesReused: number; finishedSince: number }> {
    const row = await this.db
      .selectFrom('executions')
      .select((eb) => [
        eb.fn.sum<number>('bytes').as('bytes'),
        eb.fn.sum<number>('bytes_fetched').as('fetched'),
        eb.fn.sum<number>('bytes_reused').as('reused'),
        eb.fn.sum<number>(eb.case().when('finished_at', '>=', since).then(1).else(0).end()).as('recent'),
      ])
      .where('rollout_id', '=', rolloutId)
      .executeTakeFirstOrThrow();
    return { bytes: Number(row.bytes ?? 0), bytesFetched: Number(row.fetched ?? 0), bytesReused: Number(row.reused ?? 0), finishedSince: Number(row.recent ?? 0) };
  }

  /** The released, unfinished pull execution a device should work on (newest first). */
  async currentForDevice(deviceId: string): Promise<Execution | null> {
    const row = await this.db
      .selectFrom('executions')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('state', 'in', ['queued', 'downloading', 'installing', 'verifying'])
      .where('pull', '=', 1)
      .orderBy('created_at', 'desc')
      // A literal: with a bound LIMIT SQLite sorts for an unknown count (21 us per poll, 2 us so).
      .limit(sql.lit(1))
      .executeTakeFirst();
    return row ? toExecution(row) : null;
  }

  /** The artifact each device last installed through any rollout (for rollback). */
  async lastSucceeded(deviceIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, { artifact: string; at: number }>();
    for (const chunk of chunks(deviceIds, this.maxParams - 10)) {
      const rows = await this.db.selectFrom('executions').select(['device_id', 'artifact_id', 'finished_at']).where('device_id', 'in', chunk).where('state', '=', 'succeeded').execute();
      for (const r of rows) {
        const at = Number(r.finished_at ?? 0);
        const seen = out.get(r.device_id);
        if (!seen || seen.at < at) out.set(r.device_id, { artifact: r.artifact_id, at });
      }
    }
    return new Map([...out].map(([k, v]) => [k, v.artifact]));
  }
}
