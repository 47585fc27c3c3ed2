// Requests answered before the framework sees them. The HTTP server calls each fast route in turn;
// a route answers only what it can decide from memory alone, exactly as the framework would, and
// returns false for anything else, which then goes to Fastify untouched (nothing read, nothing sent).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { FastifyServerOptions } from 'fastify';

/** Answers the request and returns true, or returns false having touched nothing. */
export type FastRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The fast routes of a server, whether they are on (ORCHESTRATOR_FAST_POLL), and how many requests they answered. */
export interface FastRoutes {
  routes: readonly FastRoute[];
  enabled: boolean;
  answered: number;
}

/** A GET without a body or query string whose path starts with `prefix`: the only shape fast routes take. */
export function plainGet(req: IncomingMessage, prefix: string): boolean {
  return req.method === 'GET' && req.url !== undefined && req.url.startsWith(prefix) && req.url.indexOf('?') < 0 && req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
}

/** What Fastify resolved for its own server (with its defaults filled in). */
interface ServerTimeouts {
  http?: http.ServerOptions;
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number | null;
}

/**
 * Fastify's serverFactory: a node:http server whose request listener tries `routes` first. The
 * server gets the timeouts Fastify would give its own. Off, or once `open()` is false (the app is
 * closing: Fastify answers 503 then), everything goes to Fastify.
 */
export function fastServerFactory(fast: FastRoutes, open: () => boolean): NonNullable<FastifyServerOptions['serverFactory']> {
  return (handler, fastifyOptions) => {
    const options = fastifyOptions as ServerTimeouts;
    const server = http.createServer(options.http ?? {}, (req, res) => {
      if (fast.enabled && open()) {
        for (const route of fast.routes) {
          if (route(req, res)) {
            fast.answered++;
            return;
          }
        }
      }
      handler(req, res);
    });
    server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
    server.requestTimeout = options.requestTimeout ?? 0;
    server.setTimeout(options.connectionTimeout ?? 0);
    if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}
