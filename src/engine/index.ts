// The rollout engine's public face: services for the API, the executor for the composition root.
export * from './device-sync.js';
export * from './device-sync.service.js';
export * from './engine.js';
export * from './engine-logger.js';
export * from './rollout.service.js';
export * from './rollout-rollback.js';
export * from './rollout-progress.js';
export * from './transitions.js';
export * from './create-engine.js';
