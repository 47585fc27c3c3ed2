-- Rollout progress counts kept by the database (the phase rule reads them twice a second per
-- running rollout, every rollout summary reads them): a grouped scan of a rollout's executions
-- grew with the fleet (25 ms at 20,000 executions, a blocked event loop at a million).
-- execution_counts holds the folded totals per (rollout, phase, state); triggers on executions
-- append every change to execution_count_deltas, and the store folds those into the totals now
-- and then (ExecutionCountRepository.fold). Totals plus deltas are exact in every transaction.
-- Appending rather than updating a counter row is on purpose: transactions of a pool (and of
-- several servers) updating one hot counter row would serialize on its row lock, and could
-- deadlock. No foreign keys: a cascaded delete of executions must still append its deltas.
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
-- Ids are not committed in order here, so a fold takes exactly the rows it deletes (DELETE ...
-- RETURNING), never "every id up to X".
CREATE TABLE execution_count_deltas (
  id BIGSERIAL PRIMARY KEY,
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

-- Statement-level triggers with transition tables: the engine writes hundreds of rows per
-- statement, and each statement appends one delta row per (rollout, phase, state) it touched.
-- NULL bytes fetched or reused count as 0, as sum() skipped them.
CREATE FUNCTION execution_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO execution_count_deltas (rollout_id, phase, state, n, bytes, installed, fetched, reused)
  SELECT rollout_id, phase, state, count(*), coalesce(sum(bytes), 0), coalesce(sum(installed_after_cancel), 0), coalesce(sum(bytes_fetched), 0), coalesce(sum(bytes_reused), 0)
  FROM inserted GROUP BY rollout_id, phase, state;
  RETURN NULL;
END $$;

CREATE FUNCTION execution_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO execution_count_deltas (rollout_id, phase, state, n, bytes, installed, fetched, reused)
  SELECT rollout_id, phase, state, -count(*), -coalesce(sum(bytes), 0), -coalesce(sum(installed_after_cancel), 0), -coalesce(sum(bytes_fetched), 0), -coalesce(sum(bytes_reused), 0)
  FROM deleted GROUP BY rollout_id, phase, state;
  RETURN NULL;
END $$;

-- A trigger with transition tables can name no columns, so every update runs this; the old rows
-- count negative, the new positive, and groups that net to nothing (a lease renewal, a claim's
-- timestamps) append nothing. Matching old and new by id is not needed, and would miss a retry
-- (which gives the execution a new id).
CREATE FUNCTION execution_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO execution_count_deltas (rollout_id, phase, state, n, bytes, installed, fetched, reused)
  SELECT rollout_id, phase, state, sum(n), sum(bytes), sum(installed), sum(fetched), sum(reused)
  FROM (
    SELECT rollout_id, phase, state, -1 AS n, -coalesce(bytes, 0) AS bytes, -installed_after_cancel AS installed, -coalesce(bytes_fetched, 0) AS fetched, -coalesce(bytes_reused, 0) AS reused FROM before_rows
    UNION ALL
    SELECT rollout_id, phase, state, 1, coalesce(bytes, 0), installed_after_cancel, coalesce(bytes_fetched, 0), coalesce(bytes_reused, 0) FROM after_rows
  ) AS changes
  GROUP BY rollout_id, phase, state
  HAVING sum(n) <> 0 OR sum(bytes) <> 0 OR sum(installed) <> 0 OR sum(fetched) <> 0 OR sum(reused) <> 0;
  RETURN NULL;
END $$;

-- Created before the backfill: creating a trigger locks executions against writes until this
-- migration commits, so no write falls between the backfill and the triggers.
CREATE TRIGGER executions_count_insert AFTER INSERT ON executions REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION execution_counts_inserted();
CREATE TRIGGER executions_count_delete AFTER DELETE ON executions REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION execution_counts_deleted();
CREATE TRIGGER executions_count_update AFTER UPDATE ON executions REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_counts_updated();

-- The executions already there.
INSERT INTO execution_counts (rollout_id, phase, state, n, bytes, installed, fetched, reused)
SELECT rollout_id, phase, state, count(*), coalesce(sum(bytes), 0), coalesce(sum(installed_after_cancel), 0), coalesce(sum(bytes_fetched), 0), coalesce(sum(bytes_reused), 0)
FROM executions GROUP BY rollout_id, phase, state;
