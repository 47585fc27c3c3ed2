// Registry webhook policies: matching pushed images to policies and starting their rollouts.
export * from './image-match.js';
export * from './registry-payload.js';
export * from './webhook-guard.js';
export * from './policy.service.js';
