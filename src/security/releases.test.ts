// Releases (issue 15 items 1 and 3) from the attacker's side: every release route and the dry run
// authenticate before they validate; a viewer reads releases but cannot create or delete one, nor
// start or dry-run a rollout of one; bodies are bounded at the edge (artifact count, name, version,
// component and glob lengths, glob charset, the whole body); a release cannot point at an artifact
// that does not exist; and a release a live rollout uses cannot be pulled out from under it.
//
// Operators are not scoped by tenant anywhere in this server (tenants are hawkBit's, for devices),
// so there is no other-tenant case for releases: any operator token of the installation sees them,
// as it sees artifacts and rollouts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { uploadBytes } from '../testing/bundles.js';

describe('releases: who may, and what they may send', () => {
  let t: TestApp;
  let artifactId: string;
  let releaseId: string;
  beforeAll(async () => {
    t = await startTestApp({ config: { bodyLimit: 64 * 1024 } });
    artifactId = await uploadBytes(t, 'sec-fw', '1.0.0', 'firmware');
    const created = await t.request('POST', '/api/v1/releases', { token: t.tokens.operator, body: { name: 'sec', version: '1', artifacts: [{ artifactId }] } });
    releaseId = (created.json() as { id: string }).id;
  });
  afterAll(async () => t.close());

  it('answers 401 without a token and 403 to a viewer before looking at the body', async () => {
    const bodies = [{ name: 'x', version: '1', artifacts: [{ artifactId }] }, { artifacts: 'not a list' }, 'broken'];
    for (const body of bodies) {
      expect((await t.request('POST', '/api/v1/releases', { token: null, body })).status).toBe(401);
      expect((await t.request('POST', '/api/v1/releases', { token: t.tokens.viewer, body })).status).toBe(403);
      expect((await t.request('POST', '/api/v1/rollouts?dryRun=true', { token: null, body: { releaseId } })).status).toBe(401);
      expect((await t.request('POST', '/api/v1/rollouts?dryRun=true', { token: t.tokens.viewer, body: { releaseId } })).status).toBe(403);
    }
    expect((await t.request('GET', '/api/v1/releases', { token: null })).status).toBe(401);
    expect((await t.request('GET', `/api/v1/releases/${releaseId}`, { token: null })).status).toBe(401);
    expect((await t.request('DELETE', `/api/v1/releases/${releaseId}`, { token: null })).status).toBe(401);
    expect((await t.request('DELETE', `/api/v1/releases/${releaseId}`, { token: t.tokens.viewer })).status).toBe(403);
    expect((await t.request('POST', '/api/v1/rollouts', { token: t.tokens.viewer, body: { releaseId } })).status).toBe(403);
    // The viewer reads; nothing was created or deleted by the refused calls.
    expect((await t.request('GET', `/api/v1/releases/${releaseId}`, { token: t.tokens.viewer })).status).toBe(200);
    expect((await t.request('GET', '/api/v1/releases', { token: t.tokens.viewer })).json()).toMatchObject({ total: 1 });
  });

  it('refuses oversized and malformed bodies with 400 (413 over the body limit), creating nothing', async () => {
    const one = { artifactId };
    const cases: unknown[] = [
      { name: 'x', version: '1', artifacts: Array.from({ length: 33 }, () => one) },
      { name: 'x'.repeat(129), version: '1', artifacts: [one] },
      { name: 'x', version: 'v'.repeat(65), artifacts: [one] },
      { name: 'x', version: '1', artifacts: [{ artifactId: 'a'.repeat(129) }] },
      { name: 'x', version: '1', artifacts: [{ artifactId, component: 'c'.repeat(33) }] },
      { name: 'x', version: '1', artifacts: [{ artifactId, match: { deviceType: '*'.repeat(257) } }] },
      { name: 'x', version: '1', artifacts: [{ artifactId, match: { deviceType: 'rpi4); DROP TABLE releases; --' } }] },
      { name: 'x', version: '1', artifacts: [{ artifactId, match: { deviceType: '+(a|b)*' } }] },
      { name: 'x', version: '1', artifacts: [{ artifactId, match: { protocol: 'telnet' } }] },
      { name: 'x', version: '1', artifacts: [{ artifactId, match: { protocol: ['agent', 'agent', 'agent', 'agent', 'agent', 'agent'] } }] },
      { name: 'x', version: '1', artifacts: [{ artifactId, match: { os: 'linux' } }] },
      { name: 'x', version: '1', artifacts: [{ artifactId: 'not-uploaded' }] },
      { name: '../../etc', version: '1', artifacts: [one] },
      { name: 'x', version: '1', artifacts: [], extra: true },
    ];
    for (const body of cases) {
      const response = await t.request('POST', '/api/v1/releases', { token: t.tokens.operator, body });
      expect(response.status, JSON.stringify(body).slice(0, 120)).toBe(400);
      expect(response.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    const huge = await t.request('POST', '/api/v1/releases', { token: t.tokens.operator, body: { name: 'x', version: '1', artifacts: [one], pad: 'p'.repeat(100_000) } });
    expect(huge.status).toBe(413);
    expect((await t.request('GET', '/api/v1/releases')).json()).toMatchObject({ total: 1 });
  });

  it('bounds the rollout fields that name a release, and refuses one that does not exist', async () => {
    expect((await t.request('POST', '/api/v1/rollouts?dryRun=true', { token: t.tokens.operator, body: { releaseId: 'r'.repeat(201) } })).status).toBe(400);
    expect((await t.request('POST', '/api/v1/rollouts?dryRun=true', { token: t.tokens.operator, body: { releaseId: 'no-such-release' } })).json()).toMatchObject({ error: { details: [{ path: 'releaseId', message: 'no such release' }] } });
    expect((await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { releaseId, artifactId } })).json()).toMatchObject({ error: { details: [{ path: 'releaseId', message: expect.stringMatching(/exactly one of artifactId/) }] } });
    expect((await t.request('POST', '/api/v1/rollouts?dryRun=maybe', { token: t.tokens.operator, body: { releaseId } })).status).toBe(400);
    expect((await t.request('GET', '/api/v1/rollouts')).json()).toMatchObject({ total: 0 });
  });

  it('keeps a release and its artifacts while a live rollout uses them', async () => {
    const rollout = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { releaseId, startAt: '2099-01-01T00:00:00Z' } });
    expect(rollout.status).toBe(201);
    expect((await t.request('DELETE', `/api/v1/releases/${releaseId}`, { token: t.tokens.operator })).status).toBe(409);
    expect((await t.request('DELETE', `/api/v1/artifacts/${artifactId}`, { token: t.tokens.operator })).status).toBe(409);
    expect((await t.request('GET', `/api/v1/releases/${releaseId}`)).status).toBe(200);
  });
});
