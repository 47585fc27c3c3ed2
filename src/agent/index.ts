// The device side: the pulling agent (planner, executors, handlers, health, protocol client) and,
// in receiver.ts, the HTTP receiver for push mode. Imports only src/core.
export * from './agent.js';
export * from './byteranges.js';
export * from './chunk-cache.js';
export * from './delta-download.js';
export * from './client.js';
export * from './components.js';
export * from './device-agent.js';
export * from './executors.js';
export * from './handlers/handler.js';
export * from './handlers/file.handler.js';
export * from './handlers/script.handler.js';
export * from './handlers/container.handler.js';
export * from './health.js';
export * from './log.js';
export * from './partials.js';
export * from './planner.js';
export * from './state.js';
