// Row types of migrations 0003, 0010, 0014 and 0018 (rollouts, executions, their counts). JSON columns are TEXT, booleans 0/1,
// timestamps epoch ms, as everywhere in the store.
import type { Generated } from 'kysely';

export interface RolloutRow {
  id: string;
  name: string;
  artifact_id: string;
  filter: string;
  strategy: string;
  phases: string;
  error_threshold: string | null;
  maint_window: string | null;
  start_at: number | null;
  max_concurrency: number | null;
  retry: string;
  rate_limit: string | null;
  continuous: number;
  download_ahead: number;
  max_bandwidth: number | null;
  max_device_bandwidth: number | null;
  closed: number;
  status: string;
  status_reason: string | null;
  current_phase: number;
  approved_phase: number;
  phase_reached_at: number | null;
  failure_baseline: number;
  accepted_phase: number;
  pause_cause: string | null;
  revert: number;
  rollback_of: string | null;
  /** The release rolled out (migration 0015); null for a rollout of one artifact. */
  release_id: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface ExecutionRow {
  id: string;
  rollout_id: string;
  device_id: string;
  artifact_id: string;
  phase: number;
  state: string;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  pull: number;
  timezone: string;
  bytes: number;
  bytes_fetched: number | null;
  bytes_reused: number | null;
  error: string | null;
  note: string | null;
  installed_after_cancel: number;
  previous_artifact_id: string | null;
  previous_version: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/**
 * Executions per (rollout, phase, state) with their sums, folded from the deltas (migration 0018).
 * Bytes fetched and reused that are NULL count as 0.
 */
export interface ExecutionCountRow {
  rollout_id: string;
  phase: number;
  state: string;
  n: number;
  bytes: number;
  installed: number;
  fetched: number;
  reused: number;
}

/** A change of the counts that triggers on executions appended, not folded yet (migration 0018). */
export interface ExecutionCountDeltaRow extends ExecutionCountRow {
  id: Generated<number>;
}
