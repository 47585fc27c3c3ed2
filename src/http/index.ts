// HTTP pieces shared by the server's routes, the poll fast paths and the protocol adapters.
// May import node built-ins only: it knows nothing of the domain, the store or Fastify.
export * from './etag.js';
