-- Secondary indexes a large SQLite import dropped to rebuild them once at its end (it is several
-- times faster than maintaining them row by row). Each is deleted here when it is back; whatever a
-- crash left behind is rebuilt when the store next opens (SQLite only: PostgreSQL keeps its indexes).
CREATE TABLE deferred_indexes (
  name TEXT PRIMARY KEY,
  sql TEXT NOT NULL,
  deferred_at BIGINT NOT NULL
);
