-- Rollouts and their executions: one row per (rollout, device), claimed by engines with a lease (sqlite).
CREATE TABLE rollouts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  artifact_id TEXT NOT NULL,
  filter TEXT NOT NULL DEFAULT '{}',
  strategy TEXT NOT NULL,
  phases TEXT NOT NULL,
  error_threshold TEXT,
  maint_window TEXT,
  start_at BIGINT,
  max_concurrency INTEGER,
  retry TEXT NOT NULL,
  rate_limit TEXT,
  continuous INTEGER NOT NULL DEFAULT 0,
  closed INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  status_reason TEXT,
  current_phase INTEGER NOT NULL DEFAULT 0,
  approved_phase INTEGER NOT NULL DEFAULT -1,
  phase_reached_at BIGINT,
  failure_baseline INTEGER NOT NULL DEFAULT 0,
  rollback_of TEXT,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE INDEX rollouts_status_idx ON rollouts (status, created_at);
CREATE INDEX rollouts_artifact_idx ON rollouts (artifact_id);

CREATE TABLE executions (
  id TEXT PRIMARY KEY,
  rollout_id TEXT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  device_id TEXT NOT NULL,
  artifact_id TEXT NOT NULL,
  phase INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  pull INTEGER NOT NULL DEFAULT 0,
  timezone TEXT NOT NULL DEFAULT 'UTC',
  bytes BIGINT NOT NULL DEFAULT 0,
  error TEXT,
  previous_artifact_id TEXT,
  previous_version TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  UNIQUE (rollout_id, device_id)
);
-- Indexes are few on purpose: every state change rewrites the entries that include state.
-- Claiming (and counts per phase and state) walk this one in phase order.
CREATE INDEX executions_claim_idx ON executions (rollout_id, state, pull, phase, next_attempt_at);
-- Due work across rollouts; partial, so leaving 'pending' only deletes an entry.
CREATE INDEX executions_due_idx ON executions (state, next_attempt_at) WHERE state = 'pending';
CREATE INDEX executions_lease_idx ON executions (lease_expires_at) WHERE lease_owner IS NOT NULL;
CREATE INDEX executions_device_idx ON executions (device_id)
