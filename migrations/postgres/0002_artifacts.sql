-- Artifacts (PostgreSQL): files stored content-addressed (storage_key) or container image references (image_ref).
CREATE TABLE artifacts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  kind TEXT NOT NULL,
  sha256 TEXT,
  size BIGINT NOT NULL DEFAULT 0,
  content_type TEXT NOT NULL,
  signature TEXT,
  image_ref TEXT,
  storage_key TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  UNIQUE (name, version)
);
CREATE INDEX artifacts_created_idx ON artifacts (created_at, id);
CREATE INDEX artifacts_storage_idx ON artifacts (storage_key);
