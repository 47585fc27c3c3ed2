// Attack: guess credentials at full speed. Failed authentications (401) count per client address
// on every route family, each with its own budget: operator API, device API, hawkBit DDI, Mender,
// WebSocket, enrollment (a wrong key is a 401 and counts), registry webhooks. Past the budget the
// address gets 429 for the rest of the minute, even with a good credential, while other families
// go on; a Mender device waiting for acceptance is not a failure. Limits here: 3 a minute.
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/index.js';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';
import { connectWs } from '../testing/ws-client.js';

const LIMIT = 3;
const SECRET = 'rate-limit-webhook-secret';

/** Statuses of `n` calls made one after another. */
async function statuses(n: number, call: (i: number) => Promise<{ status: number }>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await call(i)).status);
  return out;
}
const GUESSED = [401, 401, 401, 429];

function menderAuthRequest(identity: Record<string, string>) {
  const pair = generateKeyPairSync('ed25519');
  const body = Buffer.from(JSON.stringify({ id_data: JSON.stringify(identity), pubkey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), tenant_token: '' }));
  return { body, signature: sign(null, body, pair.privateKey).toString('base64') };
}

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`failed authentication is rate-limited per address and family (${db})`, () => {
    let t: TestApp;
    const clock = new ManualClock(Date.now());
    let deviceToken: string;
    let enrollmentKey: string;
    beforeAll(async () => {
      t = await startTestApp({ db, app: { clock }, config: { authRateLimitPerMinute: LIMIT, deviceAuthRateLimitPerMinute: LIMIT, webhookSecret: SECRET } });
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'dev-1', mode: 'pull' } })).status).toBe(201);
      deviceToken = ((await t.request('POST', '/api/v1/devices/dev-1/token')).json() as { token: string }).token;
      enrollmentKey = ((await t.request('POST', '/api/v1/enrollment-keys', { body: { name: 'fleet' } })).json() as { key: string }).key;
    });
    afterAll(() => t?.close());

    const state = (token: string) => t.request('GET', '/api/v1/device/dev-1/state', { token });

    it('device API: guesses are blocked, then the good token too; the operator API goes on', async () => {
      expect(await statuses(4, (i) => state(`uo_dev_guess${i}`))).toEqual(GUESSED);
      const blocked = await state(deviceToken);
      expect(blocked.status).toBe(429);
      expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(blocked.json()).toMatchObject({ error: { code: 'rate_limited', message: expect.stringContaining('too many failed authentications') } });
      expect((await t.request('GET', '/api/v1/devices/dev-1')).status).toBe(200);
    });

    it('hawkBit DDI: wrong target tokens are blocked', async () => {
      expect(await statuses(4, (i) => t.request('GET', '/DEFAULT/controller/v1/dev-1', { token: null, headers: { authorization: `TargetToken guess-${i}` } }))).toEqual(GUESSED);
    });

    const ask = (request: { body: Buffer; signature: string }) => t.request('POST', '/api/devices/v1/authentication/auth_requests', { token: null, raw: request.body, headers: { 'content-type': 'application/json', 'x-men-signature': request.signature } });

    it('Mender: a device asking again while it waits is not a failure', async () => {
      const pending = menderAuthRequest({ mac: '02:00:00:00:00:01' });
      expect(await statuses(LIMIT + 3, () => ask(pending))).toEqual(Array(LIMIT + 3).fill(401));
    });

    it('Mender: wrong JWTs and new pending keys count, then both are blocked', async () => {
      // The device above made one new auth set (one failure); two guesses use up the budget.
      expect(await statuses(3, (i) => t.request('POST', '/api/devices/v2/deployments/device/deployments/next', { token: `eyJhbGciOiJIUzI1NiJ9.e30.guess${i}`, body: {} }))).toEqual([401, 401, 429]);
      expect((await ask(menderAuthRequest({ mac: '02:00:00:00:00:02' }))).status).toBe(429);
    });

    it('enrollment: wrong keys are 401s that count, and then the right key waits', async () => {
      const enroll = (key: string, id: string) => t.request('POST', '/api/v1/device/enroll', { token: null, body: { enrollmentKey: key, id } });
      expect(await statuses(3, (i) => enroll(`uo_enr_guess${i}`, `e-${i}`))).toEqual([401, 401, 401]);
      expect((await enroll(enrollmentKey, 'e-good')).status).toBe(429);
    });

    it('registry webhooks: wrong secrets are blocked', async () => {
      const hook = (secret: string) => t.request('POST', `/api/v1/webhooks/docker-registry/${secret}`, { token: null, body: { push_data: { tag: '1' }, repository: { repo_name: 'acme/app' } } });
      expect(await statuses(3, (i) => hook(`guess-${i}`))).toEqual([401, 401, 401]);
      expect((await hook(SECRET)).status).toBe(429);
    });

    it('WebSocket: refused upgrades and refused auth messages count, then the upgrade is refused with 429', async () => {
      await expect(connectWs(t.url, { token: 'guess-1' })).rejects.toThrow(/401/);
      await expect(connectWs(t.url, { token: 'guess-2' })).rejects.toThrow(/401/);
      const anonymous = await connectWs(t.url);
      const closed = new Promise<number>((resolve) => anonymous.socket.once('close', (code) => resolve(code)));
      anonymous.send({ type: 'auth', token: 'guess-3' });
      expect(await closed).toBe(4401);
      await expect(connectWs(t.url, { token: t.tokens.viewer })).rejects.toThrow(/429/);
    });

    it('operator API: guesses are blocked, the admin token too, until the minute is over', async () => {
      expect(await statuses(4, (i) => t.request('GET', '/api/v1/devices', { token: `uo_op_guess${i}` }))).toEqual(GUESSED);
      expect((await t.request('GET', '/api/v1/devices')).status).toBe(429);
      // The device API's budget is its own (and its window from the first test is over by now too).
      clock.advance(61_000);
      expect((await t.request('GET', '/api/v1/devices')).status).toBe(200);
      expect((await state(deviceToken)).status).toBe(200);
    });
  });
}
