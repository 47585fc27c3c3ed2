-- Device credentials (metadata.auth values), apart from the public metadata and encrypted at rest:
-- one row per device and credential, AES-256-GCM sealed in TypeScript (src/core/secret-box.ts)
-- under the key named by key_id. devices.metadata keeps each credential's key with the value
-- '[set]'. secrets_key binds the database to one key (one row): servers that share the database
-- must have that key, and sealed_at records that the plaintext metadata.auth of earlier versions
-- was moved in (done at start, src/store/device-secret.repository.ts).
CREATE TABLE device_secrets (
  device_id TEXT COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  sealed TEXT NOT NULL,
  key_id TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (device_id, key)
);
CREATE TABLE secrets_key (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  key_id TEXT NOT NULL,
  bound_at BIGINT NOT NULL,
  sealed_at BIGINT
);
