-- Several components on one device (issue 15 item 4). An execution of a release that gives a
-- device more than one component carries them here, in the release's install order: the
-- component's name and the artifact for it. Keyed by (rollout, device), the execution's own key,
-- so an operator's retry (which gives the execution a new id) keeps them. Executions of one
-- artifact have no rows here: executions.artifact_id is all they deliver.
CREATE TABLE execution_components (
  rollout_id TEXT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  device_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  component TEXT NOT NULL,
  artifact_id TEXT NOT NULL,
  PRIMARY KEY (rollout_id, device_id, position)
);
CREATE INDEX execution_components_artifact_idx ON execution_components (artifact_id);
