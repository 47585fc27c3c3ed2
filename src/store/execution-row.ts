// Execution rows and the shapes the execution repository takes and answers: the mapping from a
// stored row to Execution JSON, new executions, claims, transitions and moved rows.
import type { Execution, ExecutionComponent, ExecutionState } from '../core/index.js';
import type { ExecutionRow } from './rollout.schema.js';

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
    note: row.note ?? null,
    installedAfterCancel: row.installed_after_cancel === 1,
    previousArtifactId: row.previous_artifact_id,
    previousVersion: row.previous_version,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    stateSince: iso(row.updated_at)!,
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
  /** Written as `skipped` (finished at once) with this as its note: nothing of the release fits the device. */
  skipReason?: string | null;
  /** Several components of a release, in install order (artifactId is the first's); absent or one: just artifactId. */
  components?: ExecutionComponent[];
}

/** An execution as a claim answers it: what the claim set, and what a delivery needs. */
export type ClaimedExecution = Pick<Execution, 'id' | 'rolloutId' | 'deviceId' | 'artifactId' | 'phase' | 'pull' | 'state' | 'attempts' | 'leaseOwner' | 'leaseExpiresAt' | 'startedAt'>;

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

/** An execution a bulk move (a rollout's stop or pause, the lease reaper) moved. */
export interface MovedExecution {
  id: string;
  rolloutId: string;
  deviceId: string;
  pull: boolean;
  attempts: number;
}

export function toMovedExecution(r: { id: string; rollout_id: string; device_id: string; pull: number; attempts: number }): MovedExecution {
  return { id: r.id, rolloutId: r.rollout_id, deviceId: r.device_id, pull: Number(r.pull) === 1, attempts: r.attempts };
}

/** An execution an operator's retry re-opened: its new id, and what it was before. */
export interface RequeuedRow {
  id: string;
  previousId: string;
  rolloutId: string;
  deviceId: string;
  from: ExecutionState;
  phase: number;
}
