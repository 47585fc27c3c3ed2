// What a rollout waits for, honest counts, retry from the failures list and a cancelled device that
// installed anyway, in headless Chromium against a real server (push devices on a counting
// receiver, a pull device speaking the device API):
// - a rollout waiting for approval shows the badge and no ETA on the list, the overview and its
//   page; an operator's Approve on the list makes it go on, a viewer gets no button;
// - every count on the rollout page (progress, outcome, legend, chart legend, failures header,
//   tabs) agrees with GET /api/v1/rollouts/:id, and the counts add up to the device count;
// - a rollout aborted on its error threshold reads done and failed apart; Retry on the failures
//   list shows the API's refusal, re-queues one failed device, then every failed one;
// - a cancelled device that installed anyway reads so on the rollout page and its device page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startCountingReceiver, type CountingReceiver } from '../testing/counting-receiver.js';
import { nextEvent } from '../testing/engine.js';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { addPullDevice } from '../testing/pull.js';

interface RolloutJson {
  id: string;
  status: string;
  waiting: string | null;
  counts: Record<string, number>;
  progress: { total: number; finished: number; succeeded: number; failed: number; percentDone: number; etaSeconds: number | null; installedAfterCancel: number };
}

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
const groupCounts = (counts: Record<string, number>) => Object.fromEntries(Object.entries(GROUPS).map(([k, states]) => [k, states.reduce((n, s) => n + (counts[s] ?? 0), 0)]));
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((n, c) => n + c, 0);
const numberIn = (text: string | null) => Number((text ?? '').replace(/\D/g, ''));

describe.skipIf(browserMissing)('rollout waits, counts, retry and installed-anyway in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  let receiver: CountingReceiver;
  let artifactId: string;

  const get = async (id: string) => (await t.request('GET', `/api/v1/rollouts/${id}`)).json() as RolloutJson;

  async function pushDevices(prefix: string, n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    for (const id of ids) expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'http', address: `${receiver.url}/update`, location: 'store' } })).status).toBe(201);
    return ids;
  }

  async function create(body: Record<string, unknown>): Promise<string> {
    const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId, ...body } });
    expect(created.status, created.text).toBe(201);
    return (created.json() as { id: string }).id;
  }

  /** Every number the rollout page shows, read from the DOM as a person reads it. */
  async function shown(page: Page) {
    const text = (selector: string) => page.locator(selector).first().textContent();
    const numbers = (selector: string, attribute: string, inner: string) =>
      page.locator(selector).evaluateAll((els, [attr, sel]) => Object.fromEntries(els.map((el) => [(el as HTMLElement).getAttribute(attr!), Number(el.querySelector(sel!)!.textContent!.replace(/\D/g, ''))])), [attribute, inner]);
    return {
      tabs: await numbers('#device-state-tabs .tab', 'data-state', '.tab-count'),
      percent: await text('#rollout-percent'),
      finished: await text('#rollout-finished'),
      outcome: ((await text('#rollout-outcome')) ?? '').split(' · ').slice(0, 2).join(' · '),
      legend: await numbers('#progress-legend li', 'data-group', 'strong'),
      chart: await text('.chart-legend'),
      failuresHeader: await page.locator('.card h2', { hasText: 'Failures' }).textContent(),
      failureRows: await page.locator('#failure-table tbody tr').count(),
    };
  }

  /** What the page must show for the API's rollout JSON. */
  function expected(r: RolloutJson, legendGroups: string[]) {
    const groups = groupCounts(r.counts);
    const p = r.progress;
    return {
      tabs: { all: p.total, ...groups },
      percent: `${Math.floor(p.percentDone)}%`,
      finished: ` done: ${p.finished} of ${p.total} devices finished`,
      outcome: `${p.succeeded} succeeded · ${p.failed} failed or rolled back`,
      legend: Object.fromEntries(legendGroups.map((g) => [g, groups[g]])),
      chart: `succeeded (${p.succeeded})failed or rolled back (${p.failed})`,
      failuresHeader: p.failed ? `Failures (${p.failed})` : 'Failures',
      failureRows: p.failed,
    };
  }

  /**
   * Every count on the rollout page agrees with GET /api/v1/rollouts/:id (once the live page has
   * caught up with it), and the API's counts add up to the device count.
   */
  async function countsAgree(page: Page, id: string): Promise<RolloutJson> {
    let r: RolloutJson | null = null;
    await expect
      .poll(async () => {
        r = await get(id);
        const got = await shown(page);
        const want = expected(r, Object.keys(got.legend));
        return JSON.stringify(got) === JSON.stringify(want) ? 'agree' : { got, want };
      })
      .toBe('agree');
    const agreed = r as unknown as RolloutJson;
    expect(sum(agreed.counts)).toBe(agreed.progress.total);
    return agreed;
  }

  beforeAll(async () => {
    t = await startTestApp({ config: { pollIntervalSeconds: 1 } });
    receiver = await startCountingReceiver();
    const upload = await t.request('POST', '/api/v1/artifacts?name=store-fw&version=2.0.1', { raw: 'store firmware 2.0.1 '.repeat(50), headers: { 'content-type': 'application/octet-stream' } });
    artifactId = (upload.json() as { id: string }).id;
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await receiver?.close();
    await t?.close();
  });

  it('shows a rollout waiting for approval with its badge and no ETA on the list, the overview and its page; Approve on the list makes it go on', async () => {
    const ids = await pushDevices('wait', 4);
    const id = await create({ name: 'Held for approval', filter: { ids }, strategy: 'progressive', phases: [{ count: 2, requireApproval: true }, { percent: 100 }] });
    await expect.poll(async () => (await get(id)).waiting, { timeout: 30_000 }).toBe('approval');
    expect((await get(id)).progress.etaSeconds).toBeNull();

    // The list: badge, counts from the API, no time left, Approve for an operator.
    const page = await b.signIn(t.tokens.operator, { path: '/rollouts' });
    const row = page.locator(`#rollout-table tr[data-rollout="${id}"]`);
    await expect.poll(() => row.locator('.wait-badge').textContent()).toBe('waiting for approval');
    expect(await row.locator('.wait-badge').getAttribute('title')).toBe(`Phase 1 passed; phase 2 starts when an operator approves (orchestrator rollouts approve ${id}).`);
    expect(await row.locator('.progress-text').textContent()).toBe('50% done · 2 succeeded · 2 waiting');
    expect(await row.locator('.eta-text').count()).toBe(0);
    expect(await row.textContent()).not.toMatch(/left/);
    expect(await row.getByRole('button', { name: 'Approve' }).count()).toBe(1);
    await b.shot(page, 'rollouts-waiting');

    // The overview.
    await page.goto(`${t.url}/#/`);
    const item = page.locator(`.rollout-list li[data-rollout="${id}"]`);
    await expect.poll(() => item.locator('.wait-badge').textContent()).toBe('waiting for approval');
    expect(await item.locator('.progress-text').textContent()).toMatch(/^50% done · 2 succeeded · 2 waiting of 4 · started /);
    expect(await item.textContent()).not.toMatch(/left/);
    expect(await page.locator('.kpi', { hasText: 'Active rollouts' }).textContent()).toContain('1 waiting for approval');
    await b.shot(page, 'overview-waiting');

    // Its page: the badge in the head and where the ETA would be, the Approve button, counts that agree.
    await page.goto(`${t.url}/#/rollouts/${id}`);
    await expect.poll(() => page.locator('.rollout-head .wait-badge').textContent()).toBe('waiting for approval');
    expect(await page.locator('#rollout-rate').textContent()).toBe('no ETA: waiting for approval');
    expect(await page.locator('#btn-approve').textContent()).toBe('Approve phase 1');
    await countsAgree(page, id);
    await b.shot(page, 'rollout-waiting');

    // A viewer sees the wait but gets no button.
    const viewer = await b.signIn(t.tokens.viewer, { path: '/rollouts' });
    await expect.poll(() => viewer.locator(`#rollout-table tr[data-rollout="${id}"] .wait-badge`).count()).toBe(1);
    expect(await viewer.locator(`#rollout-table tr[data-rollout="${id}"] button`).count()).toBe(0);
    await viewer.goto(`${t.url}/#/rollouts/${id}`);
    await viewer.waitForSelector('.rollout-head .wait-badge');
    expect(await viewer.locator('#btn-approve').count()).toBe(0);
    await viewer.close();

    // Approve from the list (the row's button, not the row's link): the rollout goes on and completes.
    await page.goto(`${t.url}/#/rollouts`);
    await row.getByRole('button', { name: 'Approve' }).click();
    expect(page.url()).toMatch(/#\/rollouts$/);
    await expect.poll(() => row.locator('.pill').first().textContent(), { timeout: 30_000 }).toBe('Completed');
    expect(await row.locator('.wait-badge').count()).toBe(0);
    expect(await row.getByRole('button').count()).toBe(0);
    expect(await row.locator('.progress-text').textContent()).toBe('100% done · 4 succeeded');
    await page.goto(`${t.url}/#/rollouts/${id}`);
    await page.waitForSelector('.rollout-head .pill-completed');
    expect((await countsAgree(page, id)).progress.succeeded).toBe(4);
    await page.close();
  });

  it('names every other wait on the list and the rollout page: soak, window, rate limit, start', async () => {
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const closedNow = `${hhmm(Date.now() + 2 * 3600_000)}-${hhmm(Date.now() + 3 * 3600_000)}`;
    const waits = {
      soak: await create({ name: 'Soaking', filter: { ids: await pushDevices('soak', 2) }, strategy: 'progressive', phases: [{ count: 1, soakSeconds: 3600 }, { percent: 100 }] }),
      window: await create({ name: 'Outside its window', filter: { ids: await pushDevices('win', 1) }, window: { daily: closedNow, timezone: 'UTC' } }),
      'rate-limit': await create({ name: 'Rate limited', filter: { ids: await pushDevices('rate', 2) }, rateLimit: { perMinute: 1 } }),
      start: await create({ name: 'Starts tomorrow', filter: { ids: await pushDevices('later', 1) }, strategy: 'scheduled', startAt: new Date(Date.now() + 86400_000).toISOString() }),
    };
    for (const [waiting, id] of Object.entries(waits)) await expect.poll(async () => (await get(id)).waiting, { timeout: 30_000, message: waiting }).toBe(waiting);
    // In the browser's locale: "14:05" or "02:05 PM", with the day ("Dec 3, ") when it is not today.
    const day = '(\\w+ \\d+, |\\d+ \\w+, )?';
    const ampm = '( [AP]M)?';
    const when = `${day}\\d{2}:\\d{2}${ampm}`;
    const texts = { soak: new RegExp(`^soak until ${when}$`), window: new RegExp(`^window opens ${when}$`), 'rate-limit': new RegExp(`^rate limit until ${day}\\d{2}:\\d{2}:\\d{2}${ampm}$`), start: new RegExp(`^starts at ${when}$`) };

    const page = await b.signIn(t.tokens.operator, { path: '/rollouts' });
    for (const [waiting, id] of Object.entries(waits)) {
      const row = page.locator(`#rollout-table tr[data-rollout="${id}"]`);
      await expect.poll(() => row.locator('.wait-badge').getAttribute('data-waiting')).toBe(waiting);
      expect(await row.locator('.wait-badge').textContent()).toMatch(texts[waiting as keyof typeof texts]);
      // Nothing to approve, and no time left while it waits.
      expect(await row.getByRole('button').count(), waiting).toBe(0);
      expect(await row.locator('.eta-text').count(), waiting).toBe(0);
    }
    await b.shot(page, 'rollouts-waits');
    await page.goto(`${t.url}/#/rollouts/${waits.window}`);
    await expect.poll(() => page.locator('.rollout-head .wait-badge').textContent()).toMatch(texts.window);
    expect(await page.locator('#rollout-eta').textContent()).toMatch(new RegExp(`^no ETA: window opens ${when}$`));
    // Paused: no wait, no ETA.
    expect((await t.request('POST', `/api/v1/rollouts/${waits['rate-limit']}/pause`, { token: t.tokens.operator })).status).toBe(200);
    expect((await get(waits['rate-limit'])).progress.etaSeconds).toBeNull();
    await page.goto(`${t.url}/#/rollouts/${waits['rate-limit']}`);
    await page.waitForSelector('.rollout-head .pill-paused');
    expect(await page.locator('#rollout-eta').textContent()).toBe('no ETA: paused');
    expect(await page.locator('#rollout-rate').textContent()).toBe('no ETA: paused');
    await page.close();
    for (const id of Object.values(waits)) expect((await t.request('POST', `/api/v1/rollouts/${id}/cancel`, { token: t.tokens.operator })).status).toBe(200);
  });

  it('reads an aborted rollout honestly, shows a retry the API refuses, and retries one failed device, then every failed one, from the failures list', async () => {
    const ids = await pushDevices('shop', 6);
    const refusing = ids.slice(0, 3);
    for (const d of refusing) receiver.refused.add(d);
    // No retries; failures above 40% of six (the third) abort the rollout: exactly the three refusing devices fail.
    const id = await create({ name: 'Aborts on failures', filter: { ids }, maxConcurrency: 1, retry: { maxAttempts: 1 }, errorThreshold: { percent: 40, action: 'abort' } });
    await expect.poll(async () => (await get(id)).status, { timeout: 30_000 }).toBe('failed');

    const page = await b.signIn(t.tokens.operator, { path: `/rollouts/${id}` });
    await page.waitForSelector('.rollout-head .pill-failed');
    const r = await countsAgree(page, id);
    // Done is not success: every device is final, and the outcome says how many succeeded and failed.
    expect(r.progress).toMatchObject({ percentDone: 100, failed: 3 });
    expect(await page.locator('#rollout-percent').textContent()).toBe('100%');
    expect(await page.locator('#rollout-outcome').textContent()).toBe(`${r.progress.succeeded} succeeded · 3 failed or rolled back · ${Math.round((r.progress.succeeded / 6) * 1000) / 10}% of the finished succeeded`);
    expect(await page.locator('#rollout-rate').count()).toBe(0);
    await b.shot(page, 'rollout-failed');

    // The dead-letter view: each failure with its last error and attempts, and its Retry.
    const [first, second, third] = refusing as [string, string, string];
    const row = (d: string) => page.locator(`#failure-table tr[data-device="${d}"]`);
    for (const d of refusing) {
      expect(await row(d).locator('td').nth(2).textContent()).toBe(`http_422: device '${d}' answered 422: this device refuses the update`);
      expect(numberIn(await row(d).locator('td').nth(3).textContent())).toBe(1);
    }
    expect(await page.locator('#btn-retry-all').textContent()).toBe('Retry all 3 failed');
    for (const d of refusing) receiver.refused.delete(d);

    // A retry the API refuses says why: someone else retried the device just before this click.
    await page.route(`**/api/v1/rollouts/${id}/retry`, async (route) => {
      expect((await t.request('POST', `/api/v1/rollouts/${id}/retry`, { token: t.tokens.operator, body: { deviceId: first } })).status).toBe(200);
      await route.continue();
    }, { times: 1 });
    await row(first).getByRole('button', { name: `Retry ${first}` }).click();
    await expect.poll(() => page.locator('#retry-result').textContent()).toMatch(new RegExp(`^Retry of ${first} failed: .*${first}.*`));
    await expect.poll(() => page.locator('#failure-table tbody tr').count()).toBe(2);
    await b.shot(page, 'rollout-retry-refused');

    // Retry one device from its row: it is re-queued and succeeds. (Whether the rollout ended again
    // after the other retry, and runs again now, is the engine's timing.)
    await row(second).getByRole('button', { name: `Retry ${second}` }).click();
    await expect.poll(() => page.locator('#retry-result').textContent()).toMatch(new RegExp(`^${second} was re-queued with fresh attempts(; the rollout runs again)?\\.$`));
    await expect.poll(() => page.locator('#failure-table tbody tr').count()).toBe(1);

    // Retry all failed: the last one is re-queued too.
    await expect.poll(() => page.locator('#btn-retry-all').textContent()).toBe('Retry failed');
    await page.click('#btn-retry-all');
    await expect.poll(() => page.locator('#retry-result').textContent()).toMatch(/^1 failed device was re-queued with fresh attempts(; the rollout runs again)?\.$/);
    await expect.poll(async () => ((await t.request('GET', `/api/v1/rollouts/${id}/devices?state=succeeded`)).json() as { items: { deviceId: string }[] }).items.map((e) => e.deviceId), { timeout: 30_000 }).toEqual(expect.arrayContaining([first, second, third]));
    await expect.poll(() => page.locator('#failures').textContent()).toBe('No failures.');
    expect(await page.locator('#btn-retry-all').isHidden()).toBe(true);
    await expect.poll(async () => groupCounts((await get(id)).counts), { timeout: 30_000 }).toMatchObject({ active: 0, waiting: 0 });
    await countsAgree(page, id);
    await page.close();

    // A viewer gets no retry buttons.
    const viewer = await b.signIn(t.tokens.viewer, { path: `/rollouts/${id}` });
    await viewer.waitForSelector('#failures');
    expect(await viewer.locator('#btn-retry-all').count()).toBe(0);
    expect(await viewer.locator('#failure-table button').count()).toBe(0);
    await viewer.close();
  });

  it('shows a cancelled device that installed anyway on the rollout page and its device page', async () => {
    const token = await addPullDevice(t.app, 'late-kiosk');
    const device = (method: string, path: string, body?: unknown) => t.request(method, path, { token, ...(body === undefined ? {} : { body }) });
    const released = nextEvent(t.app.events, (e) => e.deviceId === 'late-kiosk' && e.type === 'execution.queued');
    const id = await create({ name: 'Cancelled too late', filter: { ids: ['late-kiosk'] } });
    await released;
    const update = ((await device('GET', '/api/v1/device/late-kiosk/state')).json() as { update: { executionId: string } }).update;
    expect((await device('PATCH', '/api/v1/device/state', { execution: { id: update.executionId, state: 'installing' } })).status).toBe(200);
    expect((await t.request('POST', `/api/v1/rollouts/${id}/cancel`, { token: t.tokens.operator })).status).toBe(200);
    // The install could not be interrupted: the device reports it succeeded, and the version it runs.
    const late = await device('PATCH', '/api/v1/device/state', { version: '2.0.1', execution: { id: update.executionId, state: 'succeeded' } });
    expect(late.status, late.text).toBe(200);
    expect((await get(id)).progress.installedAfterCancel).toBe(1);

    const page = await b.signIn(t.tokens.viewer, { path: `/rollouts/${id}?state=cancelled` });
    await page.waitForSelector('.rollout-head .pill-cancelled');
    const row = page.locator('#rollout-device-table tr[data-device="late-kiosk"]');
    await expect.poll(() => row.locator('.state-cell').textContent()).toBe('Cancelledinstalled anyway (2.0.1)the device installed store-fw 2.0.1 before the cancel reached it');
    expect(await page.locator('#rollout-installed-after-cancel').textContent()).toBe('1 cancelled device installed it anyway (the cancel reached it too late); counted as cancelled.');
    await countsAgree(page, id);
    await b.shot(page, 'rollout-cancelled');

    await page.goto(`${t.url}/#/devices/late-kiosk`);
    await expect.poll(() => page.locator('#version-mismatch').textContent()).toBe('Rollout Cancelled too late (store-fw 2.0.1) was cancelled, but this device installed it anyway and reports 2.0.1.');
    expect(await page.locator('#device-version').textContent()).toBe('2.0.1');
    expect(await page.locator(`#history-table tr[data-rollout="${id}"] .state-cell`).textContent()).toContain('installed anyway (2.0.1)');
    await b.shot(page, 'device-installed-anyway');
    await page.close();
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    expect(b.problems).toEqual([]);
  });
});
