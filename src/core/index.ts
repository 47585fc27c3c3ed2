// The pure domain: types and rules with no I/O. Everything else depends on this, never the reverse.
export * from './errors.js';
export * from './clock.js';
export * from './device.js';
export * from './device-filter.js';
export * from './version.js';
export * from './timezone.js';
export * from './token.js';
export * from './event.js';
export * from './artifact.js';
export * from './execution.js';
export * from './target-state.js';
export * from './rollout.js';
export * from './window.js';
export * from './signature.js';
