// Protocol adapters for devices that speak other update clients' protocols: hawkBit DDI (SWUpdate), Mender, the MQTT wake-up, and the artifact inspection they share.
// May import: api, artifacts, core, engine, http, registry, store
export * from './artifact-files.js';
export * from './artifact-inspector.js';
export * from './hawkbit/ddi-poll.fast.js';
export * from './hawkbit/hawkbit.routes.js';
export * from './hawkbit/hawkbit.service.js';
export * from './mender/mender-auth.service.js';
export * from './mender/mender-deployments.service.js';
export * from './mender/mender.routes.js';
export * from './mqtt/wakeup.js';
export * from './protocol-admin.routes.js';
