// Attack: an anonymous registry payload starts a rollout through a matching policy. With
// ORCHESTRATOR_WEBHOOK_SECRET unset every registry webhook is refused (403, naming the setting) and
// nothing is recorded or started; with it set, a missing or wrong secret or signature is a 401,
// checked before anything else about the request (a 600-character secret is not a 400).
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';

/** GitHub's X-Hub-Signature-256: HMAC-SHA256 of the raw body with the webhook secret. */
const signHub = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const SECRET = 'webhook-secret-0123456789abcdef';
const dockerHub = (tag: string) => JSON.stringify({ push_data: { tag, pusher: 'mallory', pushed_at: Date.now() }, repository: { repo_name: 'acme/app' } });
const ghcrBody = (tag: string) =>
  JSON.stringify({ action: 'published', package: { name: 'app', package_type: 'CONTAINER', owner: { login: 'acme' }, package_version: { version: `sha256:${'b'.repeat(64)}`, container_metadata: { tag: { name: tag, digest: `sha256:${'b'.repeat(64)}` } } } } });

async function setUp(t: TestApp): Promise<void> {
  expect((await t.request('POST', '/api/v1/devices', { body: { id: 'kiosk-1', mode: 'pull' } })).status).toBe(201);
  expect((await t.request('POST', '/api/v1/policies', { body: { name: 'everything-acme', image: '**', template: { strategy: 'immediate' } } })).status).toBe(201);
}

const post = (t: TestApp, path: string, raw: string, headers: Record<string, string> = {}) => t.request('POST', path, { token: null, raw, headers: { 'content-type': 'application/json', ...headers } });
const count = async (t: TestApp, path: string) => ((await t.request('GET', path)).json() as { items: unknown[] }).items.length;

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`registry webhooks without a secret are refused (${db})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ db });
      await setUp(t);
    });
    afterAll(() => t?.close());

    it('refuses an anonymous Docker Hub push on both URLs with 403 naming the setting, and starts nothing', async () => {
      for (const path of ['/api/v1/webhooks/docker-registry', '/api/v1/webhooks/docker-registry/guess', '/api/v1/webhooks/docker-registry?secret=guess']) {
        const response = await post(t, path, dockerHub('1.0'));
        expect(response.status).toBe(403);
        expect(response.json()).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining('ORCHESTRATOR_WEBHOOK_SECRET') } });
      }
      expect(await count(t, '/api/v1/rollouts')).toBe(0);
      expect(await count(t, '/api/v1/artifacts')).toBe(0);
    });

    it('refuses a GHCR push signed with an empty or guessed key the same way', async () => {
      for (const key of ['', 'secret', SECRET]) {
        const raw = ghcrBody('v1');
        const response = await post(t, '/api/v1/webhooks/docker-registry', raw, { 'x-github-event': 'package', 'x-hub-signature-256': signHub(key, raw) });
        expect(response.status).toBe(403);
      }
      expect(await count(t, '/api/v1/rollouts')).toBe(0);
    });

    it('keeps serving and records the refusals for the operator', async () => {
      expect((await t.request('GET', '/healthz', { token: null })).status).toBe(200);
      const events = (await t.request('GET', '/api/v1/events?type=webhook.rejected')).json() as { items: { data: { reason: string } }[] };
      expect(events.items.length).toBeGreaterThanOrEqual(6);
      expect(events.items[0]!.data.reason).toMatch(/ORCHESTRATOR_WEBHOOK_SECRET is not set/);
      expect((await t.request('GET', '/api/v1/events?type=webhook.received')).json()).toMatchObject({ items: [] });
    });
  });

  describe.skipIf(skip !== null)(`registry webhooks with a secret check it first (${db})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ db, config: { webhookSecret: SECRET } });
      await setUp(t);
    });
    afterAll(() => t?.close());

    it('answers 401 for a missing, wrong or oversized Docker Hub secret before any validation, even a ?secret= longer than the 512 characters its schema allows', async () => {
      for (const path of ['/api/v1/webhooks/docker-registry', '/api/v1/webhooks/docker-registry/wrong', `/api/v1/webhooks/docker-registry/${'x'.repeat(490)}`, `/api/v1/webhooks/docker-registry?secret=${'y'.repeat(600)}`, `/api/v1/webhooks/docker-registry/${SECRET}x`]) {
        const response = await post(t, path, '{"not": "a payload"');
        expect(response.status, path).toBe(401);
        expect(response.text).not.toMatch(/push_data|repository|JSON/);
      }
      expect(await count(t, '/api/v1/rollouts')).toBe(0);
    });

    it('answers 401 for a GHCR push without a signature, with a malformed one, or signed with another key', async () => {
      const raw = ghcrBody('v1');
      for (const signature of [undefined, 'sha256=zz', signHub('other-secret', raw), signHub(SECRET, raw + ' ')]) {
        const response = await post(t, '/api/v1/webhooks/docker-registry', raw, { 'x-github-event': 'package', ...(signature ? { 'x-hub-signature-256': signature } : {}) });
        expect(response.status).toBe(401);
      }
      expect(await count(t, '/api/v1/rollouts')).toBe(0);
    });

    it('accepts the registry that knows the secret: a rollout starts', async () => {
      const hub = await post(t, `/api/v1/webhooks/docker-registry/${SECRET}`, dockerHub('2.0'));
      expect(hub.status).toBe(202);
      const raw = ghcrBody('v2');
      const ghcr = await post(t, '/api/v1/webhooks/docker-registry', raw, { 'x-github-event': 'package', 'x-hub-signature-256': signHub(SECRET, raw) });
      expect(ghcr.status).toBe(202);
      expect(await count(t, '/api/v1/rollouts')).toBe(2);
    });
  });
}
