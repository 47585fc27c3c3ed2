// Rate limits per client IP on the paths worth guessing at: registry webhooks, device enrollment
// and sign-in (whoami). Registered before the routes so its onRoute hook sees them; other routes
// are not limited (the device poll path must stay cheap).
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';

/** Requests per minute per IP for routes whose URL starts with each prefix (0: unlimited). */
export type RateLimitTable = Record<string, number>;

export async function rateLimitRoutes(app: FastifyInstance, table: RateLimitTable): Promise<void> {
  app.addHook('onRoute', (route) => {
    const entry = Object.entries(table).find(([prefix]) => route.url.startsWith(prefix));
    if (!entry || entry[1] <= 0) return;
    route.config = { ...(route.config ?? {}), rateLimit: { max: entry[1], timeWindow: 60_000 } } as typeof route.config;
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
