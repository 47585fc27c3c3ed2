// Artifacts: content-addressed blob storage and the artifact service (upload, sign-check, list, delete).
export * from './blob-store.js';
export * from './artifact.service.js';
