-- Device protocol adapters (hawkBit DDI, Mender device API): each device's protocol, hawkBit
-- tenants with gateway tokens, numeric hawkBit action ids for executions, extra artifact hashes
-- (sha1/md5 for hawkBit), Mender authentication sets, and server-side protocol secrets (postgres).
ALTER TABLE devices ADD COLUMN protocol TEXT NOT NULL DEFAULT 'native';

CREATE TABLE hawkbit_tenants (
  name TEXT COLLATE "C" PRIMARY KEY,
  gateway_token_hash TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE hawkbit_actions (
  id BIGSERIAL PRIMARY KEY,
  execution_id TEXT COLLATE "C" NOT NULL UNIQUE,
  device_id TEXT COLLATE "C" NOT NULL,
  offered_at BIGINT,
  cancel_acked_at BIGINT,
  last_update_mode TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX hawkbit_actions_device_idx ON hawkbit_actions (device_id, id);

CREATE TABLE artifact_hashes (
  artifact_id TEXT COLLATE "C" PRIMARY KEY,
  sha1 TEXT NOT NULL,
  md5 TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE mender_auth_sets (
  id TEXT COLLATE "C" PRIMARY KEY,
  device_id TEXT COLLATE "C" NOT NULL,
  id_data TEXT NOT NULL,
  pubkey TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (device_id, pubkey)
);
CREATE INDEX mender_auth_sets_status_idx ON mender_auth_sets (status, created_at);

CREATE TABLE protocol_secrets (
  name TEXT COLLATE "C" PRIMARY KEY,
  value TEXT NOT NULL,
  created_at BIGINT NOT NULL
)
