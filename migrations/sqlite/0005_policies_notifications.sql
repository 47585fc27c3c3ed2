-- Registry webhook policies, the webhook replay guard and outbound notification subscriptions.
CREATE TABLE policies (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  image_pattern TEXT NOT NULL,
  filter TEXT NOT NULL DEFAULT '{}',
  template TEXT NOT NULL DEFAULT '{}',
  enabled INTEGER NOT NULL DEFAULT 1,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE webhook_receipts (
  key TEXT PRIMARY KEY,
  received_at BIGINT NOT NULL
);
CREATE INDEX webhook_receipts_received_idx ON webhook_receipts (received_at);

CREATE TABLE subscriptions (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  event_types TEXT NOT NULL DEFAULT '[]',
  secret TEXT,
  format TEXT NOT NULL DEFAULT 'json',
  -- Id of the last event handled; the notifier resumes after it (durable across restarts).
  last_event_id BIGINT NOT NULL DEFAULT 0,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
