// Attack: learn what a route takes without credentials (schema details in a 400), or make the
// server parse attacker bodies before it knows who is asking. Every route of the running server
// (enumerated from Fastify, so a route added later is covered or this fails) answers an
// anonymous request with 401 before it looks at the body or query: {}, broken JSON, wrong types.
// Only the routes meant for everyone are exempt, each listed with its reason. A token without the
// role gets 403, never a 400 either.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';

/** Routes anyone may call, and why. */
const OPEN: { test: (method: string, url: string) => boolean; why: string }[] = [
  { test: (m, u) => m === 'GET' && ['/healthz', '/readyz'].includes(u), why: 'health checks for load balancers' },
  { test: (m, u) => m === 'GET' && u === '/metrics', why: 'Prometheus scrapes without a token (no secrets in it)' },
  { test: (m, u) => m === 'GET' && (u === '/openapi.json' || u === '/docs' || u.startsWith('/docs/')), why: 'the API description' },
  { test: (m, u) => m === 'GET' && (u === '/' || u === '/favicon.ico' || u.startsWith('/ui/')), why: 'the dashboard\'s static files; its data comes from the API with a token' },
  { test: (m, u) => m === 'GET' && u === '/ws', why: 'answers 426; the upgrade authenticates (auth-rate-limit.test.ts)' },
];

/** Credentials that travel in the body: a syntax error is found before them, a wrong value is not. */
const BODY_CREDENTIAL = new Set(['POST /api/v1/device/enroll']);

const fill = (url: string) => url.replace(/:(\w+)/g, (_m, name: string) => (name === 'tenant' ? 'DEFAULT' : name === 'actionId' ? '1' : 'x1')).replace(/\*$/, 'x');

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`authentication before validation on every route (${db})`, () => {
    let t: TestApp;
    let routes: { method: string; url: string }[];
    beforeAll(async () => {
      // The failure limits would turn these hundreds of 401s into 429s (auth-rate-limit.test.ts).
      t = await startTestApp({ db, config: { authRateLimitPerMinute: 0, deviceAuthRateLimitPerMinute: 0, webhookRateLimitPerMinute: 0, webhookSecret: 'a-secret-of-enough-length' } });
      const seen = new Set<string>();
      routes = t.app.server.registeredRoutes.filter((r) => ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && !seen.has(`${r.method} ${r.url}`) && seen.add(`${r.method} ${r.url}`));
    });
    afterAll(() => t?.close());

    it('finds the route families it must cover', () => {
      const urls = routes.map((r) => r.url);
      for (const family of ['/api/v1/tokens', '/api/v1/device/:id/state', '/api/v1/device/enroll', '/:tenant/controller/v1/:controllerId', '/api/devices/v2/deployments/device/deployments/next', '/api/v1/webhooks/docker-registry', '/api/v1/groups/:id', '/api/v1/devices/bulk']) expect(urls).toContain(family);
      expect(routes.length).toBeGreaterThan(50);
    });

    it('answers every anonymous request 401 without a word about its input', async () => {
      const wrong: string[] = [];
      for (const route of routes) {
        if (OPEN.some((o) => o.test(route.method, route.url))) continue;
        const key = `${route.method} ${route.url}`;
        const path = `${fill(route.url)}?limit=not-a-number&cursor=%00&unknown=1`;
        const bodies: (string | undefined)[] = route.method === 'GET' || route.method === 'DELETE' ? [undefined] : ['{}', '{"role": 5, "id": [], "x":', '[1,2,3]'];
        for (const raw of bodies) {
          if (raw?.endsWith(':') && BODY_CREDENTIAL.has(key)) continue; // a body credential needs parsable JSON (below)
          const response = await t.request(route.method, path, { token: null, ...(raw === undefined ? {} : { raw, headers: { 'content-type': 'application/json' } }) });
          const leaks = /validation_failed|must be|must have|is not a known field|required property|body\.|querystring\./.test(response.text);
          if (response.status !== 401 || leaks) wrong.push(`${key} ${raw ?? ''} -> ${response.status} ${response.text.slice(0, 160)}`);
        }
      }
      expect(wrong).toEqual([]);
    });

    it('answers a body credential with broken JSON by the syntax error alone', async () => {
      const response = await t.request('POST', '/api/v1/device/enroll', { token: null, raw: '{"enrollmentKey": "x", "id":', headers: { 'content-type': 'application/json' } });
      expect(response.status).toBe(400);
      expect(response.text).not.toMatch(/enrollmentKey|must|required/);
    });

    it('answers POST /api/v1/tokens {} with 401 for no token and a wrong token, 403 for a viewer and an operator', async () => {
      for (const token of [null, 'uo_op_guess']) {
        const response = await t.request('POST', '/api/v1/tokens', { token, body: {} });
        expect(response.status).toBe(401);
        expect(response.json()).toMatchObject({ error: { code: 'unauthorized', details: [] } });
      }
      for (const token of [t.tokens.viewer, t.tokens.operator]) {
        const response = await t.request('POST', '/api/v1/tokens', { token, body: { role: 'root', extra: true } });
        expect(response.status).toBe(403);
        expect(response.text).not.toMatch(/role must|extra/);
      }
      // An admin is told what is wrong.
      const admin = await t.request('POST', '/api/v1/tokens', { body: { role: 'root' } });
      expect(admin.status).toBe(400);
    });

    it('answers a device token on the operator API with 403 before validation', async () => {
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'dev-1', mode: 'pull' } })).status).toBe(201);
      const { token } = (await t.request('POST', '/api/v1/devices/dev-1/token', { token: t.tokens.operator })).json() as { token: string };
      const response = await t.request('POST', '/api/v1/rollouts', { token, body: { strategy: 'sideways' } });
      expect(response.status).toBe(403);
      expect(response.text).not.toMatch(/strategy/);
    });
  });
}
