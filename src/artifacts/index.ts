// Artifacts: content-addressed blob storage and the artifact service (upload, sign-check, chunk index, list, delete).
// May import: core, store
export * from './blob-store.js';
export * from './artifact.service.js';
