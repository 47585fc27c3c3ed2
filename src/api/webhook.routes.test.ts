// Registry webhooks and policies end to end on a real server: signatures, URL secrets, replays,
// redacted payloads in the event log, policy CRUD and matching, image artifacts, rate limits.
// Signatures are computed here with node:crypto, never with the production helper they check.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { parsePrometheusText, sampleValue } from '../testing/prometheus-text.js';

const SECRET = 'registry-secret-123';
/** X-Hub-Signature-256 as GitHub computes it: HMAC-SHA256 of the exact body bytes, hex, prefixed. */
const hubSignature = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest('hex')}`;
const ghcrPayload = (tag: string, digestHex = 'a'.repeat(64)) => ({
  action: 'published',
  package: {
    name: 'pos-app',
    namespace: 'acme',
    package_type: 'CONTAINER',
    owner: { login: 'acme' },
    package_version: { version: `sha256:${digestHex}`, container_metadata: { tag: { name: tag, digest: `sha256:${digestHex}` } } },
  },
  sender: { login: 'ci-bot' },
  installation: { access_token: 'ghs_should_not_be_logged' },
});
const dockerPayload = (tag: string) => ({ callback_url: 'https://registry.hub.docker.com/u/acme/kiosk/hook/x/', push_data: { tag, pusher: 'ci', pushed_at: Date.now() }, repository: { repo_name: 'acme/kiosk', namespace: 'acme', name: 'kiosk' } });

describe('registry webhooks and policies', () => {
  let t: TestApp;
  const ghcr = (body: unknown, headers: Record<string, string> = {}) => {
    const raw = JSON.stringify(body);
    return t.request('POST', '/api/v1/webhooks/docker-registry', { token: null, raw, headers: { 'content-type': 'application/json', 'x-github-event': 'package', 'x-github-delivery': `d-${Math.random()}`, 'x-hub-signature-256': hubSignature(SECRET, raw), ...headers } });
  };
  beforeAll(async () => {
    t = await startTestApp({ config: { webhookSecret: SECRET } });
    for (const [id, location] of [['w1', 'west'], ['w2', 'west'], ['e1', 'east']]) {
      expect((await t.request('POST', '/api/v1/devices', { body: { id, location, mode: 'pull' } })).status).toBe(201);
    }
  });
  afterAll(() => t.close());

  it('validates policies, refuses viewers and duplicates, and finds them by id or name', async () => {
    const bad = await t.request('POST', '/api/v1/policies', { body: { name: 'x', image: 'acme/*', template: { strategy: 'sideways', artifactId: 'a' } } });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/template\.strategy/);
    expect(bad.text).toMatch(/template\.artifactId/);
    expect((await t.request('POST', '/api/v1/policies', { token: t.tokens.viewer, body: { name: 'v', image: 'acme/*' } })).status).toBe(403);
    const body = { name: 'pos-canary', image: 'ghcr.io/acme/pos-*:v*', filter: { location: 'west' }, template: { strategy: 'progressive', phases: [{ percent: 10 }, { percent: 100 }] } };
    const created = await t.request('POST', '/api/v1/policies', { token: t.tokens.operator, body });
    expect(created.status).toBe(201);
    const policy = created.json() as { id: string; enabled: boolean };
    expect(policy.enabled).toBe(true);
    expect((await t.request('POST', '/api/v1/policies', { body })).status).toBe(409);
    expect((await t.request('GET', '/api/v1/policies/pos-canary', { token: t.tokens.viewer })).json()).toMatchObject({ id: policy.id, filter: { location: 'west' } });
    const patched = await t.request('PATCH', `/api/v1/policies/${policy.id}`, { body: { image: 'ghcr.io/acme/*:v*' } });
    expect(patched.json()).toMatchObject({ image: 'ghcr.io/acme/*:v*', name: 'pos-canary' });
    expect((await t.request('POST', '/api/v1/policies', { body: { name: 'kiosk', image: 'acme/kiosk' } })).status).toBe(201);
  });

  it('says which policies an image would trigger', async () => {
    const test = async (image: string) => ((await t.request('POST', '/api/v1/policies/test', { token: t.tokens.viewer, body: { image } })).json() as { matches: { name: string }[] }).matches.map((m) => m.name);
    expect(await test('ghcr.io/acme/pos-app:v2.4.1')).toEqual(['pos-canary']);
    expect(await test('ghcr.io/acme/pos-app:latest')).toEqual([]);
    expect(await test('acme/kiosk:1.0')).toEqual(['kiosk']);
    expect(await test('docker.io/acme/kiosk:1.0')).toEqual(['kiosk']);
    expect((await t.request('POST', '/api/v1/policies/test', { body: { image: 'Not A Ref' } })).status).toBe(400);
  });

  it('accepts a signed GHCR push, records an image artifact and the redacted payload, and refuses its replay', async () => {
    const delivery = 'delivery-1';
    const response = await ghcr(ghcrPayload('v2.4.1'), { 'x-github-delivery': delivery });
    expect(response.status).toBe(202);
    const answer = response.json() as { image: string; triggered: { policyName: string; rolloutId: string | null; error: string | null }[] };
    expect(answer.image).toBe(`ghcr.io/acme/pos-app:v2.4.1@sha256:${'a'.repeat(64)}`);
    expect(answer.triggered.map((r) => r.policyName)).toEqual(['pos-canary']);
    expect(answer.triggered[0]!.error).toBeNull();
    // The policy's rollout exists through the rollout API, over the policy's filter, with its template.
    const rollout = (await t.request('GET', `/api/v1/rollouts/${answer.triggered[0]!.rolloutId}`, { token: t.tokens.viewer })).json() as { filter: unknown; strategy: string; phases: unknown[]; counts: Record<string, number> };
    expect(rollout).toMatchObject({ filter: { location: 'west' }, strategy: 'progressive' });
    expect(rollout.phases).toHaveLength(2);
    expect(Object.values(rollout.counts).reduce((a, b) => a + b, 0)).toBe(2);
    // /metrics counts the webhook and shows the new executions by state (grouped count at scrape time).
    const families = parsePrometheusText((await t.request('GET', '/metrics', { token: null })).text);
    expect(sampleValue(families, 'orchestrator_webhooks_total', { source: 'ghcr', result: 'accepted' })).toBe(1);
    const executions = families.get('orchestrator_executions')!.samples.reduce((n, x) => n + x.value, 0);
    expect(executions).toBe(2);
    const artifacts = (await t.request('GET', '/api/v1/artifacts')).json() as { items: { name: string; version: string; imageRef: string }[] };
    expect(artifacts.items).toContainEqual(expect.objectContaining({ name: 'acme.pos-app', version: 'v2.4.1', imageRef: answer.image }));
    const [received] = await t.app.store.events.list({ type: ['webhook.received'], limit: 1 });
    expect(received!.data).toMatchObject({ source: 'ghcr', image: answer.image, delivery });
    expect(JSON.stringify(received!.data)).not.toContain('ghs_should_not_be_logged');
    // Same delivery id again: a replay.
    const replay = await ghcr(ghcrPayload('v2.4.2'), { 'x-github-delivery': delivery });
    expect(replay.status).toBe(409);
  });

  it('refuses a GHCR push with a bad or missing signature', async () => {
    const raw = JSON.stringify(ghcrPayload('v9'));
    const wrong = await t.request('POST', '/api/v1/webhooks/docker-registry', { token: null, raw, headers: { 'content-type': 'application/json', 'x-github-event': 'package', 'x-hub-signature-256': hubSignature('other-secret', raw) } });
    expect(wrong.status).toBe(401);
    const missing = await t.request('POST', '/api/v1/webhooks/docker-registry', { token: null, raw, headers: { 'content-type': 'application/json', 'x-github-event': 'package' } });
    expect(missing.status).toBe(401);
    const tampered = await ghcr(ghcrPayload('v9'), { 'x-hub-signature-256': hubSignature(SECRET, raw + ' ') });
    expect(tampered.status).toBe(401);
  });

  it('authenticates Docker Hub by the secret in the path or query, and refuses identical payloads', async () => {
    const payload = JSON.stringify(dockerPayload('1.0'));
    const post = (url: string, raw = payload) => t.request('POST', url, { token: null, raw, headers: { 'content-type': 'application/json' } });
    expect((await post('/api/v1/webhooks/docker-registry')).status).toBe(401);
    expect((await post('/api/v1/webhooks/docker-registry/wrong-secret')).status).toBe(401);
    const ok = await post(`/api/v1/webhooks/docker-registry/${SECRET}`);
    expect(ok.status).toBe(202);
    expect(ok.json()).toMatchObject({ source: 'dockerhub', image: 'docker.io/acme/kiosk:1.0', triggered: [{ policyName: 'kiosk' }] });
    expect((await post(`/api/v1/webhooks/docker-registry?secret=${SECRET}`)).status).toBe(409);
    expect((await post(`/api/v1/webhooks/docker-registry?secret=${SECRET}`, JSON.stringify(dockerPayload('1.1')))).status).toBe(202);
    const invalid = await post(`/api/v1/webhooks/docker-registry?secret=${SECRET}`, JSON.stringify({ repository: {} }));
    expect(invalid.status).toBe(400);
    expect(invalid.text).toMatch(/repo_name/);
    // The payload goes into the event log, where PostgreSQL cannot store U+0000.
    const nul = await post(`/api/v1/webhooks/docker-registry?secret=${SECRET}`, JSON.stringify({ ...dockerPayload('1.2'), note: 'a\u0000b' }));
    expect(nul.status).toBe(400);
    expect(nul.text).toMatch(/body\.note must not contain a NUL/);
  });
});

describe('GitHub webhook signatures', () => {
  // The example from GitHub's "Validating webhook deliveries" documentation.
  const DOCS_SECRET = "It's a Secret to Everybody";
  const DOCS_PAYLOAD = 'Hello, World!';
  const DOCS_SIGNATURE = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

  it('computes the signature of GitHub\'s documented example', () => {
    expect(hubSignature(DOCS_SECRET, DOCS_PAYLOAD)).toBe(DOCS_SIGNATURE);
  });

  it('lets the documented signature through to the body check and refuses it altered by one digit', async () => {
    const t = await startTestApp({ config: { webhookSecret: DOCS_SECRET } });
    try {
      const post = (signature: string) => t.request('POST', '/api/v1/webhooks/docker-registry', { token: null, raw: DOCS_PAYLOAD, headers: { 'content-type': 'application/json', 'x-github-event': 'package', 'x-hub-signature-256': signature } });
      // Authentic, but "Hello, World!" is no registry payload: 400 about the body, not 401.
      const authentic = await post(DOCS_SIGNATURE);
      expect(authentic.status).toBe(400);
      expect(authentic.text).toMatch(/invalid JSON body/);
      const altered = await post(DOCS_SIGNATURE.slice(0, -1) + '8');
      expect(altered.status).toBe(401);
      expect(altered.text).toMatch(/X-Hub-Signature-256/);
      expect((await post(DOCS_SIGNATURE.replace('sha256=', 'sha1='))).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});

describe('webhook rate limit', () => {
  it('answers 429 beyond the configured requests per minute', async () => {
    const t = await startTestApp({ config: { webhookRateLimitPerMinute: 3, webhookSecret: SECRET } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await t.request('POST', `/api/v1/webhooks/docker-registry/${SECRET}`, { token: null, body: { push_data: { tag: `t${i}` }, repository: { repo_name: 'acme/x' } } })).status);
      expect(statuses).toEqual([202, 202, 202, 429, 429]);
    } finally {
      await t.close();
    }
  });
});

describe('sign-in rate limit', () => {
  it('counts only refused attempts: good tokens pass, guessing gets 429 even for a good token afterwards', async () => {
    const t = await startTestApp({ config: { authRateLimitPerMinute: 3 } });
    try {
      for (let i = 0; i < 10; i++) expect((await t.request('GET', '/api/v1/whoami', { token: t.tokens.viewer })).status).toBe(200);
      const guesses: number[] = [];
      for (let i = 0; i < 4; i++) guesses.push((await t.request('GET', '/api/v1/whoami', { token: `guess-${i}` })).status);
      expect(guesses).toEqual([401, 401, 401, 429]);
      const blocked = await t.request('GET', '/api/v1/whoami', { token: t.tokens.viewer });
      expect(blocked.status).toBe(429);
      expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await t.close();
    }
  });
});
