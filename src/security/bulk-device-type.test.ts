// The bulk set-device-type action from the attacker's side, over real HTTP on SQLite and
// PostgreSQL: no token is refused before the body is read; a viewer cannot run it, not even as a
// dry run; the device type is bounded and checked at the edge (length, charset: no SQL, no glob,
// no markup), it is not accepted by another action, and another tenant's devices keep theirs even
// when their ids are listed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`bulk set-device-type under attack (${db})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ db, config: { authRateLimitPerMinute: 0 } });
      for (const [id, tenant] of [['own-1', 'DEFAULT'], ['own-2', 'DEFAULT'], ['victim-1', 't2']]) {
        expect((await t.request('POST', '/api/v1/devices', { body: { id, tenant, deviceType: 'orig' } })).status).toBe(201);
      }
    });
    afterAll(() => t?.close());

    const typeOf = async (id: string) => ((await t.request('GET', `/api/v1/devices/${id}`)).json() as { deviceType: string | null }).deviceType;
    const bulk = (body: unknown, token: string | null = t.tokens.operator, dry = false) => t.request('POST', `/api/v1/devices/bulk${dry ? '?dryRun=true' : ''}`, { token, body });

    it('answers 401 without a token and 403 to a viewer before it reads the body', async () => {
      for (const body of [{ action: 'set-device-type', ids: ['own-1'], deviceType: 'rpi4' }, { action: 'set-device-type', deviceType: 'x'.repeat(5000) }, 'broken']) {
        expect((await bulk(body, null)).status).toBe(401);
        expect((await bulk(body, 'not-a-token')).status).toBe(401);
        expect((await bulk(body, t.tokens.viewer)).status).toBe(403);
        expect((await bulk(body, t.tokens.viewer, true)).status).toBe(403);
      }
      expect(await typeOf('own-1')).toBe('orig');
    });

    it('refuses a device type that is too long, not a string, a pattern, SQL or markup, naming the field', async () => {
      for (const deviceType of ['x'.repeat(65), 42, ['rpi4'], { $ne: null }, 'rpi*', "rpi4'; DROP TABLE devices; --", '<script>', '', ' rpi4', '../etc']) {
        const answer = await bulk({ action: 'set-device-type', ids: ['own-1'], deviceType });
        expect(answer.status, String(deviceType)).toBe(400);
        expect(answer.text).toMatch(/deviceType/);
      }
      expect((await bulk({ action: 'set-device-type', ids: ['own-1'] })).status).toBe(400);
      // Another action does not take a device type, nor this one a location.
      expect((await bulk({ action: 'tag', ids: ['own-1'], tags: { a: 'b' }, deviceType: 'rpi4' })).status).toBe(400);
      expect((await bulk({ action: 'set-device-type', ids: ['own-1'], deviceType: 'rpi4', location: 'x' })).status).toBe(400);
      expect(await typeOf('own-1')).toBe('orig');
    });

    it('changes only devices of its tenant, even with another tenant’s ids listed', async () => {
      const dry = await bulk({ action: 'set-device-type', ids: ['own-1', 'victim-1'], deviceType: 'rpi4' }, t.tokens.operator, true);
      expect(dry.json()).toMatchObject({ count: 1, dryRun: true });
      expect(await typeOf('own-1')).toBe('orig');
      const run = await bulk({ action: 'set-device-type', ids: ['own-1', 'victim-1'], deviceType: 'rpi4' });
      expect(run.status, run.text).toBe(200);
      expect(run.json()).toMatchObject({ action: 'set-device-type', count: 1 });
      expect(await typeOf('own-1')).toBe('rpi4');
      expect(await typeOf('victim-1')).toBe('orig');
      // One audited event with the count; the device's own history has the change.
      const events = (await t.request('GET', '/api/v1/events?type=devices.bulk-set-device-type')).json() as { items: { data: { count: number; deviceType: string } }[] };
      expect(events.items.map((e) => e.data)).toEqual([expect.objectContaining({ count: 1, deviceType: 'rpi4' })]);
      const cleared = await bulk({ action: 'set-device-type', filter: { deviceType: 'rpi4' }, deviceType: null });
      expect(cleared.json()).toMatchObject({ count: 1 });
      expect(await typeOf('own-1')).toBeNull();
    });
  });
}
