-- The image each policy already rolled out (its digest, or its tag when the registry sends no
-- digest), so a repeated push of it does not start a second rollout. The primary key makes the
-- second of two concurrent pushes lose.
CREATE TABLE policy_rollouts (
  policy_id TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  image_key TEXT NOT NULL,
  rollout_id TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (policy_id, image_key)
);
