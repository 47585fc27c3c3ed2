// Rate limits per client address (request.ip: the peer, or the X-Forwarded-For client when the
// peer is a trusted proxy). Registry webhooks: every request counts (@fastify/rate-limit). Failed
// authentication (a 401 that is a refused credential) counts on every route family, each family
// with its own budget per address, so devices failing behind one NAT do not lock operators out;
// an address over its family's budget gets 429 for the rest of the minute, before its credentials
// are looked at. The checks are one map lookup on the request path; counting happens where the
// 401 is made (the error handler, the WebSocket upgrade).
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';

/** Route families with separate failure budgets. */
export type AuthFamily = 'operator' | 'ws' | 'enrollment' | 'webhook' | 'device' | 'ddi' | 'mender';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's failure budget (set for every route by buildServer from its URL). */
    authFamily?: AuthFamily;
  }
}

/** The family of a route template. */
export function authFamilyOf(url: string): AuthFamily {
  if (url.startsWith('/api/v1/webhooks/')) return 'webhook';
  if (url === '/api/v1/device/enroll') return 'enrollment';
  if (url.startsWith('/api/v1/device/')) return 'device';
  if (url.startsWith('/api/devices/')) return 'mender';
  if (url.startsWith('/:tenant/controller/')) return 'ddi';
  if (url === '/ws') return 'ws';
  return 'operator';
}

/** Failures per minute per address, by family (0: unlimited). */
export type AuthFailureLimits = Record<AuthFamily, number>;

/** Limits from the two settings: operator-side families and device-side families. */
export function authFailureLimits(operatorSide: number, deviceSide: number): AuthFailureLimits {
  return { operator: operatorSide, ws: operatorSide, enrollment: operatorSide, webhook: operatorSide, device: deviceSide, ddi: deviceSide, mender: deviceSide };
}

const WINDOW_MS = 60_000;
const MAX_TRACKED = 100_000;

/** Fixed one-minute windows of failed authentications per family and address. */
export class AuthFailureLimiter {
  private readonly windows = new Map<AuthFamily, Map<string, { n: number; until: number }>>();

  constructor(
    private readonly limits: AuthFailureLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `ip` may try again on `family`, or null when it may now. */
  blocked(family: AuthFamily, ip: string): number | null {
    const counts = this.windows.get(family);
    if (!counts || counts.size === 0) return null;
    const entry = counts.get(ip);
    const now = this.now();
    if (!entry || entry.until <= now) return null;
    return entry.n >= this.limits[family] ? entry.until - now : null;
  }

  /** Counts one failed authentication. */
  fail(family: AuthFamily, ip: string): void {
    if (!(this.limits[family] > 0)) return;
    let counts = this.windows.get(family);
    if (!counts) this.windows.set(family, (counts = new Map()));
    const now = this.now();
    let entry = counts.get(ip);
    if (!entry || entry.until <= now) {
      // A flood of addresses cannot grow this without bound; expired windows go first.
      if (counts.size >= MAX_TRACKED) for (const [key, value] of counts) if (value.until <= now || counts.size >= MAX_TRACKED) counts.delete(key);
      entry = { n: 0, until: now + WINDOW_MS };
      counts.set(ip, entry);
    }
    entry.n++;
  }

  /** The answer for a blocked address. */
  static message(ip: string, waitMs: number): string {
    return `too many failed authentications from ${ip}; retry in ${Math.ceil(waitMs / 1000)} s`;
  }
}

/** Every request counts on these URL prefixes: requests per minute per address (0: unlimited). */
export async function rateLimitRoutes(app: FastifyInstance, all: Record<string, number>): Promise<void> {
  app.addHook('onRoute', (route) => {
    const limit = Object.entries(all).find(([prefix]) => route.url.startsWith(prefix));
    if (limit && limit[1] > 0) route.config = { ...(route.config ?? {}), rateLimit: { max: limit[1], timeWindow: WINDOW_MS } } as typeof route.config;
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'rate_limited',
      error: 'Too Many Requests',
      message: `too many requests: at most ${context.max} per ${context.after}; retry in ${Math.ceil(context.ttl / 1000)} s`,
    }),
  });
}
