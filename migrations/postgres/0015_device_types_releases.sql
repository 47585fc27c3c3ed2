-- Device types and releases (issue 15 items 1-3). Every device may carry the hardware type a
-- release matches its artifacts against (from Mender's inventory, a hawkBit attribute, the agent or
-- an operator). A release is a name and version with one or more artifacts, each for a component
-- and a match on the device (its protocol and a device type glob), in the order given.
ALTER TABLE devices ADD COLUMN device_type TEXT;
CREATE INDEX devices_device_type_idx ON devices (device_type, id);
CREATE TABLE releases (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (name, version)
);
CREATE TABLE release_artifacts (
  release_id TEXT NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  artifact_id TEXT NOT NULL REFERENCES artifacts (id),
  component TEXT NOT NULL DEFAULT 'main',
  match_protocol TEXT,
  match_device_type TEXT,
  PRIMARY KEY (release_id, position)
);
CREATE INDEX release_artifacts_artifact_idx ON release_artifacts (artifact_id);
ALTER TABLE rollouts ADD COLUMN release_id TEXT;
CREATE INDEX rollouts_release_idx ON rollouts (release_id);
