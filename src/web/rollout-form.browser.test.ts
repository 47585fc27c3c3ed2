// The create-rollout form in headless Chromium against a real server: every field the API takes
// reaches the created rollout, the count of matching devices follows the filter, and the API's
// validation messages appear beside the fields they name with everything typed still there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';

interface RolloutJson {
  id: string;
  name: string;
  status: string;
  strategy: string;
  filter: Record<string, unknown>;
  phases: { percent?: number; count?: number; successThreshold?: number | null; soakSeconds: number; requireApproval: boolean }[];
  errorThreshold: { percent: number; action: string } | null;
  window: Record<string, unknown> | null;
  startAt: string | null;
  maxConcurrency: number | null;
  rateLimit: Record<string, number> | null;
  retry: Record<string, number>;
  continuous: boolean;
}

/**
 * Submits the form and answers the created rollout's id, once the POST has answered and the page
 * moved to the rollout. (The form's own URL, #/rollouts/new, already looks like a rollout page's:
 * waiting for the URL alone raced the POST.)
 */
async function submitCreated(page: Page): Promise<string> {
  const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/rollouts'), page.click('#rollout-start')]);
  expect(response.status(), await response.text()).toBe(201);
  const { id } = (await response.json()) as { id: string };
  await page.waitForURL((url) => url.hash === `#/rollouts/${encodeURIComponent(id)}`);
  return id;
}

/** Changes a filter field and waits for the live count's answer to that filter (not the one before). */
async function countAfter(page: Page, change: () => Promise<unknown>, param: string): Promise<void> {
  await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/devices/count' && new URL(r.url()).searchParams.has(param)), change()]);
}

/** The message box an input points at (aria-describedby), as a person reads it. */
async function messageOf(page: Page, selector: string): Promise<string> {
  const input = page.locator(selector).first();
  await expect.poll(() => input.getAttribute('aria-invalid')).toBe('true');
  const box = await input.getAttribute('aria-describedby');
  return (await page.locator(`#${box}`).textContent()) ?? '';
}

describe.skipIf(browserMissing)('create-rollout form in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  let artifactId: string;

  beforeAll(async () => {
    t = await startTestApp();
    const upload = await t.request('POST', '/api/v1/artifacts?name=kiosk-fw&version=3.0.0', { raw: 'kiosk firmware', headers: { 'content-type': 'application/octet-stream' } });
    artifactId = (upload.json() as { id: string }).id;
    for (let i = 0; i < 6; i++) {
      const answer = await t.request('POST', '/api/v1/devices', { body: { id: `kiosk-${i}`, mode: 'http', address: `http://127.0.0.1:9/${i}`, location: i < 4 ? 'mall-north' : 'mall-south', tags: { ring: i < 2 ? 'canary' : 'main' } } });
      expect(answer.status).toBe(201);
    }
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('sends every field the API has, and the count of matching devices follows the filter', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/rollouts/new' });
    await page.waitForSelector(`#rollout-artifact option[value="${artifactId}"]`, { state: 'attached' });
    await expect.poll(() => page.locator('#match-count').getAttribute('data-total')).toBe('6');
    await countAfter(page, () => page.getByLabel('Location', { exact: true }).fill('mall-north'), 'location');
    await expect.poll(() => page.locator('#match-count').textContent()).toBe('4 devices match');
    await countAfter(page, () => page.getByLabel('Delivery mode', { exact: true }).selectOption('ssh'), 'mode');
    await expect.poll(() => page.locator('#match-count').textContent()).toBe('0 devices match');
    await countAfter(page, () => page.getByLabel('Delivery mode', { exact: true }).selectOption('http'), 'mode');
    await expect.poll(() => page.locator('#match-count').getAttribute('data-total')).toBe('4');

    await page.fill('#rollout-name', 'Every field');
    await page.check('#rollout-continuous');
    await page.selectOption('#rollout-strategy', 'progressive');
    await page.click('[aria-label="Remove phase 2"]');
    await page.getByLabel('Phase 1 reaches', { exact: true }).fill('2');
    await page.getByLabel('Phase 1 reaches: unit', { exact: true }).selectOption('count');
    await page.getByLabel('Phase 1 success threshold (%)', { exact: true }).fill('50');
    await page.getByLabel('Phase 1 soak', { exact: true }).fill('5');
    await page.getByLabel('Phase 1: hold for approval before the next phase', { exact: true }).check();
    expect(await page.getByLabel('Phase 2: hold for approval before the next phase', { exact: true }).isDisabled()).toBe(true);
    await page.fill('#rollout-error-percent', '25');
    await page.selectOption('#rollout-error-action', 'abort');
    const start = new Date(Date.now() + 3 * 86400_000);
    const local = new Date(start.getTime() - start.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.fill('#rollout-start-at', local);
    await page.selectOption('#rollout-window', 'daily');
    await page.fill('#rollout-window-from', '22:00');
    await page.fill('#rollout-window-to', '02:00');
    await page.fill('#rollout-window-timezone', 'Europe/Berlin');
    await page.fill('#rollout-window-expected', '10');
    await page.check('#rollout-download-ahead');
    await page.fill('#rollout-concurrency', '5');
    await page.fill('#rollout-rate', '10');
    await page.fill('#rollout-rate-growth', '2');
    await page.fill('#rollout-rate-every', '5');
    await page.fill('#rollout-rate-max', '100');
    await page.fill('#rollout-retry-attempts', '4');
    await page.fill('#rollout-retry-backoff', '2');
    await page.fill('#rollout-retry-max-backoff', '60');
    await page.fill('#rollout-max-bandwidth', '50MB/s');
    await page.fill('#rollout-max-device-bandwidth', '1MB/s');
    await b.shot(page, 'rollout-new-filled');
    const id = await submitCreated(page);

    const r = (await t.request('GET', `/api/v1/rollouts/${id}`)).json() as RolloutJson;
    expect(r).toMatchObject({
      name: 'Every field',
      status: 'scheduled',
      strategy: 'progressive',
      filter: { location: 'mall-north', mode: 'http' },
      errorThreshold: { percent: 25, action: 'abort' },
      window: { daily: '22:00-02:00', timezone: 'Europe/Berlin', expectedDurationSeconds: 600 },
      maxConcurrency: 5,
      rateLimit: { perMinute: 10, growthFactor: 2, growEvery: 5, maxPerMinute: 100 },
      retry: { maxAttempts: 4, backoffSeconds: 2, maxBackoffSeconds: 60 },
      continuous: true,
      downloadAhead: true,
      maxBandwidth: 50_000_000,
      maxDeviceBandwidth: 1_000_000,
    });
    expect(r.phases).toHaveLength(2);
    expect(r.phases[0]).toMatchObject({ count: 2, successThreshold: 50, soakSeconds: 300, requireApproval: true });
    expect(r.phases[1]).toMatchObject({ percent: 100, soakSeconds: 0, requireApproval: false });
    expect(Math.abs(Date.parse(r.startAt!) - start.getTime())).toBeLessThan(60_000);

    // The rollout page states what was asked for.
    await page.waitForSelector('.rollout-head .pill-scheduled');
    const facts = await page.locator('.facts').textContent();
    expect(facts).toContain('daily 22:00-02:00, Europe/Berlin');
    expect(facts).toContain('5 at a time · 10/min, ×2 every 5 successes');
    // Scheduled: its device set is fixed when it starts.
    expect(facts).toContain('Download ahead0 of 0 devices ready, installing when the window opens');
    expect(facts).toContain('Bandwidth50 MB/s in total (per server) · 1 MB/s per device');
    await b.shot(page, 'rollout-download-ahead-facts');
    expect(await page.locator('.phase[data-phase="1"]').textContent()).toContain('2 devices · needs 50% success · soak 5 min · approval');
    await page.close();
  });

  it("shows the API's messages beside their fields and keeps everything typed", async () => {
    const before = ((await t.request('GET', '/api/v1/rollouts')).json() as { total: number }).total;
    const page = await b.signIn(t.tokens.operator, { path: '/rollouts/new' });
    await page.waitForSelector(`#rollout-artifact option[value="${artifactId}"]`, { state: 'attached' });
    await page.fill('#rollout-name', 'Broken on purpose');
    await page.getByLabel('Phase 1 reaches', { exact: true }).fill('60');
    await page.getByLabel('Phase 2 reaches', { exact: true }).fill('30');
    await page.getByLabel('Phase 2 success threshold (%)', { exact: true }).fill('140');
    await page.selectOption('#rollout-window', 'daily');
    await page.fill('#rollout-window-from', '02:00');
    await page.fill('#rollout-window-to', '02:00');
    await page.fill('#rollout-window-timezone', 'Mars/Olympus');
    await page.fill('#rollout-rate-growth', '0.5');
    await page.fill('#rollout-max-bandwidth', 'fast');
    await page.fill('#rollout-max-device-bandwidth', '1kB/h');
    await page.getByLabel('Version or range', { exact: true }).fill('not a version!');
    await page.click('#rollout-start');

    expect(await messageOf(page, '[aria-label="Phase 2 reaches"]')).toContain("must not be smaller than the previous phase's 60");
    expect(await messageOf(page, '[aria-label="Phase 2 success threshold (%)"]')).toContain('must be a number from 0 to 100');
    expect(await messageOf(page, '#rollout-window-from')).toContain('never opens');
    expect(await messageOf(page, '#rollout-window-timezone')).toContain('is not an IANA time zone');
    expect(await messageOf(page, '#rollout-rate')).toContain('is required');
    expect(await messageOf(page, '#rollout-rate-growth')).toContain('must be a number from 1 to 100');
    expect(await messageOf(page, '#rollout-max-bandwidth')).toContain('"fast" is not a rate');
    expect(await messageOf(page, '#rollout-max-device-bandwidth')).toContain('is not a rate');
    expect(await messageOf(page, '[aria-label="Version or range"]')).toContain('must be a version');
    expect(await page.locator('#rollout-form-errors').textContent()).toMatch(/The rollout was not created\. \d+ problems are marked beside their fields/);
    await b.shot(page, 'rollout-new-errors');

    // Nothing typed is lost, and nothing was created.
    expect(await page.inputValue('#rollout-name')).toBe('Broken on purpose');
    expect(await page.getByLabel('Phase 2 reaches', { exact: true }).inputValue()).toBe('30');
    expect(await page.inputValue('#rollout-window-timezone')).toBe('Mars/Olympus');
    expect(((await t.request('GET', '/api/v1/rollouts')).json() as { total: number }).total).toBe(before);

    // Fixing the fields clears their messages on the next try, and the rollout is created.
    await page.getByLabel('Phase 2 reaches', { exact: true }).fill('100');
    await page.getByLabel('Phase 2 success threshold (%)', { exact: true }).fill('');
    await page.selectOption('#rollout-window', '');
    await page.fill('#rollout-rate-growth', '');
    await page.fill('#rollout-max-bandwidth', '');
    await page.fill('#rollout-max-device-bandwidth', '');
    await page.getByLabel('Version or range', { exact: true }).fill('');
    await submitCreated(page);
    expect(((await t.request('GET', '/api/v1/rollouts')).json() as { total: number }).total).toBe(before + 1);
    await page.close();
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    expect(b.problems).toEqual([]);
  });
});
