// Server-side services for pull devices: identity (tokens, enrollment), presence, the in-memory target-state cache behind the poll path, signed downloads, bandwidth caps.
// May import: cluster, core, engine, http, store
export * from './decommission.service.js';
export * from './enrollment.service.js';
export * from './presence.service.js';
export * from './target-cache.js';
export * from './download-signer.js';
export * from './bandwidth-limiter.js';
