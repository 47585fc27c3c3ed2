// Saved groups and bulk actions from the attacker's side (issue 15 items 5 and 6), over real HTTP
// on SQLite and PostgreSQL: no token is refused before the body is looked at; a viewer reads
// groups but neither changes them nor runs a bulk action; another tenant's devices are never
// touched, even when their ids are listed or their tenant's group is named by id; static groups
// take no device of another tenant; an oversized ids list is refused (400 by the schema, 413
// above the body limit) and nothing is changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';

type Device = { tags: Record<string, string>; location: string | null; decommissionedAt: string | null };

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`groups and bulk actions under attack (${db})`, () => {
    let t: TestApp;
    let victimGroup: string;
    beforeAll(async () => {
      t = await startTestApp({ db, config: { authRateLimitPerMinute: 0 } });
      for (const [id, tenant] of [['own-1', 'DEFAULT'], ['own-2', 'DEFAULT'], ['victim-1', 't2'], ['victim-2', 't2']]) {
        expect((await t.request('POST', '/api/v1/devices', { body: { id, tenant, tags: { ring: 'all' } } })).status).toBe(201);
      }
      const group = await t.request('POST', '/api/v1/groups', { body: { name: 'victims', kind: 'dynamic', tenant: 't2', filter: { tag: 'ring=all' } } });
      expect(group.status, group.text).toBe(201);
      victimGroup = (group.json() as { id: string }).id;
    });
    afterAll(() => t?.close());

    const victim = async (id: string) => (await t.request('GET', `/api/v1/devices/${id}`)).json() as Device;
    const untouched = async () => {
      for (const id of ['victim-1', 'victim-2']) expect(await victim(id)).toMatchObject({ tags: { ring: 'all' }, location: null, decommissionedAt: null });
    };

    it('answers 401 without a token before it reads the body, on every group and bulk route', async () => {
      for (const [method, url] of [['POST', '/api/v1/groups'], ['GET', '/api/v1/groups'], ['GET', '/api/v1/groups/x'], ['PATCH', '/api/v1/groups/x'], ['DELETE', '/api/v1/groups/x'], ['POST', '/api/v1/devices/bulk'], ['POST', '/api/v1/devices/bulk?dryRun=true']] as const) {
        for (const raw of ['{"broken', JSON.stringify({ action: 'decommission', filter: {} })]) {
          const r = method === 'GET' ? await t.request(method, `${url}${url.includes('?') ? '&' : '?'}limit=nonsense&tenant=%00`, { token: null }) : await t.request(method, url, { token: null, raw, headers: { 'content-type': 'application/json' } });
          expect(r.status, `${method} ${url}`).toBe(401);
          expect(r.text).not.toMatch(/action|filter|ids/);
        }
      }
      await untouched();
    });

    it('lets a viewer read groups but not change them or run a bulk action, even a dry run', async () => {
      expect((await t.request('GET', '/api/v1/groups', { token: t.tokens.viewer })).status).toBe(200);
      expect((await t.request('GET', `/api/v1/devices?group=${victimGroup}`, { token: t.tokens.viewer })).status).toBe(200);
      expect((await t.request('POST', '/api/v1/groups', { token: t.tokens.viewer, body: { name: 'mine', kind: 'static' } })).status).toBe(403);
      expect((await t.request('PATCH', `/api/v1/groups/${victimGroup}`, { token: t.tokens.viewer, body: { name: 'renamed' } })).status).toBe(403);
      expect((await t.request('DELETE', `/api/v1/groups/${victimGroup}`, { token: t.tokens.viewer })).status).toBe(403);
      for (const dry of ['', '?dryRun=true']) {
        const r = await t.request('POST', `/api/v1/devices/bulk${dry}`, { token: t.tokens.viewer, body: { action: 'decommission', group: victimGroup, tenant: 't2' } });
        expect(r.status).toBe(403);
      }
      await untouched();
    });

    it('never touches another tenant’s devices: listed ids, a filter, or its group named by id', async () => {
      const listed = await t.request('POST', '/api/v1/devices/bulk', { token: t.tokens.operator, body: { action: 'tag', ids: ['own-1', 'victim-1', 'victim-2'], tags: { pwned: 'yes' } } });
      expect(listed.json()).toMatchObject({ count: 1, tenant: 'DEFAULT' });
      const filtered = await t.request('POST', '/api/v1/devices/bulk', { token: t.tokens.operator, body: { action: 'set-location', filter: { tag: 'ring=all' }, location: 'nowhere' } });
      expect(filtered.json()).toMatchObject({ count: 2 });
      const byGroupId = await t.request('POST', '/api/v1/devices/bulk', { token: t.tokens.operator, body: { action: 'decommission', group: victimGroup } });
      expect(byGroupId.json()).toMatchObject({ count: 0 });
      const byIdsDecommission = await t.request('POST', '/api/v1/devices/bulk', { token: t.tokens.operator, body: { action: 'decommission', ids: ['victim-1'] } });
      expect(byIdsDecommission.json()).toMatchObject({ count: 0 });
      // A filter cannot widen the tenant.
      expect((await t.request('POST', '/api/v1/devices/bulk', { token: t.tokens.operator, body: { action: 'decommission', filter: { tenant: 't2' } } })).status).toBe(400);
      // A static group of DEFAULT takes no device of t2.
      const group = await t.request('POST', '/api/v1/groups', { token: t.tokens.operator, body: { name: 'sneaky', kind: 'static', devices: ['own-2', 'victim-2'] } });
      expect(group.status).toBe(400);
      expect((await t.request('GET', '/api/v1/groups/sneaky')).status).toBe(404);
      await untouched();
      expect(await victim('own-1')).toMatchObject({ tags: { ring: 'all', pwned: 'yes' }, location: 'nowhere' });
    });

    it('refuses an oversized ids list: 400 past 10,000 ids, 413 past the body limit; nothing changes', async () => {
      const many = Array.from({ length: 10_001 }, (_, i) => `own-${i}`);
      const tooMany = await t.request('POST', '/api/v1/devices/bulk', { token: t.tokens.operator, body: { action: 'tag', ids: many, tags: { big: 'yes' } } });
      expect(tooMany.status).toBe(400);
      const huge = Array.from({ length: 9_000 }, (_, i) => `${'x'.repeat(120)}-${i}`);
      const tooBig = await t.request('POST', '/api/v1/devices/bulk', { token: t.tokens.operator, body: { action: 'tag', ids: huge, tags: { big: 'yes' } } });
      expect(tooBig.status).toBe(413);
      const groupTooMany = await t.request('PATCH', '/api/v1/groups/victims?tenant=t2', { token: t.tokens.operator, body: { add: many } });
      expect(groupTooMany.status).toBe(400);
      expect(((await t.request('GET', '/api/v1/devices/own-1')).json() as Device).tags).not.toHaveProperty('big');
      await untouched();
    });
  });
}
