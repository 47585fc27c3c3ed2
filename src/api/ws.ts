// GET /ws: the live event stream over WebSocket (the `ws` package on Fastify's own HTTP server).
// Authenticate with `Authorization: Bearer`, `?token=`, or (browsers) a first message
// {"type":"auth","token"}; any operator role may watch. Then {"type":"subscribe", rolloutId?,
// deviceId?, types?, lastEventId?} (also accepted as query parameters) chooses what to receive;
// with lastEventId the server replays what the client missed from the store, then goes live.
// Failed authentications count against the client's address (family 'ws', src/api/rate-limits.ts);
// an address over its budget is refused with 429 before its token is looked at.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { forwardedClient, type CidrList, type Principal } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { Authenticator } from './auth.js';
import type { EventFeed } from '../cluster/event-feed.js';
import type { Metrics } from './metrics.js';
import { AuthFailureLimiter } from './rate-limits.js';
import { DEFAULT_LIMITS, WsSession, type EventFilter, type FlushScheduler, type SessionLimits } from './ws-session.js';

export interface WsDeps {
  auth: Authenticator;
  feed: EventFeed;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  limits?: Partial<SessionLimits>;
  /** When each client's queued events go out (default: `limits.flushMs` later, by timer). */
  scheduleFlush?: FlushScheduler;
  /** How long an unauthenticated socket may wait for its auth message. */
  authTimeoutMs?: number;
  limiter?: AuthFailureLimiter | null;
  /** Peers whose X-Forwarded-For names the client (as for every other route). */
  trustedProxies?: CidrList;
}

const MAX_MESSAGE_BYTES = 16 * 1024;

function bearerFrom(request: IncomingMessage, url: URL): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1] ?? url.searchParams.get('token');
}

/** Reads a subscription from a message or query parameters; throws a message for the client. */
export function parseSubscription(input: Record<string, unknown>): { filter: EventFilter; lastEventId: number | null } {
  const text = (key: string): string | undefined => {
    const value = input[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' || value.length > 256) throw new Error(`${key} must be a string of at most 256 characters`);
    return value;
  };
  let types: string[] | undefined;
  const rawTypes = input.types;
  if (typeof rawTypes === 'string' && rawTypes !== '') types = rawTypes.split(',').map((t) => t.trim()).filter(Boolean);
  else if (Array.isArray(rawTypes) && rawTypes.every((t) => typeof t === 'string')) types = rawTypes as string[];
  else if (rawTypes !== undefined && rawTypes !== null && rawTypes !== '') throw new Error('types must be a list of event types or prefixes ("execution.*")');
  if (types && types.length > 50) throw new Error('at most 50 types');
  const rawLast = input.lastEventId;
  let lastEventId: number | null = null;
  if (rawLast !== undefined && rawLast !== null && rawLast !== '') {
    lastEventId = Number(rawLast);
    if (!Number.isSafeInteger(lastEventId) || lastEventId < 0) throw new Error('lastEventId must be a non-negative integer (the id of the last event you received)');
  }
  return { filter: { rolloutId: text('rolloutId'), deviceId: text('deviceId'), types }, lastEventId };
}

const REFUSALS: Record<number, [string, string]> = { 401: ['Unauthorized', 'unauthorized'], 403: ['Forbidden', 'forbidden'], 429: ['Too Many Requests', 'rate_limited'] };

function refuse(socket: Duplex, status: 401 | 403 | 429, message: string, headers = ''): void {
  const [reason, code] = REFUSALS[status]!;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n${headers}Connection: close\r\n\r\n${JSON.stringify({ error: { code, message, details: [] } })}`);
}

export function wsRoutes(app: FastifyInstance, deps: WsDeps): void {
  const limits: SessionLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const sessions = new Set<WsSession>();
  const unsubscribe = deps.feed.subscribe((events) => {
    for (const session of sessions) session.offer(events);
  });

  const operatorOf = async (token: string | null): Promise<Principal | null> => {
    if (!token) return null;
    const principal = await deps.auth.resolve(token);
    return principal?.kind === 'operator' ? principal : null;
  };

  const limiter = deps.limiter ?? null;
  const clientOf = (request: IncomingMessage) => {
    const peer = request.socket.remoteAddress ?? '';
    return deps.trustedProxies && !deps.trustedProxies.empty ? forwardedClient(peer, request.headers['x-forwarded-for'], deps.trustedProxies) : peer;
  };

  const start = (socket: WebSocket, url: URL, principal: Principal | null, client: string) => {
    const session = new WsSession(socket, deps.store.events, limits, deps.scheduleFlush);
    session.onGap = () => deps.metrics.wsGaps.inc();
    deps.metrics.wsClients.inc();
    let authed = false;
    let role = 'viewer';
    const authTimer = setTimeout(() => socket.close(4401, 'send {"type":"auth","token":"..."} first'), deps.authTimeoutMs ?? 10_000);

    const begin = async (who: Principal) => {
      authed = true;
      clearTimeout(authTimer);
      sessions.add(session);
      role = who.kind === 'operator' ? who.role : 'device';
      const lastEventId = await deps.store.events.lastId();
      await session.send({ type: 'hello', role, lastEventId });
      try {
        const initial = parseSubscription(Object.fromEntries(url.searchParams));
        // Without a resume point, "live" starts exactly at the id announced in hello.
        await session.subscribe(initial.filter, initial.lastEventId ?? lastEventId);
      } catch (error) {
        await session.send({ type: 'error', code: 'bad_subscription', message: (error as Error).message });
        await session.subscribe({}, lastEventId);
      }
    };

    socket.on('message', (data: RawData) => {
      void (async () => {
        let message: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse(data.toString());
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          message = parsed as Record<string, unknown>;
        } catch {
          return session.send({ type: 'error', code: 'bad_message', message: 'messages are JSON objects with a "type": auth, subscribe or ping' });
        }
        if (message.type === 'auth') {
          if (authed) return;
          const wait = limiter?.blocked('ws', client) ?? null;
          if (wait !== null) return socket.close(4429, AuthFailureLimiter.message(client, wait).slice(0, 120));
          const who = await operatorOf(typeof message.token === 'string' ? message.token : null);
          if (!who) {
            limiter?.fail('ws', client);
            return socket.close(4401, 'the token is unknown, revoked, expired or not an operator token');
          }
          return begin(who);
        }
        if (!authed) return socket.close(4401, 'authenticate first: {"type":"auth","token":"..."}');
        if (message.type === 'subscribe') {
          try {
            const { filter, lastEventId } = parseSubscription(message);
            return session.subscribe(filter, lastEventId);
          } catch (error) {
            return session.send({ type: 'error', code: 'bad_subscription', message: (error as Error).message });
          }
        }
        if (message.type === 'ping') return session.send({ type: 'hello', role, lastEventId: await deps.store.events.lastId() });
        return session.send({ type: 'error', code: 'bad_message', message: `unknown message type '${String(message.type)}'; use auth, subscribe or ping` });
      })().catch((error: unknown) => deps.logger.warn({ err: error }, 'WebSocket message failed'));
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      session.close();
      if (sessions.delete(session) || !authed) deps.metrics.wsClients.dec();
    });
    socket.on('error', () => socket.terminate());
    if (principal) void begin(principal).catch((error: unknown) => deps.logger.warn({ err: error }, 'WebSocket start failed'));
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') return refuse(socket, 403, 'WebSocket connections go to /ws');
    const client = clientOf(request);
    const wait = limiter?.blocked('ws', client) ?? null;
    if (wait !== null) return refuse(socket, 429, AuthFailureLimiter.message(client, wait), `Retry-After: ${Math.ceil(wait / 1000)}\r\n`);
    const token = bearerFrom(request, url);
    void operatorOf(token).then(
      (principal) => {
        if (token && !principal) {
          limiter?.fail('ws', client);
          return refuse(socket, 401, 'the bearer token is unknown, revoked, expired or not an operator token');
        }
        wss.handleUpgrade(request, socket, head, (ws) => start(ws, url, principal, client));
      },
      () => refuse(socket, 401, 'cannot check the token now'),
    );
  };
  app.server.on('upgrade', onUpgrade);

  app.get('/ws', {
    config: { auth: 'public' },
    schema: { tags: ['events'], summary: 'Live events over WebSocket (upgrade required); see the module doc of src/api/ws.ts for the protocol' },
    handler: async (_request, reply) => reply.code(426).header('upgrade', 'websocket').send({ error: { code: 'upgrade_required', message: 'connect with a WebSocket client', details: [] } }),
  });

  app.addHook('preClose', async () => {
    app.server.off('upgrade', onUpgrade);
    unsubscribe();
    for (const client of wss.clients) client.terminate();
    wss.close();
  });
}
