// Attack: start a rollout of someone else's image through a policy, or start one again and again.
// A glob without a registry host matches Docker Hub images only (`acme/*` never fires for
// ghcr.io/acme/app or evil.example.com/acme/app, and a Docker Hub payload cannot name another
// registry); a push of an image a policy already rolled out (same digest, or same tag when the
// registry sends no digest) does not start a second rollout, whatever else the payload changes.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';

/** GitHub's X-Hub-Signature-256: HMAC-SHA256 of the raw body with the webhook secret. */
const signHub = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const SECRET = 'policy-match-webhook-secret';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`policies match what they say, once per image (${db})`, () => {
    let t: TestApp;
    const hub = (repo: string, tag: string, pushedAt = Date.now()) =>
      t.request('POST', `/api/v1/webhooks/docker-registry/${SECRET}`, { token: null, body: { push_data: { tag, pusher: 'ci', pushed_at: pushedAt }, repository: { repo_name: repo } } });
    const ghcr = (owner: string, name: string, tag: string, sha: string, delivery = `d-${Math.random()}`) => {
      const raw = JSON.stringify({ action: 'published', package: { name, package_type: 'CONTAINER', owner: { login: owner }, package_version: { version: sha, container_metadata: { tag: { name: tag, digest: sha } } } }, delivery });
      return t.request('POST', '/api/v1/webhooks/docker-registry', { token: null, raw, headers: { 'content-type': 'application/json', 'x-github-event': 'package', 'x-github-delivery': delivery, 'x-hub-signature-256': signHub(SECRET, raw) } });
    };
    const rollouts = async () => ((await t.request('GET', '/api/v1/rollouts')).json() as { items: { id: string; name: string }[] }).items;
    type Answer = { triggered: { policyName: string; rolloutId: string | null; existingRolloutId: string | null; error: string | null }[]; message: string };

    beforeAll(async () => {
      t = await startTestApp({ db, config: { webhookSecret: SECRET } });
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'pos-1', mode: 'pull' } })).status).toBe(201);
      expect((await t.request('POST', '/api/v1/policies', { body: { name: 'hub-acme', image: 'acme/*', template: { strategy: 'immediate' } } })).status).toBe(201);
      expect((await t.request('POST', '/api/v1/policies', { body: { name: 'ghcr-acme', image: 'ghcr.io/acme/*', template: { strategy: 'immediate' } } })).status).toBe(201);
    });
    afterAll(() => t?.close());

    it('a glob without a host matches Docker Hub only', async () => {
      const test = async (image: string) => ((await t.request('POST', '/api/v1/policies/test', { body: { image } })).json() as { matches: { name: string }[] }).matches.map((m) => m.name);
      expect(await test('acme/app:1.0')).toEqual(['hub-acme']);
      expect(await test('docker.io/acme/app:1.0')).toEqual(['hub-acme']);
      expect(await test('ghcr.io/acme/app:1.0')).toEqual(['ghcr-acme']);
      expect(await test('evil.example.com/acme/app:1.0')).toEqual([]);
      expect(await test('registry.example.com:5000/acme/app:1.0')).toEqual([]);
    });

    it('a GHCR push of acme/app does not fire the Docker Hub policy', async () => {
      const response = await ghcr('acme', 'app', 'v1', digest('a'));
      expect(response.status).toBe(202);
      expect((response.json() as Answer).triggered.map((r) => r.policyName)).toEqual(['ghcr-acme']);
    });

    it('a Docker Hub payload cannot pose as another registry\'s image', async () => {
      for (const repo of ['evil.example.com/acme', 'evil.example.com/acme/app', 'localhost:5000/acme', 'acme/app/extra']) {
        const response = await hub(repo, '1.0');
        expect(response.status, repo).toBe(400);
        expect(response.text).toMatch(/not a Docker Hub repository/);
      }
    });

    it('rolls a Docker Hub tag out once, however often it is pushed (pushed_at differs), even concurrently', async () => {
      const before = (await rollouts()).length;
      const first = await hub('acme/app', '1.0');
      expect(first.status).toBe(202);
      const started = (first.json() as Answer).triggered[0]!;
      expect(started).toMatchObject({ policyName: 'hub-acme', existingRolloutId: null, error: null });
      const again = await Promise.all([1, 2, 3, 4].map((i) => hub('acme/app', '1.0', Date.now() + i * 1000)));
      for (const response of again) {
        expect(response.status).toBe(202);
        const result = (response.json() as Answer).triggered[0]!;
        expect(result).toMatchObject({ rolloutId: null, existingRolloutId: started.rolloutId });
        expect((response.json() as Answer).message).toMatch(/had rolled this image out already/);
      }
      expect((await rollouts()).length).toBe(before + 1);
      const repeated = (await t.request('GET', '/api/v1/events?type=policy.repeated')).json() as { items: unknown[] };
      expect(repeated.items).toHaveLength(4);
      // A new tag is a new image.
      expect(((await hub('acme/app', '1.1')).json() as Answer).triggered[0]!.rolloutId).not.toBeNull();
    });

    it('rolls a GHCR digest out once under any tag; a new digest is a new image', async () => {
      const first = (await ghcr('acme', 'kiosk', 'v2', digest('c'))).json() as Answer;
      expect(first.triggered[0]!.rolloutId).not.toBeNull();
      const retagged = (await ghcr('acme', 'kiosk', 'stable', digest('c'))).json() as Answer;
      expect(retagged.triggered[0]).toMatchObject({ rolloutId: null, existingRolloutId: first.triggered[0]!.rolloutId });
      const rebuilt = (await ghcr('acme', 'kiosk', 'v2', digest('d'))).json() as Answer;
      expect(rebuilt.triggered[0]!.rolloutId).not.toBeNull();
    });
  });
}
