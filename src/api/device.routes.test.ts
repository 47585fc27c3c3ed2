// The device registry's HTTP API end to end, on SQLite and PostgreSQL: auth, validation, CRUD,
// filters, paging, import (with line numbers for bad rows) and export.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable } from '../testing/postgres.js';
import { startTestApp, type TestApp } from '../testing/app.js';

type List = { items: { id: string }[]; nextCursor: string | null; total: number };

function fleetCsv(rows: number, bad: Map<number, string> = new Map()): string {
  const lines = ['id,name,address,mode,status,lastSeen,version,location,timezone,tags,metadata'];
  for (let i = 0; i < rows; i++) {
    const line = bad.get(i + 2);
    if (line !== undefined) {
      lines.push(line);
      continue;
    }
    const status = ['online', 'offline', 'unknown'][i % 3];
    const version = ['1.8.0', '1.9.3', '2.0.0', '2.1.0'][i % 4];
    const region = ['west', 'east', 'central'][i % 3 === 0 ? 0 : i % 2 === 0 ? 1 : 2];
    lines.push(`pos-${String(i).padStart(5, '0')},"Store ${i}, aisle 1",,pull,${status},2026-11-01T00:00:00Z,${version},Store ${i % 50},America/Denver,region=${region};tier=${i % 7 === 0 ? 'gold' : 'std'},"{""priority"":${i % 3}}"`);
  }
  return lines.join('\n') + '\n';
}

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`devices API on ${db}`, () => {
    let t: TestApp;
    let skip: string | null = null;
    beforeAll(async () => {
      skip = db === 'postgres' ? await postgresUnavailable() : null;
      if (!skip) t = await startTestApp({ db });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('requires a token, and a role that allows the call', async (ctx) => {
      if (skip) return ctx.skip();
      expect((await t.request('GET', '/api/v1/devices', { token: null })).status).toBe(401);
      expect((await t.request('GET', '/api/v1/devices', { token: 'uo_op_nonsense' })).status).toBe(401);
      expect((await t.request('GET', '/api/v1/devices', { token: t.tokens.viewer })).status).toBe(200);
      const denied = await t.request('POST', '/api/v1/devices', { token: t.tokens.viewer, body: { id: 'x' } });
      expect(denied.status).toBe(403);
      expect(denied.json()).toMatchObject({ error: { code: 'forbidden' } });
      expect((await t.request('POST', '/api/v1/tokens', { token: t.tokens.operator, body: { role: 'admin' } })).status).toBe(403);
    });

    it('creates, conflicts, patches, replaces and decommissions with the right status codes', async (ctx) => {
      if (skip) return ctx.skip();
      const created = await t.request('POST', '/api/v1/devices', { token: t.tokens.operator, body: { id: 'api-1', mode: 'http', address: 'http://127.0.0.1:9/u', tags: { region: 'west' } } });
      expect(created.status).toBe(201);
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'api-1' } })).status).toBe(409);
      const patched = await t.request('PATCH', '/api/v1/devices/api-1', { body: { version: '2.0.0' } });
      expect(patched.json()).toMatchObject({ id: 'api-1', version: '2.0.0', mode: 'http', tags: { region: 'west' } });
      expect((await t.request('PATCH', '/api/v1/devices/api-1', { body: { mode: 'ssh' } })).json()).toMatchObject({ error: { details: [{ path: 'address' }] } });
      expect((await t.request('PUT', '/api/v1/devices/api-2', { body: { name: 'two' } })).status).toBe(201);
      expect((await t.request('PUT', '/api/v1/devices/api-2', { body: { name: 'two again' } })).status).toBe(200);
      expect((await t.request('DELETE', '/api/v1/devices/api-2')).status).toBe(204);
      // Kept, marked, out of lists; a second DELETE changes nothing; it cannot be edited.
      expect((await t.request('GET', '/api/v1/devices/api-2')).json()).toMatchObject({ id: 'api-2', name: 'two again', decommissionedAt: expect.any(String) });
      expect((await t.request('GET', '/api/v1/devices?q=api-2')).json()).toMatchObject({ items: [], total: 0 });
      expect((await t.request('GET', '/api/v1/devices?decommissioned=true&q=api-2')).json()).toMatchObject({ items: [{ id: 'api-2' }], total: 1 });
      expect((await t.request('DELETE', '/api/v1/devices/api-2')).status).toBe(204);
      expect((await t.request('PATCH', '/api/v1/devices/api-2', { body: { name: 'three' } })).status).toBe(409);
      expect((await t.request('PUT', '/api/v1/devices/api-2', { body: { name: 'three' } })).status).toBe(409);
      expect((await t.request('DELETE', '/api/v1/devices/api-404')).status).toBe(404);
      const events = await t.app.store.events.list({ deviceId: 'api-1', limit: 10 });
      expect(events.map((e) => e.type)).toEqual(['device.updated', 'device.created']);
    });

    it('sets the device type on create, PATCH and PUT, shows it in JSON and CSV, and filters by it', async (ctx) => {
      if (skip) return ctx.skip();
      expect((await t.request('POST', '/api/v1/devices', { token: t.tokens.operator, body: { id: 'typed-1', deviceType: 'rpi4' } })).json()).toMatchObject({ id: 'typed-1', deviceType: 'rpi4' });
      expect((await t.request('PUT', '/api/v1/devices/typed-2', { body: { deviceType: 'rpi3' } })).json()).toMatchObject({ deviceType: 'rpi3' });
      expect((await t.request('PATCH', '/api/v1/devices/typed-2', { body: { deviceType: 'imx8' } })).json()).toMatchObject({ deviceType: 'imx8' });
      expect((await t.request('GET', '/api/v1/devices?deviceType=rpi4,imx8&q=typed-')).json()).toMatchObject({ items: [{ id: 'typed-1' }, { id: 'typed-2' }], total: 2 });
      const csv = await t.request('GET', '/api/v1/devices/export?format=csv&deviceType=imx8');
      expect(csv.text.trim().split('\n')[1]).toMatch(/,imx8$/);
      expect((await t.request('PATCH', '/api/v1/devices/typed-2', { body: { deviceType: 'no spaces' } })).json()).toMatchObject({ error: { details: [{ path: 'deviceType' }] } });
    });

    it('answers bad input of every kind with a 4xx that says what is wrong', async (ctx) => {
      if (skip) return ctx.skip();
      const cases: { method: string; path: string; body?: unknown; raw?: string; headers?: Record<string, string>; status: number; mention: RegExp }[] = [
        { method: 'POST', path: '/api/v1/devices', raw: '{"id": "broken', headers: { 'content-type': 'application/json' }, status: 400, mention: /JSON/i },
        { method: 'POST', path: '/api/v1/devices', body: [1, 2], status: 400, mention: /object/ },
        { method: 'POST', path: '/api/v1/devices', body: { id: 42 }, status: 400, mention: /id/ },
        { method: 'POST', path: '/api/v1/devices', body: { id: 'a/../../b' }, status: 400, mention: /id/ },
        { method: 'POST', path: '/api/v1/devices', body: { id: 'tz', timezone: 'Europe/Atlantis' }, status: 400, mention: /timezone/ },
        { method: 'POST', path: '/api/v1/devices', body: { id: 'x'.repeat(500) }, status: 400, mention: /id/ },
        { method: 'POST', path: '/api/v1/devices', body: { id: 'big', metadata: { blob: 'x'.repeat(20_000) } }, status: 400, mention: /metadata/ },
        { method: 'POST', path: '/api/v1/devices', raw: JSON.stringify({ id: 'huge', name: 'y'.repeat(2_000_000) }), headers: { 'content-type': 'application/json' }, status: 413, mention: /large/i },
        { method: 'POST', path: '/api/v1/devices', raw: 'id=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, mention: /content-type|media/i },
        { method: 'GET', path: '/api/v1/devices?status=sleeping', status: 400, mention: /status/ },
        { method: 'GET', path: '/api/v1/devices?version=%3E%3D', status: 400, mention: /version/ },
        { method: 'GET', path: '/api/v1/devices?tag=region', status: 400, mention: /key:value/ },
        { method: 'GET', path: '/api/v1/devices?limit=0', status: 400, mention: /limit/ },
        { method: 'GET', path: '/api/v1/devices?limit=abc', status: 400, mention: /limit/ },
        { method: 'GET', path: '/api/v1/devices?cursor=%27%3B%20DROP%20TABLE%20devices%3B--', status: 400, mention: /cursor/ },
        { method: 'GET', path: "/api/v1/devices?q=%27%20OR%201%3D1%20--", status: 200, mention: /"total":0/ },
        { method: 'GET', path: '/api/v1/devices?lastSeenBefore=yesterday', status: 400, mention: /lastSeenBefore/ },
        { method: 'GET', path: '/api/v1/nowhere', status: 404, mention: /no route/ },
        // U+0000, which PostgreSQL cannot store, in a path parameter, a query string, a body value or key.
        { method: 'GET', path: '/api/v1/devices/a%00b', status: 400, mention: /params\.id must not contain a NUL/ },
        { method: 'GET', path: '/api/v1/devices?q=%00', status: 400, mention: /querystring\.q must not contain a NUL/ },
        { method: 'POST', path: '/api/v1/devices', body: { id: 'nul', name: 'a\u0000b' }, status: 400, mention: /body\.name must not contain a NUL/ },
        { method: 'POST', path: '/api/v1/devices', body: { id: 'nul', metadata: { 'k\u0000': 1 } }, status: 400, mention: /body\.metadata\.k/ },
        // JSON nested deeper than recursive validators can walk.
        { method: 'POST', path: '/api/v1/devices', raw: `{"id":"deep","metadata":{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`, headers: { 'content-type': 'application/json' }, status: 400, mention: /nests deeper than 64 levels/ },
      ];
      for (const c of cases) {
        const response = await t.request(c.method, c.path, { body: c.body, raw: c.raw, headers: c.headers });
        expect(response.status, `${c.method} ${c.path} -> ${response.text.slice(0, 200)}`).toBe(c.status);
        expect(response.text, c.path).toMatch(c.mention);
        if (c.status >= 400) expect(response.json(), c.path).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      }
      // Nothing of the above was stored, and the table still works.
      expect((await t.request('GET', '/api/v1/devices?q=huge')).json()).toMatchObject({ total: 0 });
    });

    it('imports 10,000 CSV rows: refuses bad rows with line numbers, then imports the rest with skipInvalid', async (ctx) => {
      if (skip) return ctx.skip();
      const bad = new Map([
        [17, 'pos-bad-1,Bad,,teleport,online,,1.0.0,X,UTC,,'],
        [503, 'pos-bad-2,Bad,,pull,online,,1.0.0,X,Nowhere/Zone,,'],
        [9001, 'pos-bad-3,Bad,,pull,online,,1.0.0,X,UTC,region,'],
        [9002, 'pos-bad-4,Bad,,pull,online,,1.0.0,X,UTC,,{not json}'],
        [9003, 'pos-bad-5,Bad,,pull,online,,1.0.0,X,UTC,,"{""k"":""a\\u0000b""}"'],
      ]);
      const csv = fleetCsv(10_000, bad);
      const refused = await t.request('POST', '/api/v1/devices/import?format=csv', { raw: csv, headers: { 'content-type': 'text/csv' } });
      expect(refused.status).toBe(400);
      const details = (refused.json() as { error: { details: { path: string; message: string }[] } }).error.details;
      expect(details.map((d) => d.path)).toEqual(['line 17', 'line 503', 'line 9001', 'line 9002', 'line 9003']);
      expect(details[0]!.message).toMatch(/mode/);
      expect(details[1]!.message).toMatch(/timezone/);
      expect(details[2]!.message).toMatch(/key=value/);
      expect(details[3]!.message).toMatch(/metadata/);
      expect(details[4]!.message).toMatch(/metadata\.k must not contain a NUL/);
      expect((await t.request('GET', '/api/v1/devices?q=pos-0')).json()).toMatchObject({ total: 0 });

      const imported = await t.request('POST', '/api/v1/devices/import?format=csv&skipInvalid=true', { raw: csv, headers: { 'content-type': 'text/csv' } });
      expect(imported.status).toBe(200);
      expect(imported.json()).toMatchObject({ rows: 10_000, created: 9_995, updated: 0, skipped: 5, invalid: [{ line: 17 }, { line: 503 }, { line: 9001 }, { line: 9002 }, { line: 9003 }] });
      const again = await t.request('POST', '/api/v1/devices/import?skipInvalid=true', { raw: csv, headers: { 'content-type': 'text/csv' } });
      expect(again.json()).toMatchObject({ created: 0, updated: 9_995 });
      const all = (await t.request('GET', '/api/v1/devices?tag=tier:gold&limit=1')).json() as List;
      expect(all.total).toBe(Array.from({ length: 10_000 }, (_, i) => i).filter((i) => i % 7 === 0 && !bad.has(i + 2)).length);
    });

    it('lists exactly the devices that match status, tag and version range, across pages', async (ctx) => {
      if (skip) return ctx.skip();
      const expected = Array.from({ length: 10_000 }, (_, i) => i)
        .filter((i) => i % 3 === 0 && ['1.8.0', '1.9.3'].includes(['1.8.0', '1.9.3', '2.0.0', '2.1.0'][i % 4]!) && ![15, 501, 8999, 9000, 9001].includes(i))
        .map((i) => `pos-${String(i).padStart(5, '0')}`);
      const got: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `/api/v1/devices?status=online&tag=region:west&version=${encodeURIComponent('<2.0.0')}&limit=500${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await t.request('GET', query, { token: t.tokens.viewer })).json() as List;
        expect(page.total).toBe(expected.length);
        got.push(...page.items.map((d) => d.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(got).toEqual(expected);
      expect(((await t.request('GET', '/api/v1/devices/count?status=online&tag=region:west&version=%3C2.0.0')).json() as { total: number }).total).toBe(expected.length);
    });

    it('reads tag=key=value like key:value, and a partial version as a range (2.0 = 2.0.x)', async (ctx) => {
      if (skip) return ctx.skip();
      const count = async (query: string) => ((await t.request('GET', `/api/v1/devices/count?${query}`, { token: t.tokens.viewer })).json() as { total: number }).total;
      // The imported fleet: tier=gold on every 7th device, versions 1.8.0, 1.9.3, 2.0.0, 2.1.0 in turn.
      const gold = await count('tag=tier:gold');
      expect(gold).toBeGreaterThan(0);
      expect(await count('tag=tier%3Dgold')).toBe(gold);
      expect(await count('tag=tier%3Dgold&tag=region:west')).toBe(await count('tag=tier:gold&tag=region%3Dwest'));
      const on200 = await count('version=2.0.0');
      expect(on200).toBeGreaterThan(0);
      expect(await count('version=2.0')).toBe(on200);
      expect(await count('version=2')).toBe(on200 + (await count('version=2.1.0')));
      expect(await count('version=1')).toBe((await count('version=1.8.0')) + (await count('version=1.9.3')));
    });

    it('exports CSV and NDJSON that import back unchanged', async (ctx) => {
      if (skip) return ctx.skip();
      const csv = await t.request('GET', '/api/v1/devices/export?format=csv&tag=tier:gold&location=Store%200');
      expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
      const lines = csv.text.trim().split('\n');
      expect(lines[0]).toBe('id,name,address,mode,status,lastSeen,version,location,timezone,tags,metadata,tenant,deviceType');
      expect(lines.length).toBeGreaterThan(1);
      const ndjson = await t.request('GET', '/api/v1/devices/export?format=ndjson&tag=tier:gold&location=Store%200');
      const first = JSON.parse(ndjson.text.split('\n')[0]!) as Record<string, unknown>;
      expect(first).toMatchObject({ name: expect.stringContaining('aisle 1'), tags: { tier: 'gold' }, metadata: { priority: expect.any(Number) } });
      expect(first).not.toHaveProperty('createdAt');
      const reimport = await t.request('POST', '/api/v1/devices/import?format=ndjson', { raw: ndjson.text, headers: { 'content-type': 'application/x-ndjson' } });
      expect(reimport.json()).toMatchObject({ created: 0, updated: lines.length - 1 });
      const back = await t.request('POST', '/api/v1/devices/import', { raw: csv.text, headers: { 'content-type': 'text/csv' } });
      expect(back.json()).toMatchObject({ created: 0, updated: lines.length - 1, skipped: 0 });
    });

    it('serves its OpenAPI document, docs and health', async (ctx) => {
      if (skip) return ctx.skip();
      const spec = (await t.request('GET', '/openapi.json', { token: null })).json() as { paths: Record<string, unknown> };
      expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/v1/devices', '/api/v1/devices/{id}', '/api/v1/devices/import']));
      expect((await t.request('GET', '/docs/', { token: null })).status).toBe(200);
      expect((await t.request('GET', '/healthz', { token: null })).json()).toEqual({ status: 'ok' });
      expect((await t.request('GET', '/readyz', { token: null })).json()).toMatchObject({ status: 'ready', database: db });
    });
  });
}
