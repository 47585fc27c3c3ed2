// The rollout engine: planning and executing releases (executor table, delivery runner, transitions), rollout and device-sync services for the API.
// May import: cluster, core, delivery, registry, store
export * from './device-sync.js';
export * from './device-sync.service.js';
export * from './engine.js';
export * from './engine-logger.js';
export * from './rollout.service.js';
export * from './rollout-rollback.js';
export * from './rollout-progress.js';
export * from './transitions.js';
export * from './create-engine.js';
