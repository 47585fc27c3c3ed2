// The execution state machine: one table of allowed transitions, used by every writer.
import { IllegalTransitionError } from './errors.js';

export const EXECUTION_STATES = [
  'pending',
  'queued',
  'delivering',
  'downloading',
  'downloaded',
  'installing',
  'verifying',
  'succeeded',
  'failed',
  'rolled-back',
  'cancelled',
  'skipped',
] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<ExecutionState> = new Set(['succeeded', 'failed', 'rolled-back', 'cancelled', 'skipped']);
/**
 * Outcomes that count as failures wherever failures are counted (thresholds, progress, the
 * failures list): a device that rolled itself back after failed health checks did not get the update.
 */
export const FAILURE_STATES: readonly ExecutionState[] = ['failed', 'rolled-back'];
/**
 * Released and not finished: the device (or a push delivery) is working on it, or may start at once.
 * `downloaded` is a download-ahead device holding the verified artifact until its window opens.
 */
export const IN_FLIGHT_STATES: readonly ExecutionState[] = ['queued', 'delivering', 'downloading', 'downloaded', 'installing', 'verifying'];

/**
 * Allowed transitions. `queued` -> `pending` is a retry put back to wait; `failed` is reachable
 * from every non-terminal state (retries exhausted, permanent error, device report).
 * `pending` -> `delivering` is the engine claiming push work with a lease in one write;
 * `pending` -> `queued` releases pull work to the device. `downloaded` is a download-ahead device
 * ready to install (artifact fetched and verified), waiting for the server to open its window.
 */
export const TRANSITIONS: Readonly<Record<ExecutionState, readonly ExecutionState[]>> = {
  pending: ['queued', 'delivering', 'downloading', 'downloaded', 'installing', 'verifying', 'succeeded', 'failed', 'rolled-back', 'cancelled', 'skipped'],
  queued: ['pending', 'delivering', 'downloading', 'downloaded', 'installing', 'verifying', 'succeeded', 'failed', 'rolled-back', 'cancelled', 'skipped'],
  delivering: ['pending', 'installing', 'verifying', 'succeeded', 'failed', 'rolled-back', 'cancelled'],
  downloading: ['pending', 'downloaded', 'installing', 'verifying', 'succeeded', 'failed', 'rolled-back', 'cancelled'],
  downloaded: ['installing', 'verifying', 'succeeded', 'failed', 'rolled-back', 'cancelled'],
  installing: ['pending', 'verifying', 'succeeded', 'failed', 'rolled-back', 'cancelled'],
  verifying: ['pending', 'succeeded', 'failed', 'rolled-back', 'cancelled'],
  succeeded: [],
  failed: [],
  'rolled-back': [],
  cancelled: [],
  skipped: [],
};

export function isTerminal(state: ExecutionState): boolean {
  return TERMINAL_STATES.has(state);
}

export function canTransition(from: ExecutionState, to: ExecutionState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws IllegalTransitionError unless `from` -> `to` is in the table. */
export function assertTransition(from: ExecutionState, to: ExecutionState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/**
 * The one way out of a terminal state, outside the table on purpose: an operator's retry
 * (`rollouts retry`) re-opens a failed or rolled-back execution as `pending`, with a new id and
 * fresh attempts, so devices and protocols see a new deployment rather than a repeat of the old one.
 */
export const RETRYABLE_STATES: readonly ExecutionState[] = FAILURE_STATES;

/** Throws IllegalTransitionError unless an operator's retry may re-open an execution in `from`. */
export function assertRetryable(from: ExecutionState): void {
  if (!RETRYABLE_STATES.includes(from)) throw new IllegalTransitionError(from, 'pending');
}

/** Progress order, so out-of-order device reports can never move an execution backwards. */
const RANK: Record<ExecutionState, number> = {
  pending: 0,
  queued: 1,
  delivering: 2,
  downloading: 2,
  downloaded: 3,
  installing: 4,
  verifying: 5,
  succeeded: 6,
  failed: 6,
  'rolled-back': 6,
  cancelled: 6,
  skipped: 6,
};

/** True when a report of `to` moves forward from `from` (same-rank repeats are not forward). */
export function isForward(from: ExecutionState, to: ExecutionState): boolean {
  return RANK[to] > RANK[from] && canTransition(from, to);
}

/**
 * One component an execution delivers when a release gives the device several (issue 15 item 4):
 * installed in the release's order, all in one execution, rolled back together.
 */
export interface ExecutionComponent {
  component: string;
  artifactId: string;
}

/** One (rollout, device) pair as stored and shown by the API. */
export interface Execution {
  id: string;
  rolloutId: string;
  deviceId: string;
  /** The artifact this device gets (the rollout's; a rollback's per-device previous artifact). */
  artifactId: string;
  /** Index into the rollout's phases. */
  phase: number;
  state: ExecutionState;
  /** Delivery attempts started so far. */
  attempts: number;
  /** ISO instant before which a pending execution is not retried, or null. */
  nextAttemptAt: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  /** True for pull devices: the device itself downloads and reports. */
  pull: boolean;
  /** Bytes of the artifact the device holds so far (progress). */
  bytes: number;
  /** Bytes that crossed the network for this execution (delta ranges, index, any full download), null until reported. */
  bytesFetched: number | null;
  /** Bytes the device took from files it already held instead of fetching them, null until reported. */
  bytesReused: number | null;
  error: string | null;
  /** A remark on the outcome that is not an error, e.g. that the device installed it before a cancel reached it. */
  note: string | null;
  /**
   * The execution was cancelled, but the device reported afterwards that it had installed the
   * update anyway (its install could not be interrupted). The state stays `cancelled`.
   */
  installedAfterCancel: boolean;
  /** What the device ran before this execution started (for rollback). */
  previousArtifactId: string | null;
  previousVersion: string | null;
  createdAt: string;
  /** When the execution last changed state (bytes reported while downloading do not move it). */
  updatedAt: string;
  /** The same instant as updatedAt, named for what it means: the time of the last state transition. */
  stateSince: string;
  startedAt: string | null;
  finishedAt: string | null;
}
