// The dashboard's static files and security headers, and the fleet summary it draws.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STRATEGY, PHASED_STRATEGIES, STRATEGIES } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';

describe('dashboard routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    for (const [id, status, version] of [['w1', 'online', '1.0'], ['w2', 'online', '1.0'], ['w3', 'offline', '2.0']] as const) {
      expect((await t.request('POST', '/api/v1/devices', { body: { id, status, version, location: 'hq' } })).status).toBe(201);
    }
  });
  afterAll(() => t.close());

  it('serves the shell at / with a CSP that allows no inline script and no framing', async () => {
    const page = await t.request('GET', '/', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('<script type="module" src="/ui/app.js">');
    expect(page.text).not.toMatch(/<script>(?!<)/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('serves modules with their type, answers 304 to a matching ETag and 404 to unknown files', async () => {
    const js = await t.request('GET', '/ui/app.js', { token: null });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/text\/javascript/);
    const again = await t.request('GET', '/ui/app.js', { token: null, headers: { 'if-none-match': js.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect((await t.request('GET', '/ui/..%2F..%2Fpackage.json', { token: null })).status).toBe(404);
    expect((await t.request('GET', '/ui/nope.js', { token: null })).status).toBe(404);
  });

  it('serves the strategy table as /ui/strategies.js, a module made from core\'s table', async () => {
    const js = await t.request('GET', '/ui/strategies.js', { token: null });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/text\/javascript/);
    const served = (await import(`data:text/javascript;base64,${Buffer.from(js.text).toString('base64')}`)) as Record<string, unknown>;
    expect({ ...served }).toEqual({ STRATEGIES, DEFAULT_STRATEGY, PHASED_STRATEGY: PHASED_STRATEGIES[0] });
  });

  it('answers the latest report of a device, 404 before it reports', async () => {
    expect((await t.request('GET', '/api/v1/devices/w1/report', { token: t.tokens.viewer })).status).toBe(404);
    const token = ((await t.request('POST', '/api/v1/devices/w1/token', {})).json() as { token: string }).token;
    const sent = await t.request('PATCH', '/api/v1/device/state', { token, body: { version: '1.0', inventory: { os: 'linux' } } });
    expect(sent.status, sent.text).toBeLessThan(300);
    const report = await t.request('GET', '/api/v1/devices/w1/report', { token: t.tokens.viewer });
    expect(report.status).toBe(200);
    expect(report.json()).toMatchObject({ deviceId: 'w1', report: { version: '1.0' }, inventory: { os: 'linux' } });
  });

  it('summarises the fleet for viewers only', async () => {
    expect((await t.request('GET', '/api/v1/fleet/summary', { token: null })).status).toBe(401);
    const summary = (await t.request('GET', '/api/v1/fleet/summary', { token: t.tokens.viewer })).json();
    expect(summary).toMatchObject({ total: 3, byStatus: [{ value: 'online', count: 2 }, { value: 'offline', count: 1 }], byVersion: [{ value: '1.0', count: 2 }, { value: '2.0', count: 1 }], byLocation: [{ value: 'hq', count: 3 }] });
  });
});
