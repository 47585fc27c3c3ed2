// GET /api/v1/rollouts?releaseId= from the attacker's side: authentication comes before the query
// is looked at, the id is bounded at the edge, and an id that is SQL or a pattern matches nothing
// (it is compared as a value, never as a pattern).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { uploadBytes } from '../testing/bundles.js';

describe('rollouts by release: who may, and what they may send', () => {
  let t: TestApp;
  let releaseId: string;
  beforeAll(async () => {
    t = await startTestApp();
    const artifactId = await uploadBytes(t, 'sec-by-release', '1.0.0', 'firmware');
    releaseId = ((await t.request('POST', '/api/v1/releases', { body: { name: 'sec', version: '1', artifacts: [{ artifactId }] } })).json() as { id: string }).id;
    const created = await t.request('POST', '/api/v1/rollouts', { body: { releaseId, filter: { ids: ['nobody'] }, startAt: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(created.status, created.text).toBe(201);
  });
  afterAll(async () => t?.close());

  it('answers 401 without a token or with a bad one, before validating the query', async () => {
    for (const query of [`releaseId=${releaseId}`, `releaseId=${'x'.repeat(5000)}`, 'releaseId=']) {
      expect((await t.request('GET', `/api/v1/rollouts?${query}`, { token: null })).status).toBe(401);
      expect((await t.request('GET', `/api/v1/rollouts?${query}`, { token: 'not-a-token' })).status).toBe(401);
    }
  });

  it('lets a viewer read where a release is deployed', async () => {
    const answer = await t.request('GET', `/api/v1/rollouts?releaseId=${releaseId}`, { token: t.tokens.viewer });
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({ total: 1 });
  });

  it('refuses an empty or oversized id with a problem naming the field', async () => {
    for (const id of ['', 'x'.repeat(201)]) {
      const answer = await t.request('GET', `/api/v1/rollouts?releaseId=${id}`, { token: t.tokens.viewer });
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/json/);
      expect(answer.text).toMatch(/releaseId/);
    }
  });

  it('matches an id that is SQL or a pattern as a plain value: nothing', async () => {
    for (const id of ["' OR '1'='1", '%', '*', `${releaseId.slice(0, 4)}%`]) {
      const answer = await t.request('GET', `/api/v1/rollouts?releaseId=${encodeURIComponent(id)}`, { token: t.tokens.viewer });
      expect(answer.status).toBe(200);
      expect(answer.json()).toEqual({ items: [], nextCursor: null, total: 0 });
    }
  });
});
