// The rollout page of a download-ahead rollout before its window, in headless Chromium against a
// real server: the devices that reported `downloaded` show as ready in the facts, the progress
// legend and the device tabs, with the numbers the API gives, and the bandwidth caps are stated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/index.js';
import { nextEvent } from '../testing/engine.js';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';

describe.skipIf(browserMissing)('rollout page of a download-ahead rollout, in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  // 01:00 UTC: the rollout's 02:00-04:00 UTC window opens in an hour.
  const clock = new ManualClock(Date.parse('2026-03-02T01:00:00Z'));
  beforeAll(async () => {
    t = await startTestApp({ app: { clock } });
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('shows how many devices are ready before the window, and the caps', async () => {
    const ids = ['shop-1', 'shop-2', 'shop-3'];
    const tokens = await Promise.all(ids.map((id) => addPullDevice(t.app, id)));
    const artifact = await uploadArtifact(t.app, Buffer.alloc(8192, 7), { name: 'till-fw', version: '8.0.0' });
    const released = Promise.all(ids.map((id) => nextEvent(t.app.events, (e) => e.deviceId === id && e.type === 'execution.queued')));
    const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { name: 'Tills overnight', artifactId: artifact.id, filter: { ids }, window: { daily: '02:00-04:00', timezone: 'UTC' }, downloadAhead: true, maxBandwidth: '20MB/s', maxDeviceBandwidth: '500kB/s' } });
    expect(created.status, created.text).toBe(201);
    const rolloutId = (created.json() as { id: string }).id;
    await released;
    for (const k of [0, 1]) {
      const executionId = (await t.app.store.executions.currentForDevice(ids[k]!))!.id;
      expect((await t.request('PATCH', '/api/v1/device/state', { token: tokens[k]!, body: { execution: { id: executionId, state: 'downloaded' } } })).status).toBe(200);
    }
    const api = (await t.request('GET', `/api/v1/rollouts/${rolloutId}`)).json() as { counts: Record<string, number>; progress: { downloaded: number } };
    expect(api).toMatchObject({ counts: { downloaded: 2, queued: 1 }, progress: { downloaded: 2 } });

    const page = await b.signIn(t.tokens.viewer, { path: `/rollouts/${rolloutId}` });
    await expect.poll(() => page.locator('#rollout-ready').textContent()).toBe('2 of 3 devices ready, installing when the window opens');
    expect(await page.locator('#progress-legend li[data-group="ready"]').getAttribute('data-count')).toBe('2');
    const facts = await page.locator('.facts').textContent();
    expect(facts).toContain('Bandwidth20 MB/s in total (per server) · 500 kB/s per device');
    await expect.poll(() => page.locator('.tab', { hasText: 'Ready (downloaded)' }).textContent()).toContain('2');
    await b.shot(page, 'rollout-download-ahead-ready');
    expect(b.problems).toEqual([]);
  });
});
