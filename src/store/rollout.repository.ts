// Rollout persistence: create, read with counts, list, and guarded status changes
// (compare-and-set on the status, so two servers never both pause or finish a rollout).
import type { Kysely } from 'kysely';
import type { ExecutionState, Rollout, RolloutStatus, TimeKey } from '../core/index.js';
import { FINISHED_ROLLOUT_STATUSES } from '../core/index.js';
import { olderThan } from './keyset.sql.js';
import type { RolloutRow } from './rollout.schema.js';
import type { Database } from './schema.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const ms = (value: string | null) => (value === null ? null : Date.parse(value));

export function toRollout(row: RolloutRow, counts: Partial<Record<ExecutionState, number>> = {}): Rollout {
  return {
    id: row.id,
    name: row.name,
    artifactId: row.artifact_id,
    releaseId: row.release_id ?? null,
    filter: JSON.parse(row.filter) as Rollout['filter'],
    strategy: row.strategy as Rollout['strategy'],
    phases: JSON.parse(row.phases) as Rollout['phases'],
    errorThreshold: row.error_threshold ? (JSON.parse(row.error_threshold) as Rollout['errorThreshold']) : null,
    window: row.maint_window ? (JSON.parse(row.maint_window) as Rollout['window']) : null,
    startAt: iso(row.start_at),
    maxConcurrency: row.max_concurrency,
    retry: JSON.parse(row.retry) as Rollout['retry'],
    rateLimit: row.rate_limit ? (JSON.parse(row.rate_limit) as Rollout['rateLimit']) : null,
    continuous: row.continuous === 1,
    downloadAhead: row.download_ahead === 1,
    maxBandwidth: row.max_bandwidth === null ? null : Number(row.max_bandwidth),
    maxDeviceBandwidth: row.max_device_bandwidth === null ? null : Number(row.max_device_bandwidth),
    closed: row.closed === 1,
    status: row.status as RolloutStatus,
    statusReason: row.status_reason,
    currentPhase: row.current_phase,
    approvedPhase: row.approved_phase,
    phaseReachedAt: iso(row.phase_reached_at),
    failureBaseline: row.failure_baseline,
    acceptedPhase: row.accepted_phase,
    pauseCause: (row.pause_cause ?? null) as Rollout['pauseCause'],
    revert: row.revert === 1,
    rollbackOf: row.rollback_of,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    counts,
  };
}

export function toRolloutRow(r: Rollout): RolloutRow {
  return {
    id: r.id,
    name: r.name,
    artifact_id: r.artifactId,
    release_id: r.releaseId,
    filter: JSON.stringify(r.filter),
    strategy: r.strategy,
    phases: JSON.stringify(r.phases),
    error_threshold: r.errorThreshold ? JSON.stringify(r.errorThreshold) : null,
    maint_window: r.window ? JSON.stringify(r.window) : null,
    start_at: ms(r.startAt),
    max_concurrency: r.maxConcurrency,
    retry: JSON.stringify(r.retry),
    rate_limit: r.rateLimit ? JSON.stringify(r.rateLimit) : null,
    continuous: r.continuous ? 1 : 0,
    download_ahead: r.downloadAhead ? 1 : 0,
    max_bandwidth: r.maxBandwidth,
    max_device_bandwidth: r.maxDeviceBandwidth,
    closed: r.closed ? 1 : 0,
    status: r.status,
    status_reason: r.statusReason,
    current_phase: r.currentPhase,
    approved_phase: r.approvedPhase,
    phase_reached_at: ms(r.phaseReachedAt),
    failure_baseline: r.failureBaseline,
    accepted_phase: r.acceptedPhase,
    pause_cause: r.pauseCause,
    revert: r.revert ? 1 : 0,
    rollback_of: r.rollbackOf,
    created_by: r.createdBy,
    created_at: ms(r.createdAt)!,
    updated_at: ms(r.updatedAt)!,
    started_at: ms(r.startedAt),
    finished_at: ms(r.finishedAt),
  };
}

/** Fields a status change or progress step may set; times are epoch ms (null clears them). */
export interface RolloutPatch {
  status?: RolloutStatus;
  statusReason?: string | null;
  currentPhase?: number;
  approvedPhase?: number;
  acceptedPhase?: number;
  pauseCause?: Rollout['pauseCause'];
  phaseReachedAt?: number | null;
  failureBaseline?: number;
  closed?: boolean;
  startedAt?: number | null;
  finishedAt?: number | null;
}

/** The columns a patch sets (fields left out stay as they are). */
function patchColumns(patch: RolloutPatch): Partial<RolloutRow> {
  const row: Partial<RolloutRow> = {};
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.statusReason !== undefined) row.status_reason = patch.statusReason;
  if (patch.currentPhase !== undefined) row.current_phase = patch.currentPhase;
  if (patch.approvedPhase !== undefined) row.approved_phase = patch.approvedPhase;
  if (patch.acceptedPhase !== undefined) row.accepted_phase = patch.acceptedPhase;
  if (patch.pauseCause !== undefined) row.pause_cause = patch.pauseCause;
  if (patch.phaseReachedAt !== undefined) row.phase_reached_at = patch.phaseReachedAt;
  if (patch.failureBaseline !== undefined) row.failure_baseline = patch.failureBaseline;
  if (patch.closed !== undefined) row.closed = patch.closed ? 1 : 0;
  if (patch.startedAt !== undefined) row.started_at = patch.startedAt;
  if (patch.finishedAt !== undefined) row.finished_at = patch.finishedAt;
  return row;
}

/** Rollout ids per count statement (one parameter each). */
const COUNTS_CHUNK = 10_000;

export class RolloutRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(rollout: Rollout): Promise<void> {
    await this.db.insertInto('rollouts').values(toRolloutRow(rollout)).execute();
  }

  async get(id: string): Promise<Rollout | null> {
    const row = await this.db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRollout(row, await this.countsByState(id)) : null;
  }

  /** The rollout without its counts (cheap; for hot paths). */
  async find(id: string): Promise<Rollout | null> {
    const row = await this.db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRollout(row) : null;
  }

  /**
   * Newest first, keyset-paged by (created_at, id), each with its counts per state from one
   * grouped query for the whole page. `counts: false` leaves them out (for callers that summarise
   * the page themselves, executionViews.summaryRowsOf).
   */
  async list(options: { status?: RolloutStatus[]; limit: number; before?: TimeKey | null; counts?: boolean }): Promise<Rollout[]> {
    let q = this.db.selectFrom('rollouts').selectAll();
    if (options.status?.length) q = q.where('status', 'in', options.status);
    const before = options.before;
    if (before) q = q.where(olderThan('created_at', 'id', before));
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    if (options.counts === false) return rows.map((row) => toRollout(row));
    const counts = await this.countsOf(rows.map((row) => row.id));
    return rows.map((row) => toRollout(row, counts.get(row.id)));
  }

  /** Rollouts the engine works on: scheduled, running or paused (no counts). */
  async listLive(): Promise<Rollout[]> {
    const rows = await this.db.selectFrom('rollouts').selectAll().where('status', 'in', ['scheduled', 'running', 'paused']).orderBy('created_at').execute();
    return rows.map((row) => toRollout(row));
  }

  async count(status?: RolloutStatus[]): Promise<number> {
    let q = this.db.selectFrom('rollouts').select((eb) => eb.fn.countAll<number>().as('n'));
    if (status?.length) q = q.where('status', 'in', status);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /**
   * Sets fields when the rollout is in one of `from` (compare-and-set); answers whether it did.
   * Status changes race between operators and engines on several servers: exactly one wins.
   */
  async update(id: string, from: RolloutStatus[], patch: RolloutPatch, now: number): Promise<boolean> {
    let q = this.db
      .updateTable('rollouts')
      .set({ ...patchColumns(patch), updated_at: now })
      .where('id', '=', id)
      .where('status', 'in', from);
    // Phases only move forward: a phase step computed from a stale read (a jobs-lock holder that
    // stalled past its lock while another server took over) changes nothing instead of repeating
    // the step or moving the rollout back.
    if (patch.currentPhase !== undefined) q = q.where('current_phase', '<', patch.currentPhase);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async countsByState(id: string): Promise<Partial<Record<ExecutionState, number>>> {
    return (await this.countsOf([id])).get(id) ?? {};
  }

  /** Executions per state of each rollout, in one grouped query; every id asked has an entry. */
  async countsOf(ids: readonly string[]): Promise<Map<string, Partial<Record<ExecutionState, number>>>> {
    const out = new Map<string, Partial<Record<ExecutionState, number>>>(ids.map((id) => [id, {}]));
    for (let at = 0; at < ids.length; at += COUNTS_CHUNK) {
      const rows = await this.db
        .selectFrom('executions')
        .select(['rollout_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
        .where('rollout_id', 'in', ids.slice(at, at + COUNTS_CHUNK))
        .groupBy(['rollout_id', 'state'])
        .execute();
      for (const r of rows) {
        const counts = out.get(r.rollout_id);
        if (counts) counts[r.state as ExecutionState] = Number(r.n);
      }
    }
    return out;
  }

  /** True while a rollout that is not finished delivers this artifact (artifact deletes are refused then). */
  /** Whether a rollout that has not finished rolls out this release. */
  async isReleaseInUse(releaseId: string): Promise<boolean> {
    const live = await this.db
      .selectFrom('rollouts')
      .select('id')
      .where('release_id', '=', releaseId)
      .where('status', 'not in', [...FINISHED_ROLLOUT_STATUSES])
      .limit(1)
      .executeTakeFirst();
    return !!live;
  }

  async isArtifactInUse(artifactId: string): Promise<boolean> {
    const live = await this.db
      .selectFrom('rollouts')
      .select('id')
      .where('artifact_id', '=', artifactId)
      .where('status', 'not in', [...FINISHED_ROLLOUT_STATUSES])
      .limit(1)
      .executeTakeFirst();
    return !!live;
  }
}
