-- Pull devices (device agents): enrollment keys, each device's enrollment state, and the latest
-- inventory and report a device sent (sqlite).
CREATE TABLE enrollment_keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  auto_accept INTEGER NOT NULL DEFAULT 0,
  defaults TEXT NOT NULL DEFAULT '{}',
  max_uses INTEGER,
  uses INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
);

ALTER TABLE devices ADD COLUMN enrollment TEXT NOT NULL DEFAULT 'accepted';
CREATE INDEX devices_enrollment_idx ON devices (enrollment, id);

CREATE TABLE device_reports (
  device_id TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  inventory TEXT NOT NULL DEFAULT '{}',
  report TEXT NOT NULL DEFAULT '{}',
  enrollment_key_id TEXT,
  reported_at BIGINT NOT NULL
);
