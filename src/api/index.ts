// The HTTP server: Fastify routes of the operator API and the device API, authentication, errors, rate limits, metrics, the live WebSocket feed and the poll fast path.
// May import: artifacts, cluster, core, engine, http, notify, policies, pull, registry, releases, store, tokens
export * from './artifact.routes.js';
export * from './auth.js';
export * from './client-address.js';
export * from './device-api.routes.js';
export * from './device-poll.fast.js';
export * from './device.routes.js';
export * from './enrollment.routes.js';
export * from './errors.js';
export * from './event.routes.js';
export * from './execution.routes.js';
export * from './fast-routes.js';
export * from './health.routes.js';
export * from './listen.js';
export * from './metrics.js';
export * from './policy.routes.js';
export * from './rate-limits.js';
export * from './release.routes.js';
export * from './rollout.routes.js';
export * from './schemas.js';
export * from './server.js';
export * from './subscription.routes.js';
export * from './token.routes.js';
export * from './web.routes.js';
export * from './webhook.routes.js';
export * from './ws.js';
