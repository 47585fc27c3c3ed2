// Builds the Fastify server: error mapping, auth, OpenAPI, and every capability's routes.
// Capabilities register through `RouteModule`s handed in by the composition root (src/app.ts).
import type { IncomingMessage } from 'node:http';
import { AjvCompiler } from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest, type preParsingAsyncHookHandler } from 'fastify';
import { AuthError, type CidrList } from '../core/index.js';
import { authHook, type Authenticator, type RouteCredentials } from './auth.js';
import { requestIds, trustOf } from './client-address.js';
import { clientErrorHandler, errorHandler, notFoundHandler } from './errors.js';
import { fastServerFactory, type FastRoutes } from './fast-routes.js';
import { finiteNumbersOnly } from './finite-numbers.js';
import { refuseJsonProblems } from './json-problems.js';
import { authFamilyOf, type AuthFailureLimiter } from './rate-limits.js';
import { ErrorSchema } from './schemas.js';

export type RouteModule = (app: FastifyInstance) => Promise<void> | void;

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as registered (method, full URL): for tools that walk the API, such as the fuzz suite. */
    registeredRoutes: { method: string; url: string }[];
  }
}

export interface ServerOptions {
  auth: Authenticator;
  bodyLimit: number;
  logger: FastifyBaseLogger;
  routes: RouteModule[];
  version: string;
  /** Counts failed authentications per address and route family; null: unlimited. */
  limiter: AuthFailureLimiter | null;
  /** Peers whose X-Forwarded-For and X-Forwarded-Proto are believed; empty: none. */
  trustedProxies: CidrList;
  /** Requests answered before Fastify (the device polls), tried in order; the rest go to Fastify. */
  fastRoutes?: FastRoutes;
  /** Request ids for requests without X-Request-Id; share it with the fast routes so ids stay unique. */
  requestId?: (req: IncomingMessage) => string;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  let open = true;
  const app = Fastify({
    ...(options.fastRoutes ? { serverFactory: fastServerFactory(options.fastRoutes, () => open) } : {}),
    // Closing ends every connection, including downloads a device left hanging (it resumes by Range).
    forceCloseConnections: true,
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    // Per-request log lines would dominate the device poll path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // X-Forwarded-* only from the proxies named in ORCHESTRATOR_TRUSTED_PROXIES: from anyone else
    // the header would let a client pick the address its rate limits see.
    // The fast poll paths read the client's address by the same rule (client-address.ts).
    trustProxy: options.trustedProxies.empty ? false : trustOf(options.trustedProxies),
    requestIdHeader: 'x-request-id',
    genReqId: options.requestId ?? requestIds(),
    routerOptions: { maxParamLength: 500 },
    // Router errors (a broken %-escape, a path parameter over maxParamLength) get our error shape too.
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
    clientErrorHandler,
  });
  // Query strings and params are text, so their schemas coerce ("limit=10" -> 10); JSON bodies
  // are typed already and must not be coerced (an id of 42 is a mistake, not "42").
  const compilers = AjvCompiler();
  const ajvOptions = { removeAdditional: false, allErrors: true, useDefaults: true } as const;
  const strictBodies = compilers({}, { customOptions: { ...ajvOptions, coerceTypes: false } });
  const coercing = compilers({}, { customOptions: { ...ajvOptions, coerceTypes: 'array' } });
  app.setValidatorCompiler((route) => finiteNumbersOnly(route.httpPart === 'body' ? strictBodies(route) : coercing(route)));
  app.decorateRequest('principal', null);
  const registered: { method: string; url: string }[] = [];
  app.decorate('registeredRoutes', registered);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registered.push({ method, url: route.url });
    route.config = { ...(route.config ?? {}), authFamily: authFamilyOf(route.url) } as typeof route.config;
    // A public route's own credentials in headers or the URL: checked before the body is read,
    // after every onRequest hook (the failure and request-rate limits); only routes that have them pay.
    const credentials = (route.config as { credentials?: RouteCredentials }).credentials;
    if (credentials?.in === 'headers') {
      const check: preParsingAsyncHookHandler = async (request, _reply, payload) => {
        await credentials.check(request);
        return payload;
      };
      route.preParsing = [...(route.preParsing === undefined ? [] : [route.preParsing].flat()), check];
    }
  });
  // While closing, Fastify answers 503 with Connection: close; the fast routes must not keep answering.
  app.addHook('preClose', (done) => {
    open = false;
    done();
  });
  const limiter = options.limiter;
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    // Every refused credential becomes a 401 here: count it against the caller's address.
    if (limiter && error instanceof AuthError && error.countsAsFailure) {
      const family = request.routeOptions.config?.authFamily;
      if (family) limiter.fail(family, request.ip);
    }
    return errorHandler(error, request, reply);
  });
  app.setNotFoundHandler(notFoundHandler);
  // Hooks that run on every request, the device poll included, take callbacks: no promise each.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  app.addHook('onRequest', authHook(options.auth, limiter));
  // Streamed bodies (imports, artifacts) reach their handler as the raw request stream.
  for (const type of ['text/csv', 'application/x-ndjson', 'application/jsonl', 'application/octet-stream']) {
    app.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
  }
  app.addHook('preValidation', (request, _reply, done) => {
    // A credential in the body (an enrollment key) is checked before anything about the body is.
    const credentials = request.routeOptions.config?.credentials;
    if (credentials?.in === 'body') credentials.check(request).then(() => checkBody(request, done), (error: Error) => done(error));
    else checkBody(request, done);
  });
  app.addSchema(ErrorSchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'update-orchestrator', version: options.version, description: 'Roll software out to fleets of often-offline devices.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());

  for (const routes of options.routes) await routes(app);
  return app;
}

/** The checks every body gets before its schema: the right kind of body, no U+0000, not too deep. */
function checkBody(request: FastifyRequest, done: (error?: Error) => void): void {
  try {
    refuseUnexpectedStream(request);
    refuseJsonProblems(request);
    done();
  } catch (error) {
    done(error as Error);
  }
}

/**
 * Only routes that declare `consumes` take the streamed content types; any other route expects
 * parsed JSON and would get a stream object instead (the fuzz suite found 500s that way).
 */
function refuseUnexpectedStream(request: FastifyRequest): void {
  const body = request.body as { pipe?: unknown } | null | undefined;
  if (body && typeof body.pipe === 'function' && !(request.routeOptions.schema as { consumes?: string[] } | undefined)?.consumes) {
    throw Object.assign(new Error(`this endpoint takes JSON (Content-Type: application/json), not ${request.headers['content-type'] ?? 'an unnamed type'}`), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
  }
}
