// Cross-server traffic: one channel (in process for SQLite, LISTEN/NOTIFY for PostgreSQL) carrying target changes, token revocations, new events and cache invalidations, and the event feed over it.
// May import: core, store
export * from './cache-sync.js';
export * from './device-topic.js';
export * from './channel.js';
export * from './event-feed.js';
export * from './in-process-channel.js';
export * from './open-channel.js';
export * from './postgres-channel.js';
export * from './target-changes.js';
export * from './token-revocations.js';
