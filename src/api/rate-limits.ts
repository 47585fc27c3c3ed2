// Rate limits per client IP. Registry webhooks: every request counts (@fastify/rate-limit).
// Device enrollment and sign-in (whoami): only refused attempts (401/403/404) count, so a fleet
// of thousands enrolling from one gateway is not throttled while key or token guessing is.
// Registered before the routes so the onRoute hook sees them; the device poll path is untouched.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, onRequestHookHandler, onResponseHookHandler } from 'fastify';
import { sendError } from './errors.js';

/** Requests per minute per IP, by URL prefix (0: unlimited). */
export interface RateLimitTable {
  /** Every request counts. */
  all: Record<string, number>;
  /** Only refused attempts count. */
  failures: Record<string, number>;
}

const WINDOW_MS = 60_000;
const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const MAX_TRACKED = 100_000;

/** Fixed one-minute windows of refused attempts per IP. */
class FailureWindow {
  private readonly counts = new Map<string, { n: number; until: number }>();

  constructor(private readonly max: number) {}

  blocked(ip: string, now: number): number | null {
    const entry = this.counts.get(ip);
    if (!entry || entry.until <= now) return null;
    return entry.n >= this.max ? entry.until - now : null;
  }

  fail(ip: string, now: number): void {
    let entry = this.counts.get(ip);
    if (!entry || entry.until <= now) {
      if (this.counts.size >= MAX_TRACKED) this.counts.clear();
      entry = { n: 0, until: now + WINDOW_MS };
      this.counts.set(ip, entry);
    }
    entry.n++;
  }
}

export async function rateLimitRoutes(app: FastifyInstance, table: RateLimitTable, now: () => number = Date.now): Promise<void> {
  app.addHook('onRoute', (route) => {
    const all = Object.entries(table.all).find(([prefix]) => route.url.startsWith(prefix));
    if (all && all[1] > 0) route.config = { ...(route.config ?? {}), rateLimit: { max: all[1], timeWindow: WINDOW_MS } } as typeof route.config;
    const failures = Object.entries(table.failures).find(([prefix]) => route.url.startsWith(prefix));
    if (!failures || failures[1] <= 0) return;
    // Hooks on these routes only, so no other route pays for them.
    const window = new FailureWindow(failures[1]);
    const guard: onRequestHookHandler = async (request, reply) => {
      const wait = window.blocked(request.ip, now());
      if (wait === null) return;
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return sendError(reply, 429, 'rate_limited', `too many refused attempts from ${request.ip}; retry in ${Math.ceil(wait / 1000)} s`);
    };
    const count: onResponseHookHandler = async (request, reply) => {
      if ([401, 403, 404].includes(reply.statusCode)) window.fail(request.ip, now());
    };
    route.onRequest = [...asList(route.onRequest), guard];
    route.onResponse = [...asList(route.onResponse), count];
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
