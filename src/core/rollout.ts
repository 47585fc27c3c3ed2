// Rollouts: what an operator asks for (RolloutSpec, validated here) and what the store keeps
// (Rollout). Window math lives in window.ts, phase sizes and due work in planner.ts.
import type { DeviceFilter, DeviceFilterInput } from './device-filter.js';
import { parseDeviceFilter } from './device-filter.js';
import { ValidationError, type ErrorDetail } from './errors.js';
import type { ExecutionState } from './execution.js';
import { parseBandwidth } from './bandwidth.js';
import { DEFAULT_STRATEGY, isRolloutStrategy, PHASED_STRATEGIES, ROLLOUT_STRATEGIES, STRATEGIES, type RolloutStrategy, type StrategyTraits } from './strategy.js';
import { parseWindow, type MaintenanceWindow } from './window.js';

export const ROLLOUT_STATUSES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'failed', 'cancelled', 'rolled-back'] as const;
/** Why a paused rollout is paused: an operator asked, or a phase missed its error or success threshold. */
export const PAUSE_CAUSES = ['operator', 'error-threshold', 'success-threshold'] as const;
export type PauseCause = (typeof PAUSE_CAUSES)[number];
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];
export const FINISHED_ROLLOUT_STATUSES: ReadonlySet<RolloutStatus> = new Set(['completed', 'failed', 'cancelled', 'rolled-back']);

/**
 * A phase reaches `percent` of the target set (cumulative) or `count` devices (cumulative).
 *
 * The phase rule (docs/rollouts.md): a phase passes when every one of its devices is in a final
 * state, its failures (failed or rolled back) do not exceed the rollout's error threshold, and, if
 * the phase has a success threshold, at least that percent of its devices succeeded. A phase that
 * misses either pauses the rollout with the reason; `resume` goes on, `cancel` stops.
 */
export interface Phase {
  percent?: number;
  count?: number;
  /** Percent of the phase's devices that must have succeeded for it to pass; null: no such condition. */
  successThreshold: number | null;
  /** Seconds to wait after the threshold is reached before advancing. */
  soakSeconds: number;
  /** When true, the phase advances only after POST /rollouts/:id/approve. */
  requireApproval: boolean;
}

export interface ErrorThreshold {
  /** Failed (or rolled-back) devices as a percent of the current phase's devices; exceeding it stops the rollout. */
  percent: number;
  /**
   * pause: the rollout pauses with the reason (in-flight deliveries finish; resume goes on).
   * abort: the rollout ends `failed`; devices not yet started are cancelled, deliveries in flight aborted.
   */
  action: 'pause' | 'abort';
}

export interface RetryPolicy {
  /** Delivery attempts per device, including the first. */
  maxAttempts: number;
  backoffSeconds: number;
  maxBackoffSeconds: number;
}

/** At most `perMinute` starts per minute; times `growthFactor` after every `growEvery` successes. */
export interface RateLimit {
  perMinute: number;
  growthFactor: number;
  growEvery: number;
  maxPerMinute: number;
}

/** A rollout as requested, normalised and validated (no ids, no status). */
export interface RolloutSpec {
  name: string;
  /**
   * The artifact every device gets; for a rollout of a release, the release's first artifact
   * (each execution records the artifact its device gets).
   */
  artifactId: string;
  /** The release rolled out, or null for a rollout of one artifact (a one-artifact release). */
  releaseId: string | null;
  filter: DeviceFilterInput;
  strategy: RolloutStrategy;
  phases: Phase[];
  errorThreshold: ErrorThreshold | null;
  window: MaintenanceWindow | null;
  /** ISO instant; null starts at once. */
  startAt: string | null;
  maxConcurrency: number | null;
  retry: RetryPolicy;
  rateLimit: RateLimit | null;
  /** Devices that match the filter later join until the rollout is closed (a dynamic group). */
  continuous: boolean;
  /**
   * Pull devices download and verify as soon as they are targeted, report `downloaded`, and
   * install only once the window opens (only with a window; push devices still start in it).
   */
  downloadAhead: boolean;
  /** Cap on the rollout's total download rate on each server, bytes per second; null: none. */
  maxBandwidth: number | null;
  /** Cap on each device's download rate, bytes per second; null: none. */
  maxDeviceBandwidth: number | null;
}

/** Rollout JSON (DESIGN.md): the spec plus its life. */
export interface Rollout extends RolloutSpec {
  id: string;
  status: RolloutStatus;
  statusReason: string | null;
  /** Index of the phase being delivered. */
  currentPhase: number;
  /** Highest phase index an operator approved (-1: none). */
  approvedPhase: number;
  /** When the current phase reached its success threshold (soak starts), or null. */
  phaseReachedAt: string | null;
  /** Failures of the current phase an operator accepted by resuming after a threshold stop. */
  failureBaseline: number;
  /** Highest phase whose missed success threshold an operator accepted by resuming (-1: none). */
  acceptedPhase: number;
  /** Why the rollout is paused (null unless paused). */
  pauseCause: PauseCause | null;
  /**
   * A rollback that switches devices back to the release they kept in their other slot (agents
   * with A/B slots whose previous artifact this server never had). `artifactId` is the artifact
   * being left; nothing is downloaded.
   */
  revert: boolean;
  /** The rollout this one rolls back, if any. */
  rollbackOf: string | null;
  /** Continuous rollouts stop taking new devices once closed. */
  closed: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Executions per state. */
  counts: Partial<Record<ExecutionState, number>>;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, backoffSeconds: 5, maxBackoffSeconds: 300 };
const KNOWN = new Set(['name', 'artifactId', 'releaseId', 'filter', 'strategy', 'phases', 'errorThreshold', 'window', 'startAt', 'maxConcurrency', 'retry', 'rateLimit', 'continuous', 'downloadAhead', 'maxBandwidth', 'maxDeviceBandwidth']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(raw: unknown, path: string, errors: ErrorDetail[], o: { min: number; max: number; int?: boolean; fallback: number }): number {
  if (raw === undefined || raw === null) return o.fallback;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || (o.int && !Number.isInteger(raw)) || raw < o.min || raw > o.max) {
    errors.push({ path, message: `must be ${o.int ? 'an integer' : 'a number'} from ${o.min} to ${o.max} (got ${JSON.stringify(raw)})` });
    return o.fallback;
  }
  return raw;
}

function parsePhases(raw: unknown, strategy: RolloutStrategy, traits: StrategyTraits | null, errors: ErrorDetail[]): Phase[] {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    if (traits?.phases === 'several') errors.push({ path: 'phases', message: `a ${strategy} rollout needs phases, e.g. [{"percent":1},{"percent":10},{"percent":100}]` });
    return [{ percent: 100, successThreshold: null, soakSeconds: 0, requireApproval: false }];
  }
  if (!Array.isArray(raw)) {
    errors.push({ path: 'phases', message: 'must be a list of phases' });
    return [];
  }
  if (raw.length > 20) errors.push({ path: 'phases', message: 'must have at most 20 phases' });
  const phases: Phase[] = [];
  let lastPercent = 0;
  let lastCount = 0;
  raw.forEach((p: unknown, i) => {
    const path = `phases.${i}`;
    if (!isObj(p)) return void errors.push({ path, message: 'must be an object like {"percent": 10}' });
    for (const key of Object.keys(p)) {
      if (!['percent', 'count', 'successThreshold', 'soakSeconds', 'requireApproval'].includes(key)) errors.push({ path: `${path}.${key}`, message: 'is not a phase field' });
    }
    const phase: Phase = {
      // No default: without one, a phase is judged by the error threshold alone.
      successThreshold: p.successThreshold === undefined || p.successThreshold === null ? null : num(p.successThreshold, `${path}.successThreshold`, errors, { min: 0, max: 100, fallback: 0 }),
      soakSeconds: num(p.soakSeconds, `${path}.soakSeconds`, errors, { min: 0, max: 30 * 86400, int: true, fallback: 0 }),
      requireApproval: false,
    };
    if (p.requireApproval !== undefined && typeof p.requireApproval !== 'boolean') errors.push({ path: `${path}.requireApproval`, message: 'must be true or false' });
    else phase.requireApproval = p.requireApproval === true;
    if ((p.percent === undefined) === (p.count === undefined)) {
      errors.push({ path, message: 'needs exactly one of percent or count' });
    } else if (p.percent !== undefined) {
      phase.percent = num(p.percent, `${path}.percent`, errors, { min: 0.001, max: 100, fallback: 100 });
      if (phase.percent < lastPercent) errors.push({ path: `${path}.percent`, message: `must not be smaller than the previous phase's ${lastPercent} (phases are cumulative)` });
      lastPercent = phase.percent;
    } else {
      phase.count = num(p.count, `${path}.count`, errors, { min: 1, max: 10_000_000, int: true, fallback: 1 });
      if (phase.count < lastCount) errors.push({ path: `${path}.count`, message: `must not be smaller than the previous phase's ${lastCount} (phases are cumulative)` });
      lastCount = phase.count;
    }
    phases.push(phase);
  });
  const last = phases.at(-1);
  if (last && last.percent !== 100) errors.push({ path: `phases.${phases.length - 1}`, message: 'the last phase must be {"percent": 100} so every targeted device is reached' });
  return phases;
}

function parseErrorThreshold(raw: unknown, errors: ErrorDetail[]): ErrorThreshold | null {
  if (raw === undefined || raw === null) return null;
  if (!isObj(raw)) return errors.push({ path: 'errorThreshold', message: 'must be {"percent": 2, "action": "pause"|"abort"}' }), null;
  const action = raw.action ?? 'pause';
  if (action !== 'pause' && action !== 'abort') errors.push({ path: 'errorThreshold.action', message: `must be pause or abort (got ${JSON.stringify(action)})` });
  if (raw.percent === undefined) errors.push({ path: 'errorThreshold.percent', message: 'is required' });
  return { percent: num(raw.percent, 'errorThreshold.percent', errors, { min: 0, max: 100, fallback: 0 }), action: action === 'abort' ? 'abort' : 'pause' };
}

function parseRetry(raw: unknown, errors: ErrorDetail[]): RetryPolicy {
  if (raw === undefined || raw === null) return { ...DEFAULT_RETRY };
  if (!isObj(raw)) return errors.push({ path: 'retry', message: 'must be {"maxAttempts", "backoffSeconds", "maxBackoffSeconds"}' }), { ...DEFAULT_RETRY };
  const retry = {
    maxAttempts: num(raw.maxAttempts, 'retry.maxAttempts', errors, { min: 1, max: 100, int: true, fallback: DEFAULT_RETRY.maxAttempts }),
    backoffSeconds: num(raw.backoffSeconds, 'retry.backoffSeconds', errors, { min: 0, max: 86400, fallback: DEFAULT_RETRY.backoffSeconds }),
    maxBackoffSeconds: num(raw.maxBackoffSeconds, 'retry.maxBackoffSeconds', errors, { min: 0, max: 7 * 86400, fallback: DEFAULT_RETRY.maxBackoffSeconds }),
  };
  if (retry.maxBackoffSeconds < retry.backoffSeconds) errors.push({ path: 'retry.maxBackoffSeconds', message: 'must be at least retry.backoffSeconds' });
  return retry;
}

function parseRateLimit(raw: unknown, errors: ErrorDetail[]): RateLimit | null {
  if (raw === undefined || raw === null) return null;
  if (!isObj(raw)) return errors.push({ path: 'rateLimit', message: 'must be {"perMinute": N, "growthFactor"?: F, "growEvery"?: M}' }), null;
  if (raw.perMinute === undefined) errors.push({ path: 'rateLimit.perMinute', message: 'is required' });
  const perMinute = num(raw.perMinute, 'rateLimit.perMinute', errors, { min: 1, max: 1_000_000, int: true, fallback: 1 });
  return {
    perMinute,
    growthFactor: num(raw.growthFactor, 'rateLimit.growthFactor', errors, { min: 1, max: 100, fallback: 1 }),
    growEvery: num(raw.growEvery, 'rateLimit.growEvery', errors, { min: 1, max: 10_000_000, int: true, fallback: 1 }),
    maxPerMinute: num(raw.maxPerMinute, 'rateLimit.maxPerMinute', errors, { min: perMinute, max: 10_000_000, int: true, fallback: 1_000_000 }),
  };
}

function parseCap(raw: unknown, path: string, errors: ErrorDetail[]): number | null {
  if (raw === undefined || raw === null) return null;
  try {
    return parseBandwidth(raw);
  } catch (error) {
    errors.push({ path, message: (error as Error).message });
    return null;
  }
}

/**
 * Validates a rollout request. Refuses what cannot work (phases not ending at 100%, windows that
 * never open, unknown time zones, a start in the past for a scheduled rollout) with a
 * ValidationError naming each field. Whether the artifact exists is the service's check.
 */
export function validateRolloutSpec(raw: unknown, now: number): RolloutSpec {
  const errors: ErrorDetail[] = [];
  const input: Obj = isObj(raw) ? raw : {};
  if (!isObj(raw)) errors.push({ message: 'the rollout must be a JSON object' });
  for (const key of Object.keys(input)) if (!KNOWN.has(key)) errors.push({ path: key, message: `is not a rollout field (known: ${[...KNOWN].join(', ')})` });
  const artifactId = typeof input.artifactId === 'string' && input.artifactId.length > 0 && input.artifactId.length <= 200 ? input.artifactId : '';
  const releaseId = typeof input.releaseId === 'string' && input.releaseId.length > 0 && input.releaseId.length <= 200 ? input.releaseId : null;
  if (input.releaseId !== undefined && input.releaseId !== null && !releaseId) errors.push({ path: 'releaseId', message: 'must be the id of a release (1-200 characters)' });
  else if (input.artifactId !== undefined && input.artifactId !== null && !artifactId) errors.push({ path: 'artifactId', message: 'must be the id of an uploaded artifact (1-200 characters)' });
  else if (artifactId && releaseId) errors.push({ path: 'releaseId', message: 'give exactly one of artifactId (one artifact for every device) or releaseId (each device gets the artifact of the release that fits it)' });
  else if (!artifactId && !releaseId) errors.push({ path: 'artifactId', message: 'is required: the id of an uploaded artifact, or give releaseId instead' });
  const strategy = (input.strategy ?? DEFAULT_STRATEGY) as RolloutStrategy;
  const traits = isRolloutStrategy(strategy) ? STRATEGIES[strategy] : null;
  if (!traits) errors.push({ path: 'strategy', message: `must be one of ${ROLLOUT_STRATEGIES.join(', ')} (got ${JSON.stringify(input.strategy)})` });
  let filter: DeviceFilterInput = {};
  if (input.filter !== undefined && input.filter !== null) {
    if (!isObj(input.filter)) errors.push({ path: 'filter', message: 'must be an object with the device list filter keys (status, location, version, tag, ...)' });
    else {
      try {
        if (parseDeviceFilter(input.filter).decommissioned) errors.push({ path: 'filter.decommissioned', message: 'a rollout cannot target decommissioned devices: their credentials are revoked' });
        filter = input.filter as DeviceFilterInput;
      } catch (error) {
        for (const d of (error as ValidationError).details ?? []) errors.push({ path: `filter.${d.path ?? ''}`, message: d.message });
      }
    }
  }
  const phases = parsePhases(input.phases, strategy, traits, errors);
  if (traits?.phases !== 'several' && Array.isArray(input.phases) && input.phases.length > 1) errors.push({ path: 'phases', message: `several phases need strategy ${PHASED_STRATEGIES.map((name) => `"${name}"`).join(' or ')} (got "${strategy}")` });
  let window: MaintenanceWindow | null = null;
  if (input.window !== undefined && input.window !== null) window = parseWindow(input.window, errors, now);
  let startAt: string | null = null;
  if (input.startAt !== undefined && input.startAt !== null) {
    const ms = typeof input.startAt === 'string' ? Date.parse(input.startAt) : NaN;
    if (!Number.isFinite(ms)) errors.push({ path: 'startAt', message: 'must be an ISO-8601 date-time such as 2026-01-31T02:00:00Z' });
    else startAt = new Date(ms).toISOString();
  }
  if (traits?.start === 'timed' && !startAt && !window) errors.push({ path: 'startAt', message: `a ${strategy} rollout needs startAt or a window (or both)` });
  const maxConcurrency = input.maxConcurrency === undefined || input.maxConcurrency === null ? null : num(input.maxConcurrency, 'maxConcurrency', errors, { min: 1, max: 1_000_000, int: true, fallback: 1 });
  if (input.continuous !== undefined && typeof input.continuous !== 'boolean') errors.push({ path: 'continuous', message: 'must be true or false' });
  if (input.downloadAhead !== undefined && typeof input.downloadAhead !== 'boolean') errors.push({ path: 'downloadAhead', message: 'must be true or false' });
  const downloadAhead = input.downloadAhead === true;
  if (downloadAhead && !window && !(input.window !== undefined && input.window !== null)) {
    errors.push({ path: 'downloadAhead', message: 'needs a maintenance window (window): devices download ahead and install when it opens; without one they install at once anyway' });
  }
  const maxBandwidth = parseCap(input.maxBandwidth, 'maxBandwidth', errors);
  const maxDeviceBandwidth = parseCap(input.maxDeviceBandwidth, 'maxDeviceBandwidth', errors);
  if (maxBandwidth !== null && maxDeviceBandwidth !== null && maxDeviceBandwidth > maxBandwidth) {
    errors.push({ path: 'maxDeviceBandwidth', message: 'is more than maxBandwidth, the cap on all devices together; leave it out or lower it' });
  }
  const name = typeof input.name === 'string' ? input.name.slice(0, 200) : '';
  const spec: RolloutSpec = {
    name,
    artifactId,
    releaseId,
    filter,
    strategy,
    phases,
    errorThreshold: parseErrorThreshold(input.errorThreshold, errors),
    window,
    startAt,
    maxConcurrency,
    retry: parseRetry(input.retry, errors),
    rateLimit: parseRateLimit(input.rateLimit, errors),
    continuous: input.continuous === true,
    downloadAhead,
    maxBandwidth,
    maxDeviceBandwidth,
  };
  if (errors.length) throw new ValidationError(`invalid rollout: ${errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ')}`, errors);
  return spec;
}

/** The devices a rollout may target: its filter, restricted to devices an operator accepted and in service. */
export function rolloutDeviceFilter(rollout: Pick<RolloutSpec, 'filter'>): DeviceFilter {
  return { ...parseDeviceFilter(rollout.filter), enrolledOnly: true, decommissioned: false };
}
