-- Device registry, operator and device tokens, the event log and job locks (SQLite).
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  address TEXT,
  mode TEXT NOT NULL DEFAULT 'pull',
  status TEXT NOT NULL DEFAULT 'unknown',
  last_seen BIGINT,
  version TEXT,
  version_key TEXT,
  location TEXT,
  timezone TEXT NOT NULL DEFAULT 'UTC',
  tags TEXT NOT NULL DEFAULT '{}',
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX devices_status_idx ON devices (status, id);
CREATE INDEX devices_location_idx ON devices (location, id);
CREATE INDEX devices_version_idx ON devices (version_key, id);
CREATE INDEX devices_last_seen_idx ON devices (last_seen);

CREATE TABLE device_tags (
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (key, value, device_id)
) WITHOUT ROWID;
-- One tag per key and device is enforced by the application (tags are a map).
CREATE INDEX device_tags_device_idx ON device_tags (device_id);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  role TEXT,
  device_id TEXT REFERENCES devices (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX tokens_device_idx ON tokens (device_id);

CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts BIGINT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT,
  rollout_id TEXT,
  device_id TEXT,
  execution_id TEXT,
  data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_rollout_idx ON events (rollout_id, id);
CREATE INDEX events_device_idx ON events (device_id, id);
CREATE INDEX events_type_idx ON events (type, id);
CREATE INDEX events_ts_idx ON events (ts);

CREATE TABLE locks (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
