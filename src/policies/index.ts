// Registry webhook policies: matching pushed images to policies and starting their rollouts.
// May import: core, store
export * from './image-match.js';
export * from './registry-payload.js';
export * from './webhook-guard.js';
export * from './policy.service.js';
