// /api/v1/releases over HTTP on both dialects: create with matches filled from what each artifact
// declares (and overrides), read, list with a keyset cursor, delete while unused (409 while a live
// rollout rolls it out), and the artifact a release lists cannot be deleted under it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';
import { menderBundle, swuBundle, uploadBytes } from '../testing/bundles.js';

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`releases API on ${db}`, () => {
    let t: TestApp;
    const ids = { swu: '', mender: '', bin: '' };
    beforeAll(async () => {
      t = await startTestApp({ db });
      ids.swu = await uploadBytes(t, 'pos-os', '2.4.1', swuBundle('2.4.1', ['rev-a', 'rev-b']));
      ids.mender = await uploadBytes(t, 'pos-app', '2.4.1', menderBundle('pos-2.4.1', ['rpi4']));
      ids.bin = await uploadBytes(t, 'pos-fw', '2.4.1', 'plain firmware');
    });
    afterAll(async () => t?.close());

    it('creates a release whose matches come from the artifacts, with the operator overrides winning', async () => {
      const body = { name: 'pos', version: '2.4.1', artifacts: [{ artifactId: ids.swu }, { artifactId: ids.mender, component: 'main', match: { deviceType: 'rpi*' } }, { artifactId: ids.bin, match: { protocol: 'http' } }] };
      const created = await t.request('POST', '/api/v1/releases', { token: t.tokens.operator, body });
      expect(created.status).toBe(201);
      const release = created.json() as { id: string; artifacts: unknown[] };
      expect(release).toMatchObject({
        id: expect.any(String),
        name: 'pos',
        version: '2.4.1',
        createdBy: expect.stringContaining('token:'),
        artifacts: [
          { artifactId: ids.swu, component: 'main', match: { protocol: ['hawkbit'], deviceType: '{rev-a,rev-b}' }, position: 0 },
          { artifactId: ids.mender, component: 'main', match: { protocol: ['mender'], deviceType: 'rpi*' }, position: 1 },
          { artifactId: ids.bin, component: 'main', match: { protocol: ['http'], deviceType: null }, position: 2 },
        ],
      });
      expect((await t.request('GET', `/api/v1/releases/${release.id}`, { token: t.tokens.viewer })).json()).toEqual(release);
      expect((await t.request('POST', '/api/v1/releases', { body })).status).toBe(409);
      const events = await t.app.store.events.list({ type: ['release.created'], limit: 5 });
      expect(events).toEqual([expect.objectContaining({ data: expect.objectContaining({ releaseId: release.id, name: 'pos' }) })]);
    });

    it('refuses a release of artifacts that do not exist, and bad fields, saying which', async () => {
      const missing = await t.request('POST', '/api/v1/releases', { body: { name: 'x', version: '1', artifacts: [{ artifactId: ids.bin }, { artifactId: 'nope' }] } });
      expect(missing.status).toBe(400);
      expect(missing.json()).toMatchObject({ error: { details: [{ path: 'artifacts.1.artifactId', message: 'no such artifact' }] } });
      const bad = await t.request('POST', '/api/v1/releases', { body: { name: 'x', version: '1', artifacts: [{ artifactId: ids.bin, component: 'Bad Name' }] } });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.json())).toMatch(/component/);
      expect((await t.request('GET', '/api/v1/releases/nope')).status).toBe(404);
    });

    it('lists newest first with a keyset cursor and the total', async () => {
      for (const version of ['3.0.0', '3.0.1', '3.0.2']) expect((await t.request('POST', '/api/v1/releases', { body: { name: 'pager', version, artifacts: [{ artifactId: ids.bin }] } })).status).toBe(201);
      const first = (await t.request('GET', '/api/v1/releases?name=pager&limit=2', { token: t.tokens.viewer })).json() as { items: { version: string }[]; nextCursor: string; total: number };
      expect(first.items.map((r) => r.version)).toEqual(['3.0.2', '3.0.1']);
      expect(first.total).toBe(3);
      const rest = (await t.request('GET', `/api/v1/releases?name=pager&limit=2&cursor=${first.nextCursor}`)).json() as { items: { version: string }[]; nextCursor: string | null };
      expect(rest).toMatchObject({ items: [{ version: '3.0.0' }], nextCursor: null });
      expect((await t.request('GET', '/api/v1/releases?cursor=not*a*cursor')).status).toBe(400);
    });

    it('deletes a release unless a live rollout uses it; its artifacts cannot go while it lists them', async () => {
      const release = (await t.request('POST', '/api/v1/releases', { body: { name: 'gone', version: '1', artifacts: [{ artifactId: ids.bin }] } })).json() as { id: string };
      expect((await t.request('DELETE', `/api/v1/artifacts/${ids.bin}`)).status).toBe(409);
      const rollout = await t.request('POST', '/api/v1/rollouts', { body: { releaseId: release.id, startAt: '2099-01-01T00:00:00Z' } });
      expect(rollout.status).toBe(201);
      expect((await t.request('DELETE', `/api/v1/releases/${release.id}`)).json()).toMatchObject({ error: { code: 'conflict', message: expect.stringMatching(/rolled out by a rollout that has not finished/) } });
      expect((await t.request('POST', `/api/v1/rollouts/${(rollout.json() as { id: string }).id}/cancel`)).status).toBe(200);
      expect((await t.request('DELETE', `/api/v1/releases/${release.id}`)).status).toBe(204);
      expect((await t.request('GET', `/api/v1/releases/${release.id}`)).status).toBe(404);
    });

    it('appears in the OpenAPI document', async () => {
      const doc = (await t.request('GET', '/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
      expect(Object.keys(doc.paths['/api/v1/releases'] ?? {})).toEqual(expect.arrayContaining(['get', 'post']));
      expect(Object.keys(doc.paths['/api/v1/releases/{id}'] ?? {})).toEqual(expect.arrayContaining(['get', 'delete']));
    });
  });
}
