// The rollout page's device list and failures, and a push device's page, in headless Chromium
// against a real server: 57 push devices (three of them refuse the update) and six simulated pull
// agents (some roll back after a failed health check) in a progressive rollout held for approval.
// Every count a person sees agrees with the API's counts; the list pages, filters by state (in the
// URL), follows the rollout live through the approval, and links each device to its log.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startCountingReceiver, type CountingReceiver } from '../testing/counting-receiver.js';
import { Fleet } from '../sim/index.js';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';

const GOOD = 54;
const REFUSING = 3;
const PULL = 6;
const TOTAL = GOOD + REFUSING + PULL;
const GROUPS: Record<string, string[]> = {
  succeeded: ['succeeded'],
  failed: ['failed'],
  'rolled-back': ['rolled-back'],
  active: ['delivering', 'downloading', 'installing', 'verifying'],
  ready: ['downloaded'],
  waiting: ['pending', 'queued'],
  cancelled: ['cancelled'],
  skipped: ['skipped'],
};

interface RolloutJson {
  id: string;
  status: string;
  counts: Record<string, number>;
}

const groupCounts = (counts: Record<string, number>) => Object.fromEntries(Object.entries(GROUPS).map(([k, states]) => [k, states.reduce((n, s) => n + (counts[s] ?? 0), 0)]));

/** What the tabs say: { all: 63, succeeded: 50, ... }. */
const tabCounts = (page: Page) =>
  page.locator('#device-state-tabs .tab').evaluateAll((tabs) => Object.fromEntries(tabs.map((t) => [(t as HTMLElement).dataset.state, Number(t.querySelector('.tab-count')!.textContent!.replace(/\D/g, ''))])));

describe.skipIf(browserMissing)('rollout device list in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  let good: CountingReceiver;
  let refusing: http.Server;
  let refusingUrl: string;
  let fleet: Fleet;
  let rollout: RolloutJson;

  const get = async () => (rollout = (await t.request('GET', `/api/v1/rollouts/${rollout.id}`)).json() as RolloutJson);

  beforeAll(async () => {
    t = await startTestApp({ config: { pollIntervalSeconds: 1 } });
    good = await startCountingReceiver();
    refusing = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(422, { 'content-type': 'text/plain' }).end('disk full: 12 MB free, 40 MB needed'));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/update`;
    for (let i = 0; i < GOOD + REFUSING; i++) {
      const id = `kiosk-${String(i).padStart(2, '0')}`;
      expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'http', address: i < REFUSING ? refusingUrl : `${good.url}/update`, location: 'mall' } })).status).toBe(201);
    }
    fleet = await Fleet.create({ server: t.url, token: t.tokens.admin, devices: PULL, pollSeconds: 1, versions: ['1.0.0'], idPrefix: 'pos-', healthFailRate: 0.5, seed: 7 });
    fleet.start();
    const upload = await t.request('POST', '/api/v1/artifacts?name=store-fw&version=5.0.0', { raw: 'store firmware '.repeat(200), headers: { 'content-type': 'application/octet-stream' } });
    const artifactId = (upload.json() as { id: string }).id;
    // Every device in phase 1 but one (any of them: phases are a random sample), held for approval;
    // no threshold stops it, so it completes whichever devices fail.
    const created = await t.request('POST', '/api/v1/rollouts', { body: { name: 'Mall and stores 5.0.0', artifactId, strategy: 'progressive', phases: [{ count: TOTAL - 1, successThreshold: 0, requireApproval: true }, { percent: 100, successThreshold: 0 }] } });
    expect(created.status, created.text).toBe(201);
    rollout = created.json() as RolloutJson;
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await fleet?.stop();
    await good?.close();
    await new Promise((resolve) => refusing?.close(resolve));
    await t?.close();
  });

  /** Tabs, progress legend, chart legend and failures agree with the API's counts. */
  async function countsAgree(page: Page) {
    const api = groupCounts((await get()).counts);
    await expect.poll(() => tabCounts(page)).toEqual({ all: TOTAL, ...api });
    const legend = Object.fromEntries(await page.locator('#progress-legend li').evaluateAll((items) => items.map((li) => [(li as HTMLElement).dataset.group, Number((li as HTMLElement).dataset.count)])));
    for (const [group, n] of Object.entries(legend)) expect(n, group).toBe(api[group]);
    const failures = api.failed! + api['rolled-back']!;
    expect(await page.locator('.chart-legend').textContent()).toBe(`succeeded (${api.succeeded})failed or rolled back (${failures})`);
    expect(await page.locator('.card h2', { hasText: 'Failures' }).textContent()).toBe(failures ? `Failures (${failures})` : 'Failures');
    await expect.poll(() => page.locator('#failure-table tbody tr').count()).toBe(failures);
    return api;
  }

  it('lists every device with counts that agree with the API, pages, and follows the rollout live through the approval', async () => {
    const page = await b.signIn(t.tokens.operator, { path: `/rollouts/${rollout.id}` });
    // Phase 1 ends with one device (phase 2's) still waiting.
    await expect.poll(async () => groupCounts((await get()).counts), { timeout: 30_000 }).toMatchObject({ waiting: 1, active: 0 });
    await countsAgree(page);

    // Page one has 50 devices, page two the rest; together every device once.
    await expect.poll(() => page.locator('#rollout-device-table tbody tr').count()).toBe(50);
    const first = await page.locator('#rollout-device-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.device));
    expect(await page.locator('#rollout-devices-range').textContent()).toBe(`1–50 of ${TOTAL} devices`);
    await page.click('#rollout-devices-next');
    await expect.poll(() => page.locator('#rollout-devices-range').textContent()).toBe(`51–${TOTAL} of ${TOTAL} devices`);
    const second = await page.locator('#rollout-device-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.device));
    expect(new Set([...first, ...second]).size).toBe(TOTAL);

    // Live through the approval: the waiting device is delivered without a reload.
    await page.click('#device-state-tabs [data-state=waiting]');
    await expect.poll(() => page.locator('#rollout-device-table tbody tr').count()).toBe(1);
    expect(await page.locator('#rollout-device-table tbody tr td:nth-child(3)').textContent()).toBe('2');
    await page.click('#btn-approve');
    await page.waitForSelector('.rollout-head .pill-completed', { timeout: 30_000 });
    await expect.poll(() => page.locator('#rollout-device-table').count()).toBe(0);
    expect(await page.locator('#rollout-devices').textContent()).toBe('No device is waiting now.');
    const done = await countsAgree(page);
    expect(done.failed).toBe(REFUSING);
    expect(done.succeeded! + done.failed! + done['rolled-back']!).toBe(TOTAL);
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
    await page.click('#device-state-tabs [data-state=all]');
    await b.shot(page, 'rollout-devices');
    await page.close();
  });

  it("filters by state (kept in the URL), shows each failure's reason, and links each device to its log", async () => {
    const page = await b.signIn(t.tokens.viewer, { path: `/rollouts/${rollout.id}` });
    await page.click('#device-state-tabs [data-state=failed]');
    await expect.poll(() => page.locator('#rollout-device-table tbody tr').count()).toBe(REFUSING);
    expect(page.url()).toMatch(/\?state=failed$/);
    const [failed] = ((await t.request('GET', `/api/v1/rollouts/${rollout.id}/devices?state=failed`)).json() as { items: { deviceId: string; phase: number; attempts: number }[] }).items;
    const cells = await page.locator('#rollout-device-table tbody tr').first().locator('td').allTextContents();
    expect(cells.slice(0, 4)).toEqual([failed!.deviceId, 'Failed', String(failed!.phase + 1), String(failed!.attempts)]);
    expect(cells[0]).toBe('kiosk-00');
    expect(cells[6]).toBe("http_422: device 'kiosk-00' answered 422: disk full: 12 MB free, 40 MB needed");
    expect(cells[7]).toMatch(/^\d+ (s|min)$/);
    await b.shot(page, 'rollout-devices-failed');

    // Rolled back: the health check's reason, in the list and in the failures.
    const rolledBack = groupCounts(rollout.counts)['rolled-back']!;
    if (rolledBack) {
      // The rows of the tab, not the failed tab's still shown (both may have three).
      await page.click('#device-state-tabs [data-state=rolled-back]');
      await expect.poll(() => page.locator('#rollout-device-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.state))).toEqual(Array(rolledBack).fill('rolled-back'));
      expect(await page.locator('#rollout-device-table tbody tr td:nth-child(7)').first().textContent()).toMatch(/^rolled back: simulated health failure of store-fw 5\.0\.0/);
      expect(await page.locator('#failure-table').textContent()).toContain('rolled back: simulated health failure of store-fw 5.0.0');
    }

    // A link with the filter opens with it.
    await page.goto(`${t.url}/#/rollouts/${rollout.id}?state=failed`);
    await expect.poll(() => page.locator('#device-state-tabs .tab-active').getAttribute('data-state')).toBe('failed');
    await expect.poll(() => page.locator('#rollout-device-table tbody tr').count()).toBe(REFUSING);

    await page.locator('#rollout-device-table tbody tr').first().getByRole('link', { name: 'Events of kiosk-00 in this rollout' }).click();
    await page.waitForURL(/#\/events\?rolloutId=.+&deviceId=kiosk-00$/);
    await expect.poll(() => page.locator('#event-table tbody tr').count()).toBeGreaterThan(1);
    expect(new Set(await page.locator('#event-table tbody tr td:nth-child(4)').allTextContents())).toEqual(new Set(['kiosk-00']));
    expect(await page.locator('#event-table').textContent()).toContain('disk full: 12 MB free, 40 MB needed');
    await page.close();
  });

  it("describes a push device's delivery instead of a poll interval", async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/devices/kiosk-00' });
    await page.waitForSelector('#push-summary');
    expect(await page.locator('#push-summary').textContent()).toContain('The server pushes updates to this device over HTTP POST.');
    const card = (await page.locator('.card', { hasText: 'Push delivery' }).textContent()) ?? '';
    expect(card).toContain(refusingUrl);
    expect(card).not.toMatch(/polls every/);
    expect(await page.locator('.card h2', { hasText: 'Last report' }).count()).toBe(0);
    await b.shot(page, 'device-push');

    // A pull device still says how often it polls.
    await page.goto(`${t.url}/#/devices/pos-0`);
    await expect.poll(() => page.locator('.card', { hasText: 'Current target' }).textContent()).toContain('The device polls every 1 s.');
    await page.close();
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    expect(b.problems).toEqual([]);
  });
});
