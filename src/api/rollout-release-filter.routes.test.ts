// GET /api/v1/rollouts?releaseId=: where a release is deployed. The list and its total come from
// the same filter, other releases' rollouts and one-artifact rollouts stay out, and it pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { uploadBytes } from '../testing/bundles.js';

describe('rollouts listed by release', () => {
  let t: TestApp;
  const rolloutsOf: Record<string, string[]> = { a: [], b: [] };
  const releases: Record<string, string> = {};
  let artifactId: string;
  beforeAll(async () => {
    t = await startTestApp();
    artifactId = await uploadBytes(t, 'by-release-fw', '1.0.0', 'firmware');
    for (const key of ['a', 'b']) {
      const created = await t.request('POST', '/api/v1/releases', { body: { name: `rel-${key}`, version: '1.0.0', artifacts: [{ artifactId }] } });
      expect(created.status, created.text).toBe(201);
      releases[key] = (created.json() as { id: string }).id;
    }
    const make = async (body: Record<string, unknown>) => {
      const created = await t.request('POST', '/api/v1/rollouts', { body: { filter: { ids: ['nobody'] }, startAt: new Date(Date.now() + 86_400_000).toISOString(), ...body } });
      expect(created.status, created.text).toBe(201);
      return (created.json() as { id: string }).id;
    };
    for (let i = 0; i < 3; i++) rolloutsOf.a!.push(await make({ releaseId: releases.a, name: `a-${i}` }));
    rolloutsOf.b!.push(await make({ releaseId: releases.b, name: 'b-0' }));
    await make({ artifactId, name: 'plain' });
  });
  afterAll(async () => t?.close());

  it('answers only the rollouts of that release, with their total, newest first and paged', async () => {
    const all = (await t.request('GET', `/api/v1/rollouts?releaseId=${releases.a}`)).json() as { items: { id: string; releaseId: string | null }[]; total: number };
    expect(all.total).toBe(3);
    expect(all.items.map((r) => r.id)).toEqual([...rolloutsOf.a!].reverse());
    expect(all.items.every((r) => r.releaseId === releases.a)).toBe(true);
    const first = (await t.request('GET', `/api/v1/rollouts?releaseId=${releases.a}&limit=2`)).json() as { items: { id: string }[]; nextCursor: string; total: number };
    expect(first.items).toHaveLength(2);
    const second = (await t.request('GET', `/api/v1/rollouts?releaseId=${releases.a}&limit=2&cursor=${encodeURIComponent(first.nextCursor)}`)).json() as { items: { id: string }[]; nextCursor: string | null };
    expect([...first.items, ...second.items].map((r) => r.id)).toEqual([...rolloutsOf.a!].reverse());
    expect(second.nextCursor).toBeNull();
    const ofB = (await t.request('GET', `/api/v1/rollouts?releaseId=${releases.b}`)).json() as { items: { id: string }[]; total: number };
    expect(ofB).toMatchObject({ total: 1, items: [{ id: rolloutsOf.b![0] }] });
    expect((await t.request('GET', '/api/v1/rollouts')).json()).toMatchObject({ total: 5 });
    expect((await t.request('GET', '/api/v1/rollouts?releaseId=unknown-release')).json()).toEqual({ items: [], nextCursor: null, total: 0 });
  });
});
