// The rollout page after a delta update, in headless Chromium against a real server: a real agent
// updates from release 1 to release 2 fetching only what changed, and the page shows what the API
// says: the bytes fetched and reused in the device list, the data sent and saved in the facts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceAgent } from '../agent/device-agent.js';
import { silentLog } from '../agent/log.js';
import type { Execution } from '../core/index.js';
import { nextEvent } from '../testing/engine.js';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { deltaCase } from '../testing/delta-fixtures.js';

/** The dashboard's fmtBytes (src/web/util.js): 1024-based, one decimal. */
function fmtBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

describe.skipIf(browserMissing)('rollout page after a delta update, in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  let dir: string;
  const tar = deltaCase('tar-one-file', 4 * 1024 * 1024);
  beforeAll(async () => {
    t = await startTestApp();
    b = await openDashboardBrowser(t.url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-web-delta-'));
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows the bytes fetched and reused that the API reports', async () => {
    await t.app.devices.create({ id: 'kiosk-7', mode: 'pull' }, 'test');
    const { token } = await t.app.enrollment.issueToken('kiosk-7', 'test');
    const agent = createDeviceAgent({ server: t.url, deviceId: 'kiosk-7', token, dir }, silentLog);
    await agent.init();
    let rolloutId = '';
    for (const [version, bytes] of [['1.0.0', tar.v1], ['2.0.0', tar.v2]] as const) {
      const artifact = (await t.app.artifacts.upload(Readable.from([bytes]), { name: 'kiosk-image', version }, 'test')).artifact;
      // Listening before the rollout exists: the engine may release it before the answer comes.
      const released = nextEvent(t.app.events, (e) => e.deviceId === 'kiosk-7' && e.type === 'execution.queued');
      const created = await t.request('POST', '/api/v1/rollouts', { body: { name: `kiosk image ${version}`, artifactId: artifact.id, filter: { ids: ['kiosk-7'] } } });
      rolloutId = (created.json() as { id: string }).id;
      expect((await released).rolloutId).toBe(rolloutId);
      await agent.round();
    }
    const execution = ((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices`)).json() as { items: Execution[] }).items[0]!;
    expect(execution).toMatchObject({ state: 'succeeded' });
    expect(execution.bytesReused).toBeGreaterThan(0.8 * tar.v2.length);

    const page = await b.signIn(t.tokens.viewer, { path: `/rollouts/${rolloutId}` });
    const row = page.locator('#rollout-device-table tr[data-device="kiosk-7"]');
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    const headers = await page.locator('#rollout-device-table th').allTextContents();
    const cell = (name: string) => cells[headers.indexOf(name)]!;
    expect(cell('Fetched')).toBe(fmtBytes(execution.bytesFetched!));
    expect(cell('Reused')).toBe(fmtBytes(execution.bytesReused!));
    await expect(page.locator('#rollout-data-sent').innerText()).resolves.toBe(fmtBytes(execution.bytesFetched!));
    await expect(page.locator('#rollout-delta-saved').innerText()).resolves.toContain(fmtBytes(execution.bytesReused!));
    const saved = Math.round((execution.bytesReused! / (execution.bytesReused! + execution.bytesFetched!)) * 100);
    await expect(page.locator('#rollout-delta-saved').innerText()).resolves.toContain(`${saved}%`);
    await b.shot(page, 'rollout-delta');
    expect(b.problems).toEqual([]);
  });
});
