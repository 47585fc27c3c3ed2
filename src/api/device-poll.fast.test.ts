// The poll fast paths (native device API and hawkBit DDI) against a real server: a 304 from the
// fast path is the framework's 304 header for header, and every other request (wrong token,
// another device, a changed target, HEAD, a query string, a blocked address) goes to the framework
// and gets what it got before. Presence and the poll counters see fast answers too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { parsePrometheusText, sampleValue } from '../testing/prometheus-text.js';
import { ManualTargets, uploadArtifact } from '../testing/pull.js';
import { comparable, rawRequest, type RawAnswer } from '../testing/raw-http.js';

describe('poll fast paths', () => {
  let t: TestApp;
  const targets = new ManualTargets();
  const tokens: Record<string, string> = {};
  const etags: Record<string, string> = {};

  beforeAll(async () => {
    // A low device-side failure limit, so the test reaches it; loopback is a trusted proxy, so each
    // case can come from its own client address (X-Forwarded-For).
    t = await startTestApp({ app: { deviceSync: targets }, config: { deviceAuthRateLimitPerMinute: 5, trustedProxies: ['127.0.0.1/32', '::1/128'] } });
    for (const id of ['fp-a', 'fp-b', 'fp-ddi']) {
      expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull' } })).status).toBe(201);
      tokens[id] = (await t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, Date.now())).token;
    }
    for (const id of ['fp-a', 'fp-b']) {
      const first = await poll(id, tokens[id]!);
      expect(first.status).toBe(200);
      etags[id] = header(first, 'etag')!;
    }
  });
  afterAll(async () => t.close());

  const poll = (id: string, token: string, headers: Record<string, string> = {}, method = 'GET', suffix = '') =>
    rawRequest(t.url, method, `/api/v1/device/${id}/state${suffix}`, { authorization: `Bearer ${token}`, ...headers });
  const header = (answer: RawAnswer, name: string) => answer.headers.find(([n]) => n === name)?.[1];

  /** The request answered with the fast path on, then off: the two answers, and whether the fast path took the first. */
  async function bothWays(send: () => Promise<RawAnswer>): Promise<{ fast: RawAnswer; framework: RawAnswer; tookFastPath: boolean }> {
    const before = t.app.fastRoutes.answered;
    const fast = await send();
    const tookFastPath = t.app.fastRoutes.answered === before + 1;
    t.app.fastRoutes.enabled = false;
    try {
      return { fast, framework: await send(), tookFastPath };
    } finally {
      t.app.fastRoutes.enabled = true;
    }
  }

  it('answers an unchanged poll 304 exactly as the framework does', async () => {
    const { fast, framework, tookFastPath } = await bothWays(() => poll('fp-a', tokens['fp-a']!, { 'if-none-match': etags['fp-a']!, 'x-request-id': 'trace-7' }));
    expect(tookFastPath).toBe(true);
    expect(fast.status).toBe(304);
    expect(comparable(fast)).toEqual(comparable(framework));
    expect(header(fast, 'x-request-id')).toBe('trace-7');
    // Without X-Request-Id each path makes one, from the same sequence.
    const a = await bothWays(() => poll('fp-a', tokens['fp-a']!, { 'if-none-match': etags['fp-a']! }));
    expect(a.tookFastPath).toBe(true);
    expect(comparable(a.fast, ['x-request-id'])).toEqual(comparable(a.framework, ['x-request-id']));
    expect(header(a.fast, 'x-request-id')).toMatch(/^req-[0-9a-z]+$/);
    expect(header(a.fast, 'x-request-id')).not.toBe(header(a.framework, 'x-request-id'));
    // A list of ETags or a weak one matches as in the route.
    const listed = await bothWays(() => poll('fp-a', tokens['fp-a']!, { 'if-none-match': `"other", W/${etags['fp-a']}` }));
    expect(listed.tookFastPath).toBe(true);
    expect(listed.fast.status).toBe(304);
  });

  it('sends everything else to the framework, which answers as before', async () => {
    // Each case from its own address, so its refusals stay below the limit.
    const cases: [string, (from: Record<string, string>) => Promise<RawAnswer>, number][] = [
      ['changed ETag', (from) => poll('fp-a', tokens['fp-a']!, { ...from, 'if-none-match': '"stale"' }), 200],
      ['no If-None-Match', (from) => poll('fp-a', tokens['fp-a']!, from), 200],
      ['HEAD', (from) => poll('fp-a', tokens['fp-a']!, { ...from, 'if-none-match': etags['fp-a']! }, 'HEAD'), 304],
      ['query string', (from) => poll('fp-a', tokens['fp-a']!, { ...from, 'if-none-match': etags['fp-a']! }, 'GET', '?x=1'), 304],
      ["another device's id", (from) => poll('fp-b', tokens['fp-a']!, { ...from, 'if-none-match': etags['fp-b']! }), 403],
      ['an unknown id', (from) => poll('fp-nobody', tokens['fp-a']!, { ...from, 'if-none-match': etags['fp-a']! }), 403],
      ['an operator', (from) => poll('fp-a', t.tokens.viewer, { ...from, 'if-none-match': etags['fp-a']! }), 304],
      ['an escaped id', (from) => poll('fp%2Da', tokens['fp-a']!, { ...from, 'if-none-match': etags['fp-a']! }), 304],
      ['a trailing slash', (from) => rawRequest(t.url, 'GET', '/api/v1/device/fp-a/state/', { ...from, authorization: `Bearer ${tokens['fp-a']}`, 'if-none-match': etags['fp-a']! }), 403],
    ];
    for (const [i, [name, send, status]] of cases.entries()) {
      const from = { 'x-forwarded-for': `198.51.100.${i + 1}` };
      const { fast, framework, tookFastPath } = await bothWays(() => send(from));
      expect({ name, tookFastPath }).toEqual({ name, tookFastPath: false });
      expect({ name, status: fast.status }).toEqual({ name, status });
      expect({ name, answer: comparable(fast, ['x-request-id']) }).toEqual({ name, answer: comparable(framework, ['x-request-id']) });
    }
  });

  it('a changed target is a 200 with the new body, then 304 again from the fast path', async () => {
    const artifact = await uploadArtifact(t.app, Buffer.from('firmware'), { name: 'fp-fw', version: '2.0.0' });
    targets.target('fp-b', artifact);
    const changed = await poll('fp-b', tokens['fp-b']!, { 'if-none-match': etags['fp-b']! });
    expect(changed.status).toBe(200);
    expect(JSON.parse(changed.body)).toMatchObject({ deviceId: 'fp-b', update: { artifactId: artifact.id } });
    const etag = header(changed, 'etag')!;
    expect(etag).not.toBe(etags['fp-b']);
    const { fast, tookFastPath } = await bothWays(() => poll('fp-b', tokens['fp-b']!, { 'if-none-match': etag }));
    expect([tookFastPath, fast.status]).toEqual([true, 304]);
    targets.clear('fp-b');
  });

  it('records presence and counts fast answers like the framework', async () => {
    const before = (await t.app.store.devices.get('fp-a'))!.lastSeen;
    const metricsBefore = parsePrometheusText((await t.request('GET', '/metrics', { token: null })).text);
    const answered = t.app.fastRoutes.answered;
    expect((await poll('fp-a', tokens['fp-a']!, { 'if-none-match': etags['fp-a']! })).status).toBe(304);
    expect(t.app.fastRoutes.answered).toBe(answered + 1);
    await t.app.presence.flush();
    const after = (await t.app.store.devices.get('fp-a'))!;
    expect(after.status).toBe('online');
    expect(Date.parse(after.lastSeen!)).toBeGreaterThan(before ? Date.parse(before) - 1 : 0);
    const metricsAfter = parsePrometheusText((await t.request('GET', '/metrics', { token: null })).text);
    const count = (m: typeof metricsAfter) => sampleValue(m, 'orchestrator_poll_requests_total', { protocol: 'native', result: 'not_modified' }) ?? 0;
    expect(count(metricsAfter) - count(metricsBefore)).toBe(1);
  });

  it('a wrong token goes to the framework (401), counts as a failed authentication, and a blocked address gets 429 even with a good token', async () => {
    const good = () => poll('fp-a', tokens['fp-a']!, { 'if-none-match': etags['fp-a']!, 'x-forwarded-for': '203.0.113.9' });
    expect((await good()).status).toBe(304);
    for (let i = 0; i < 5; i++) {
      const answered = t.app.fastRoutes.answered;
      const refused = await poll('fp-a', `uo_dev_wrong${i}`, { 'if-none-match': etags['fp-a']!, 'x-forwarded-for': '203.0.113.9' });
      expect(refused.status).toBe(401);
      expect(t.app.fastRoutes.answered).toBe(answered);
    }
    const answered = t.app.fastRoutes.answered;
    const blocked = await good();
    expect(blocked.status).toBe(429);
    expect(header(blocked, 'retry-after')).toMatch(/^\d+$/);
    expect(t.app.fastRoutes.answered).toBe(answered);
    // Another address is not blocked.
    expect((await poll('fp-a', tokens['fp-a']!, { 'if-none-match': etags['fp-a']!, 'x-forwarded-for': '203.0.113.10' })).status).toBe(304);
  });

  describe('hawkBit DDI base poll', () => {
    const ddi = (id: string, authorization: string, headers: Record<string, string> = {}, path = `/DEFAULT/controller/v1/${id}`) => rawRequest(t.url, 'GET', path, { authorization, ...headers });
    let etag = '';
    beforeAll(async () => {
      const first = await ddi('fp-ddi', `TargetToken ${tokens['fp-ddi']}`);
      expect(first.status).toBe(200);
      etag = header(first, 'etag')!;
    });

    it('answers an unchanged base poll 304 exactly as the route does', async () => {
      const { fast, framework, tookFastPath } = await bothWays(() => ddi('fp-ddi', `TargetToken ${tokens['fp-ddi']}`, { 'if-none-match': etag, 'x-request-id': 'ddi-1' }));
      expect(tookFastPath).toBe(true);
      expect(fast.status).toBe(304);
      expect(comparable(fast)).toEqual(comparable(framework));
      const metrics = parsePrometheusText((await t.request('GET', '/metrics', { token: null })).text);
      expect(sampleValue(metrics, 'orchestrator_poll_requests_total', { protocol: 'hawkbit', result: 'not_modified' })).toBe(2);
    });

    it('sends everything else to the route', async () => {
      const cases: [string, (from: Record<string, string>) => Promise<RawAnswer>, number][] = [
        ['changed ETag', (from) => ddi('fp-ddi', `TargetToken ${tokens['fp-ddi']}`, { ...from, 'if-none-match': '"stale"' }), 200],
        ['another tenant', (from) => ddi('fp-ddi', `TargetToken ${tokens['fp-ddi']}`, { ...from, 'if-none-match': etag }, '/OTHER/controller/v1/fp-ddi'), 401],
        ['another host', (from) => ddi('fp-ddi', `TargetToken ${tokens['fp-ddi']}`, { ...from, 'if-none-match': etag, host: 'devices.example' }), 200],
        ["another controller's token", (from) => ddi('fp-ddi', `TargetToken ${tokens['fp-a']}`, { ...from, 'if-none-match': etag }), 401],
        ['a wrong token', (from) => ddi('fp-ddi', 'TargetToken uo_dev_nope', { ...from, 'if-none-match': etag }), 401],
        ['a bearer token', (from) => ddi('fp-ddi', `Bearer ${tokens['fp-ddi']}`, { ...from, 'if-none-match': etag }), 401],
      ];
      for (const [i, [name, send, status]] of cases.entries()) {
        const from = { 'x-forwarded-for': `198.51.100.${i + 101}` };
        const { fast, framework, tookFastPath } = await bothWays(() => send(from));
        expect({ name, tookFastPath }).toEqual({ name, tookFastPath: false });
        expect({ name, status: fast.status }).toEqual({ name, status });
        expect({ name, answer: comparable(fast, ['x-request-id']) }).toEqual({ name, answer: comparable(framework, ['x-request-id']) });
      }
    });
  });
});
