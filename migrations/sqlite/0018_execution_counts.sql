-- Rollout progress counts kept by the database (the phase rule reads them twice a second per
-- running rollout, every rollout summary reads them): a grouped scan of a rollout's executions
-- grew with the fleet (25 ms at 20,000 executions, a blocked event loop at a million).
-- execution_counts holds the folded totals per (rollout, phase, state); triggers on executions
-- append every change to execution_count_deltas, and the store folds those into the totals now
-- and then (ExecutionCountRepository.fold). Totals plus deltas are exact in every transaction.
-- Appending rather than updating a counter row is for PostgreSQL (many writers would serialize
-- on a hot row there); SQLite shares the tables and the reads. No foreign keys: a cascaded
-- delete of executions must still be able to append its deltas.
CREATE TABLE execution_counts (
  rollout_id TEXT NOT NULL,
  phase INTEGER NOT NULL,
  state TEXT NOT NULL,
  n BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  installed BIGINT NOT NULL,
  fetched BIGINT NOT NULL,
  reused BIGINT NOT NULL,
  PRIMARY KEY (rollout_id, phase, state)
);
-- The rowid: SQLite's single writer makes "every delta up to id X" a stable set within a fold.
CREATE TABLE execution_count_deltas (
  id INTEGER PRIMARY KEY,
  rollout_id TEXT NOT NULL,
  phase INTEGER NOT NULL,
  state TEXT NOT NULL,
  n BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  installed BIGINT NOT NULL,
  fetched BIGINT NOT NULL,
  reused BIGINT NOT NULL
);
CREATE INDEX execution_count_deltas_rollout_idx ON execution_count_deltas (rollout_id);

-- What finished recently (a summary's rate) is not a counter: it is read from this index, over
-- finished executions only, covering what the read groups by.
CREATE INDEX executions_finished_idx ON executions (rollout_id, finished_at, phase, state) WHERE finished_at IS NOT NULL;

-- NULL bytes fetched or reused count as 0, as sum() skipped them.
CREATE TRIGGER executions_count_insert AFTER INSERT ON executions
BEGIN
  INSERT INTO execution_count_deltas (rollout_id, phase, state, n, bytes, installed, fetched, reused)
  VALUES (NEW.rollout_id, NEW.phase, NEW.state, 1, coalesce(NEW.bytes, 0), NEW.installed_after_cancel, coalesce(NEW.bytes_fetched, 0), coalesce(NEW.bytes_reused, 0));
END;

CREATE TRIGGER executions_count_delete AFTER DELETE ON executions
BEGIN
  INSERT INTO execution_count_deltas (rollout_id, phase, state, n, bytes, installed, fetched, reused)
  VALUES (OLD.rollout_id, OLD.phase, OLD.state, -1, -coalesce(OLD.bytes, 0), -OLD.installed_after_cancel, -coalesce(OLD.bytes_fetched, 0), -coalesce(OLD.bytes_reused, 0));
END;

-- Only updates that change what is counted append (a lease renewal or a claim's timestamps do not).
CREATE TRIGGER executions_count_update AFTER UPDATE OF rollout_id, phase, state, bytes, installed_after_cancel, bytes_fetched, bytes_reused ON executions
WHEN OLD.rollout_id IS NOT NEW.rollout_id OR OLD.phase IS NOT NEW.phase OR OLD.state IS NOT NEW.state OR OLD.bytes IS NOT NEW.bytes
  OR OLD.installed_after_cancel IS NOT NEW.installed_after_cancel OR OLD.bytes_fetched IS NOT NEW.bytes_fetched OR OLD.bytes_reused IS NOT NEW.bytes_reused
BEGIN
  INSERT INTO execution_count_deltas (rollout_id, phase, state, n, bytes, installed, fetched, reused)
  VALUES (OLD.rollout_id, OLD.phase, OLD.state, -1, -coalesce(OLD.bytes, 0), -OLD.installed_after_cancel, -coalesce(OLD.bytes_fetched, 0), -coalesce(OLD.bytes_reused, 0)),
    (NEW.rollout_id, NEW.phase, NEW.state, 1, coalesce(NEW.bytes, 0), NEW.installed_after_cancel, coalesce(NEW.bytes_fetched, 0), coalesce(NEW.bytes_reused, 0));
END;

-- The executions already there.
INSERT INTO execution_counts (rollout_id, phase, state, n, bytes, installed, fetched, reused)
SELECT rollout_id, phase, state, count(*), coalesce(sum(bytes), 0), coalesce(sum(installed_after_cancel), 0), coalesce(sum(bytes_fetched), 0), coalesce(sum(bytes_reused), 0)
FROM executions GROUP BY rollout_id, phase, state;
