// Saved groups and bulk actions over HTTP, on SQLite and PostgreSQL: create, list with live
// counts, get, rename, filter change, static add/remove, delete refused while a rollout or a
// policy names the group; the group filter key on the device list, count and export; bulk tag,
// untag, set-location and decommission with dry runs, one audit event and per-device history;
// and a bulk tag of a 10,000-device dynamic group in one request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable } from '../testing/postgres.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { seedArtifact } from '../testing/engine.js';

type Group = { id: string; name: string; kind: string; members: number; tenant: string; filter: unknown };
type Bulk = { action: string; count: number; dryRun: boolean; eventId: number | null };
type Events = { items: { id: number; type: string; deviceId: string | null; data: Record<string, unknown> }[] };

function csv(prefix: string, rows: number, tags: (i: number) => string): string {
  const lines = ['id,name,mode,status,tags'];
  for (let i = 0; i < rows; i++) lines.push(`${prefix}-${String(i).padStart(5, '0')},${prefix} ${i},pull,online,${tags(i)}`);
  return lines.join('\n') + '\n';
}

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`groups and bulk actions API on ${db}`, () => {
    let t: TestApp;
    let skip: string | null = null;
    beforeAll(async () => {
      skip = db === 'postgres' ? await postgresUnavailable() : null;
      if (!skip) t = await startTestApp({ db });
    });
    afterAll(async () => {
      await t?.close();
    });

    const importCsv = async (text: string) => {
      const r = await t.request('POST', '/api/v1/devices/import?format=csv', { raw: text, headers: { 'content-type': 'text/csv' } });
      expect(r.status, r.text).toBe(200);
    };
    const ids = async (query: string) => ((await t.request('GET', `/api/v1/devices?${query}`)).json() as { items: { id: string }[] }).items.map((d) => d.id);

    it('creates static and dynamic groups, counts members live, and filters the device list, count and export by group', async (ctx) => {
      if (skip) return ctx.skip();
      await importCsv(csv('gr', 6, (i) => `ring=${i < 3 ? 'beta' : 'prod'}`));
      const dynamic = await t.request('POST', '/api/v1/groups', { token: t.tokens.operator, body: { name: 'beta ring', kind: 'dynamic', filter: { tag: 'ring=beta' } } });
      expect(dynamic.status, dynamic.text).toBe(201);
      const beta = dynamic.json() as Group;
      expect(beta).toMatchObject({ name: 'beta ring', kind: 'dynamic', tenant: 'DEFAULT', members: 3, filter: { tag: 'ring=beta' } });
      const pinned = (await t.request('POST', '/api/v1/groups', { body: { name: 'pinned', kind: 'static', devices: ['gr-00000', 'gr-00004'] } })).json() as Group;
      expect(pinned).toMatchObject({ kind: 'static', members: 2, filter: null });

      expect(await ids('group=beta%20ring')).toEqual(['gr-00000', 'gr-00001', 'gr-00002']);
      expect(await ids(`group=${pinned.id}`)).toEqual(['gr-00000', 'gr-00004']);
      expect((await t.request('GET', '/api/v1/devices/count?group=pinned&tag=ring=prod')).json()).toEqual({ total: 1 });
      const exported = await t.request('GET', '/api/v1/devices/export?group=pinned&format=ndjson');
      expect(exported.text.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['gr-00000', 'gr-00004']);
      const unknown = await t.request('GET', '/api/v1/devices?group=nope');
      expect(unknown.status).toBe(400);
      expect(unknown.text).toContain("no group 'nope'");

      // Rename, filter change, add and remove; the list shows every group with its count.
      expect((await t.request('PATCH', `/api/v1/groups/${beta.id}`, { body: { filter: { tag: 'ring=prod' } } })).json()).toMatchObject({ members: 3 });
      expect((await t.request('PATCH', '/api/v1/groups/pinned', { body: { name: 'pinned2', add: ['gr-00001'], remove: ['gr-00000'] } })).json()).toMatchObject({ name: 'pinned2', members: 2 });
      expect((await t.request('PATCH', '/api/v1/groups/pinned2', { body: { filter: { tag: 'a=b' } } })).status).toBe(400);
      expect((await t.request('PATCH', '/api/v1/groups/pinned2', { body: { add: ['no-such-device'] } })).status).toBe(400);
      const list = (await t.request('GET', '/api/v1/groups?limit=1')).json() as { items: Group[]; nextCursor: string };
      const rest = (await t.request('GET', `/api/v1/groups?cursor=${list.nextCursor}`)).json() as { items: Group[]; nextCursor: null };
      expect([...list.items, ...rest.items].map((g) => [g.name, g.members]).sort()).toEqual([['beta ring', 3], ['pinned2', 2]]);
      expect((await t.request('POST', '/api/v1/groups', { body: { name: 'pinned2', kind: 'static' } })).status).toBe(409);
      expect((await t.request('POST', '/api/v1/groups', { body: { name: 'nested', kind: 'dynamic', filter: { group: 'pinned2' } } })).status).toBe(400);
      expect((await t.request('GET', '/api/v1/groups/nope')).status).toBe(404);

      const openapi = (await t.request('GET', '/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
      expect(Object.keys(openapi.paths['/api/v1/groups'] ?? {}).sort()).toEqual(['get', 'post']);
      expect(Object.keys(openapi.paths['/api/v1/groups/{id}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch']);
      expect(Object.keys(openapi.paths['/api/v1/devices/bulk'] ?? {})).toEqual(['post']);

      // A decommissioned member drops out of the count.
      expect((await t.request('DELETE', '/api/v1/devices/gr-00004')).status).toBe(204);
      expect((await t.request('GET', '/api/v1/groups/pinned2')).json()).toMatchObject({ members: 1 });
    });

    it('refuses to delete a group a policy names, and deletes it once nothing does', async (ctx) => {
      if (skip) return ctx.skip();
      const group = (await t.request('POST', '/api/v1/groups', { body: { name: 'kiosks', kind: 'dynamic', filter: { q: 'gr-0000' } } })).json() as Group;
      const unknown = await t.request('POST', '/api/v1/policies', { body: { name: 'lost-policy', image: 'acme/kiosk:*', filter: { group: 'no-such-group' } } });
      expect(unknown.status).toBe(400);
      expect(unknown.text).toContain("no group 'no-such-group'");
      const policy = await t.request('POST', '/api/v1/policies', { body: { name: 'kiosk-policy', image: 'acme/kiosk:*', filter: { group: 'kiosks' } } });
      expect(policy.status, policy.text).toBe(201);
      const refused = await t.request('DELETE', `/api/v1/groups/${group.id}`);
      expect(refused.status).toBe(409);
      expect(refused.text).toContain('kiosk-policy');
      expect((await t.request('PATCH', `/api/v1/groups/${group.id}`, { body: { name: 'renamed' } })).status).toBe(409);
      expect((await t.request('DELETE', `/api/v1/policies/${(policy.json() as { id: string }).id}`)).status).toBe(204);
      expect((await t.request('DELETE', '/api/v1/groups/kiosks')).status).toBe(204);
      expect((await t.request('GET', `/api/v1/groups/${group.id}`)).status).toBe(404);
    });

    it('bulk-tags, untags, sets the location and decommissions: dry run first, one audit event, each device’s history', async (ctx) => {
      if (skip) return ctx.skip();
      await importCsv(csv('bk', 4, (i) => `ring=${i % 2 ? 'odd' : 'even'};keep=yes`));
      const dry = await t.request('POST', '/api/v1/devices/bulk?dryRun=true', { token: t.tokens.operator, body: { action: 'tag', filter: { tag: 'ring=even' }, tags: { wave: '1', site: 'north' } } });
      expect(dry.json()).toEqual({ action: 'tag', tenant: 'DEFAULT', count: 2, dryRun: true, eventId: null });
      expect(await ids('tag=wave=1')).toEqual([]);

      const run = (await t.request('POST', '/api/v1/devices/bulk', { token: t.tokens.operator, body: { action: 'tag', filter: { tag: 'ring=even' }, tags: { wave: '1', site: 'north' } } })).json() as Bulk;
      expect(run).toMatchObject({ action: 'tag', count: 2, dryRun: false });
      expect(await ids('tag=wave=1&tag=site=north&tag=keep=yes')).toEqual(['bk-00000', 'bk-00002']);
      expect(((await t.request('GET', '/api/v1/devices/bk-00002')).json() as { tags: unknown }).tags).toEqual({ ring: 'even', keep: 'yes', wave: '1', site: 'north' });
      const audit = (await t.request('GET', '/api/v1/events?type=devices.bulk-tag')).json() as Events;
      expect(audit.items).toHaveLength(1);
      expect(audit.items[0]).toMatchObject({ id: run.eventId, deviceId: null, data: { count: 2, tags: { wave: '1', site: 'north' } } });
      const history = (await t.request('GET', '/api/v1/events?deviceId=bk-00000')).json() as Events;
      expect(history.items.filter((e) => e.data.bulk === run.eventId)).toMatchObject([{ type: 'device.updated', data: { action: 'tag', changes: { tags: { wave: '1', site: 'north' } } } }]);

      // Untag by key, with the selection matched on the tag being removed: the set was frozen first.
      expect(((await t.request('POST', '/api/v1/devices/bulk', { body: { action: 'untag', filter: { tag: 'wave=1' }, keys: ['wave', 'keep'] } })).json() as Bulk).count).toBe(2);
      expect(((await t.request('GET', '/api/v1/devices/bk-00000')).json() as { tags: unknown }).tags).toEqual({ ring: 'even', site: 'north' });
      expect(await ids('tag=keep=yes&q=bk-')).toEqual(['bk-00001', 'bk-00003']);

      expect(((await t.request('POST', '/api/v1/devices/bulk', { body: { action: 'set-location', ids: ['bk-00001', 'bk-00003', 'no-such'], location: 'Dock 4' } })).json() as Bulk).count).toBe(2);
      expect(await ids('location=Dock%204')).toEqual(['bk-00001', 'bk-00003']);

      const group = (await t.request('POST', '/api/v1/groups', { body: { name: 'retire', kind: 'static', devices: ['bk-00001', 'bk-00002'] } })).json() as Group;
      const gone = (await t.request('POST', '/api/v1/devices/bulk', { body: { action: 'decommission', group: 'retire' } })).json() as Bulk;
      expect(gone.count).toBe(2);
      expect(((await t.request('GET', '/api/v1/devices/bk-00002')).json() as { decommissionedAt: string | null }).decommissionedAt).not.toBeNull();
      expect((await t.request('GET', `/api/v1/groups/${group.id}`)).json()).toMatchObject({ members: 0 });
      expect(((await t.request('GET', '/api/v1/events?deviceId=bk-00001&type=device.decommissioned')).json() as Events).items).toMatchObject([{ data: { bulk: gone.eventId } }]);
      // A decommissioned device is out of every later selection.
      expect(((await t.request('POST', '/api/v1/devices/bulk?dryRun=true', { body: { action: 'tag', ids: ['bk-00001'], tags: { a: 'b' } } })).json() as Bulk).count).toBe(0);
    });

    it('bulk-decommissions the devices of a rollout’s group: their work ends, their tokens stop working, others are untouched', async (ctx) => {
      if (skip) return ctx.skip();
      await importCsv(csv('dc', 3, () => 'fleet=dc'));
      await importCsv(csv('dck', 1, () => 'fleet=dc-keep'));
      const group = (await t.request('POST', '/api/v1/groups', { body: { name: 'dc fleet', kind: 'dynamic', filter: { tag: 'fleet=dc' } } })).json() as Group;
      const token = ((await t.request('POST', '/api/v1/devices/dc-00000/token')).json() as { token: string }).token;
      const keeper = ((await t.request('POST', '/api/v1/devices/dck-00000/token')).json() as { token: string }).token;
      expect((await t.request('GET', '/api/v1/device/dc-00000/state', { token })).status).toBe(200);
      const artifact = await seedArtifact(t.app.store, '9.9.9');
      const created = await t.request('POST', '/api/v1/rollouts', { body: { artifactId: artifact.id, filter: { group: group.id } } });
      expect(created.status, created.text).toBe(201);
      const rollout = created.json() as { id: string };
      // The group is in use: it cannot go while the rollout is unfinished.
      expect((await t.request('DELETE', `/api/v1/groups/${group.id}`)).status).toBe(409);
      const run = (await t.request('POST', '/api/v1/devices/bulk', { body: { action: 'decommission', filter: { group: 'dc fleet', q: 'dc-0000' } } })).json() as Bulk;
      expect(run.count).toBe(3);
      const executions = (await t.request('GET', `/api/v1/rollouts/${rollout.id}/devices`)).json() as { items: { deviceId: string; state: string; error: string | null }[] };
      expect(executions.items.map((e) => [e.deviceId, e.state])).toEqual([['dc-00000', 'skipped'], ['dc-00001', 'skipped'], ['dc-00002', 'skipped']]);
      expect(executions.items[0]!.error).toMatch(/decommissioned by/);
      expect((await t.request('GET', '/api/v1/device/dc-00000/state', { token })).status).toBe(401);
      expect((await t.request('GET', '/api/v1/device/dck-00000/state', { token: keeper })).status).toBe(200);
      expect((await t.request('GET', `/api/v1/groups/${group.id}`)).json()).toMatchObject({ members: 0 });
    });

    it('refuses a selection that is not exactly one of ids, filter or group, and a change that does not fit the action', async (ctx) => {
      if (skip) return ctx.skip();
      for (const body of [
        { action: 'tag', tags: { a: 'b' } },
        { action: 'tag', ids: ['x'], group: 'g', tags: { a: 'b' } },
        { action: 'tag', ids: ['x'] },
        { action: 'untag', ids: ['x'], keys: [] },
        { action: 'set-location', ids: ['x'] },
        { action: 'decommission', ids: ['x'], location: 'y' },
        { action: 'explode', ids: ['x'] },
        { action: 'tag', filter: { tenant: 'other' }, tags: { a: 'b' } },
      ]) {
        const r = await t.request('POST', '/api/v1/devices/bulk', { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.json()).toMatchObject({ error: { code: expect.stringMatching(/^(validation_failed|bad_request)$/), message: expect.any(String) } });
      }
    });

    it('bulk-tags a 10,000-device dynamic group in one request with one audit event', async (ctx) => {
      if (skip) return ctx.skip();
      await importCsv(csv('big', 10_000, (i) => `fleet=${i % 10 === 9 ? 'other' : 'big'}`));
      await importCsv(csv('big2', 1_000, () => 'fleet=big'));
      expect((await t.request('POST', '/api/v1/groups', { body: { name: 'big fleet', kind: 'dynamic', filter: { tag: 'fleet=big' } } })).json()).toMatchObject({ members: 10_000 });
      const run = (await t.request('POST', '/api/v1/devices/bulk', { body: { action: 'tag', group: 'big fleet', tags: { wave: 'big-1' } } })).json() as Bulk;
      expect(run.count).toBe(10_000);
      expect((await t.request('GET', '/api/v1/devices/count?tag=wave=big-1')).json()).toEqual({ total: 10_000 });
      expect((await t.request('GET', '/api/v1/devices/count?group=big%20fleet&tag=wave=big-1')).json()).toEqual({ total: 10_000 });
      expect(((await t.request('GET', '/api/v1/events?type=devices.bulk-tag&limit=100')).json() as Events).items.filter((e) => e.data.count === 10_000)).toHaveLength(1);
      expect(((await t.request('GET', '/api/v1/devices/big2-00077')).json() as { tags: unknown }).tags).toEqual({ fleet: 'big', wave: 'big-1' });
    });
  });
}
