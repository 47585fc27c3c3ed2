// The device registry: use cases over the store, bulk import and export.
// May import: core, store
export * from './device.service.js';
export * from './device-versions.js';
export * from './device-csv.js';
export * from './device-import.js';
export * from './row-limit.js';
export * from './device-export.js';
