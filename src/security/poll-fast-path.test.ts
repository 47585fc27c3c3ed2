// Attacker's side of the poll fast paths (src/api/device-poll.fast.ts, the DDI one): a 304 from
// memory must never be had without what the framework demands. Real HTTP against a real server,
// on SQLite and PostgreSQL: revoked and replaced tokens, a device's token on another device's id,
// a deleted device, token guessing past the refused-attempts limit, a spoofed address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { rawRequest, type RawAnswer } from '../testing/raw-http.js';

const LIMIT = 4;

for (const db of ['sqlite', 'postgres'] as const) {
  describe.skipIf(db === 'postgres' && (await postgresUnavailable()) !== null)(`poll fast path cannot bypass auth or limits (${db})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      // Loopback is a trusted proxy here, so each test's requests come from their own address.
      t = await startTestApp({ db, config: { deviceAuthRateLimitPerMinute: LIMIT, trustedProxies: ['127.0.0.1/32', '::1/128'] } });
    });
    afterAll(async () => t.close());

    /** A pull device with a token whose poll is cached (the next matching poll would be a fast 304). */
    async function cachedDevice(id: string, from: string): Promise<{ token: string; etag: string }> {
      expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull' } })).status).toBe(201);
      const { token } = (await t.request('POST', `/api/v1/devices/${id}/token`, { token: t.tokens.operator })).json() as { token: string };
      const first = await poll(id, token, '', from);
      expect(first.status).toBe(200);
      const etag = first.headers.find(([n]) => n === 'etag')![1];
      const before = t.app.fastRoutes.answered;
      expect((await poll(id, token, etag, from)).status).toBe(304);
      expect(t.app.fastRoutes.answered).toBe(before + 1);
      return { token, etag };
    }
    const poll = (id: string, token: string, etag: string, from: string): Promise<RawAnswer> =>
      rawRequest(t.url, 'GET', `/api/v1/device/${id}/state`, { authorization: `Bearer ${token}`, 'x-forwarded-for': from, ...(etag ? { 'if-none-match': etag } : {}) });

    it('a revoked or replaced token gets 401 at once, not the cached 304', async () => {
      const a = await cachedDevice('sec-fp-1', '192.0.2.1');
      expect((await t.request('DELETE', '/api/v1/devices/sec-fp-1/token', { token: t.tokens.operator })).status).toBe(200);
      expect((await poll('sec-fp-1', a.token, a.etag, '192.0.2.1')).status).toBe(401);
      const b = await cachedDevice('sec-fp-2', '192.0.2.2');
      expect((await t.request('POST', '/api/v1/devices/sec-fp-2/token', { token: t.tokens.operator })).status).toBe(201);
      expect((await poll('sec-fp-2', b.token, b.etag, '192.0.2.2')).status).toBe(401);
    });

    it("a device's token with another device's id and ETag gets 403, not that device's 304", async () => {
      const victim = await cachedDevice('sec-fp-victim', '192.0.2.3');
      const attacker = await cachedDevice('sec-fp-attacker', '192.0.2.4');
      const answer = await poll('sec-fp-victim', attacker.token, victim.etag, '192.0.2.4');
      expect(answer.status).toBe(403);
      expect(answer.body).toContain("belongs to device 'sec-fp-attacker'");
    });

    it('a deleted device is not answered from memory', async () => {
      const gone = await cachedDevice('sec-fp-gone', '192.0.2.5');
      expect((await t.request('DELETE', '/api/v1/devices/sec-fp-gone')).status).toBe(204);
      expect([401, 404]).toContain((await poll('sec-fp-gone', gone.token, gone.etag, '192.0.2.5')).status);
    });

    it('guessing tokens is limited, and a blocked address gets no fast 304 with a stolen good token either', async () => {
      const device = await cachedDevice('sec-fp-guess', '192.0.2.6');
      for (let i = 0; i < LIMIT; i++) expect((await poll('sec-fp-guess', `uo_dev_guess${i}`, device.etag, '192.0.2.6')).status).toBe(401);
      expect((await poll('sec-fp-guess', 'uo_dev_guess-more', device.etag, '192.0.2.6')).status).toBe(429);
      const before = t.app.fastRoutes.answered;
      expect((await poll('sec-fp-guess', device.token, device.etag, '192.0.2.6')).status).toBe(429);
      expect(t.app.fastRoutes.answered).toBe(before);
    });

    it('a DDI poll cached for one controller is not answered to another token, nor to a revoked one', async () => {
      const device = await cachedDevice('sec-fp-ddi', '192.0.2.7');
      const other = await cachedDevice('sec-fp-ddi-other', '192.0.2.8');
      const ddi = (token: string, etag = '') => rawRequest(t.url, 'GET', '/DEFAULT/controller/v1/sec-fp-ddi', { authorization: `TargetToken ${token}`, 'x-forwarded-for': '192.0.2.7', ...(etag ? { 'if-none-match': etag } : {}) });
      const first = await ddi(device.token);
      expect(first.status).toBe(200);
      const etag = first.headers.find(([n]) => n === 'etag')![1];
      expect((await ddi(device.token, etag)).status).toBe(304);
      expect((await ddi(other.token, etag)).status).toBe(401);
      expect((await t.request('DELETE', '/api/v1/devices/sec-fp-ddi/token', { token: t.tokens.operator })).status).toBe(200);
      expect((await ddi(device.token, etag)).status).toBe(401);
    });
  });
}
