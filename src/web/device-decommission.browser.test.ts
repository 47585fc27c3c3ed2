// A decommissioned device's page in headless Chromium against a real server: it says when the
// device was decommissioned and which hawkBit tenant it belongs to, and its events say that every
// credential was revoked. A screenshot goes to test-output/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';

describe.skipIf(browserMissing)('decommissioned device page in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'till-7', name: 'Store 7 till', tenant: 'store-7', location: 'Store 7', tags: { region: 'west' } } })).status).toBe(201);
    expect((await t.request('POST', '/api/v1/devices/till-7/token')).status).toBe(201);
    expect((await t.request('DELETE', '/api/v1/devices/till-7')).status).toBe(204);
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('shows when it was decommissioned, its tenant, and the event', async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/devices/till-7' });
    const decommissionedAt = ((await t.request('GET', '/api/v1/devices/till-7')).json() as { decommissionedAt: string }).decommissionedAt;
    await expect.poll(() => page.locator('#decommissioned').count()).toBe(1);
    const fields = await page.locator('dl.fields').innerText();
    expect(fields).toMatch(/Decommissioned/i);
    expect(fields).toMatch(/Tenant\s+store-7/i);
    expect(await page.locator('#decommissioned').getAttribute('title')).toMatch(/every credential revoked/);
    expect(decommissionedAt).toEqual(expect.any(String));
    await expect.poll(() => page.getByText('every credential revoked; 0 unfinished executions ended').count()).toBeGreaterThan(0);
    expect(await page.locator('#decommissioned-summary').innerText()).toMatch(/gets no updates[\s\S]*every credential it had is revoked/);
    await b.shot(page, 'device-decommissioned');
    expect(b.problems).toEqual([]);
  });
});
