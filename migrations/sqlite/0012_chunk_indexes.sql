-- Chunk indexes and delta transfers: each file artifact's content-defined chunk index (its digest,
-- the signature binding it to the artifact, and a summary; the encoded index itself is a file
-- under <data>/artifacts/index/, named by its digest), and per execution the bytes that crossed
-- the network and the bytes the device reused from files it already held (NULL: not reported).
ALTER TABLE artifacts ADD COLUMN index_sha256 TEXT;
ALTER TABLE artifacts ADD COLUMN index_signature TEXT;
ALTER TABLE artifacts ADD COLUMN index_info TEXT;
CREATE INDEX artifacts_index_idx ON artifacts (index_sha256);
ALTER TABLE executions ADD COLUMN bytes_fetched BIGINT;
ALTER TABLE executions ADD COLUMN bytes_reused BIGINT;
