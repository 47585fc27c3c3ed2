// Releases: several artifacts, per component and device match, rolled out as one (create, list, get, delete while unused).
// May import: core, store
export * from './release.service.js';
