// Releases: several artifacts, per component and device match, rolled out as one.
export * from './release.service.js';
