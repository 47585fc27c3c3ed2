-- Rollouts an operator can trust (issue 13), sqlite: why a rollout is paused and which phase's
-- missed success threshold an operator accepted; revert rollbacks (switch back to the previous
-- slot); an execution's note (e.g. the device installed it before a cancel reached it).
ALTER TABLE rollouts ADD COLUMN pause_cause TEXT;
ALTER TABLE rollouts ADD COLUMN accepted_phase INTEGER NOT NULL DEFAULT -1;
ALTER TABLE rollouts ADD COLUMN revert INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN note TEXT;
ALTER TABLE executions ADD COLUMN installed_after_cancel INTEGER NOT NULL DEFAULT 0;
-- A device's deployment history, newest first (GET /api/v1/devices/:id/executions).
CREATE INDEX executions_device_history_idx ON executions (device_id, created_at);
DROP INDEX executions_device_idx;
