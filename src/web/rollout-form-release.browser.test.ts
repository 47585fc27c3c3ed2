// The create-rollout form with a release, in headless Chromium against a real server: it shows the
// dry-run plan (devices per artifact, devices skipped with the reason, the total) before anything
// starts, the plan follows the release and the target filter, and the created rollout is of the
// release with the plan's counts. Devices ticked in the device list arrive as the rollout's ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { uploadBytes } from '../testing/bundles.js';

/** Does `change` and waits for the dry run it causes to answer. */
async function planAfter(page: Page, change: () => Promise<unknown>): Promise<void> {
  await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/rollouts' && new URL(r.url()).searchParams.get('dryRun') === 'true'), change()]);
}

describe.skipIf(browserMissing)('create-rollout form with a release in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  let releaseId: string;
  let otherId: string;
  let rpiId: string;
  let x86Id: string;
  beforeAll(async () => {
    t = await startTestApp();
    rpiId = await uploadBytes(t, 'pos-rpi', '2.4.1', 'rpi image');
    x86Id = await uploadBytes(t, 'pos-x86', '2.4.1', 'x86 image');
    const release = await t.request('POST', '/api/v1/releases', { body: { name: 'pos', version: '2.4.1', artifacts: [{ artifactId: rpiId, match: { protocol: 'http', deviceType: 'rpi*' } }, { artifactId: x86Id, match: { protocol: 'http', deviceType: 'x86' } }] } });
    expect(release.status, release.text).toBe(201);
    releaseId = (release.json() as { id: string }).id;
    const other = await t.request('POST', '/api/v1/releases', { body: { name: 'x86only', version: '1.0.0', artifacts: [{ artifactId: x86Id, match: { protocol: 'http', deviceType: 'x86' } }] } });
    otherId = (other.json() as { id: string }).id;
    const devices: [string, string, string][] = [['till-1', 'rpi4', 'north'], ['till-2', 'rpi3', 'north'], ['till-3', 'x86', 'north'], ['till-4', 'arm9', 'north'], ['till-5', 'rpi4', 'south']];
    for (const [id, deviceType, location] of devices) expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'http', address: 'http://127.0.0.1:9/', deviceType, location } })).status).toBe(201);
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('shows the plan of the release, refreshes it with the filter and the release, and creates a rollout of it', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/rollouts/new' });
    await page.waitForSelector(`#rollout-release option[value="${releaseId}"]`, { state: 'attached' });
    expect(await page.locator('#rollout-plan').isVisible()).toBe(false);
    await planAfter(page, () => page.selectOption('#rollout-source', 'release'));
    await planAfter(page, () => page.selectOption('#rollout-release', releaseId));
    await expect.poll(() => page.locator('#rollout-plan').getAttribute('data-total')).toBe('5');
    expect(await page.locator('#plan-total').textContent()).toBe('5 devices targeted · 1 device skipped');
    expect(await page.locator(`#plan-table tr[data-artifact="${rpiId}"]`).innerText()).toMatch(/pos-rpi 2\.4\.1\s+main\s+3/);
    expect(await page.locator(`#plan-table tr[data-artifact="${x86Id}"]`).innerText()).toMatch(/pos-x86 2\.4\.1\s+main\s+1/);
    expect(await page.locator('#plan-table tr.plan-skipped').innerText()).toMatch(/Skipped: no artifact of release pos 2\.4\.1 for device type arm9 over HTTP push\s+1/);
    expect(await page.locator('#rollout-artifact').isVisible()).toBe(false);

    // The filter narrows the plan.
    await planAfter(page, () => page.getByLabel('Location', { exact: true }).fill('south'));
    await expect.poll(() => page.locator('#rollout-plan').getAttribute('data-total')).toBe('1');
    expect(await page.locator('#plan-table tbody tr').count()).toBe(1);
    expect(await page.locator(`#plan-table tr[data-artifact="${rpiId}"]`).innerText()).toMatch(/\s1$/);
    // Another release gives another plan.
    await planAfter(page, () => page.getByLabel('Location', { exact: true }).fill('north'));
    await planAfter(page, () => page.selectOption('#rollout-release', otherId));
    await expect.poll(() => page.locator('#plan-total').textContent()).toBe('4 devices targeted · 3 devices skipped');
    await planAfter(page, () => page.selectOption('#rollout-release', releaseId));
    await expect.poll(() => page.locator('#plan-total').textContent()).toBe('4 devices targeted · 1 device skipped');
    await page.fill('#rollout-name', 'North stores');
    await b.shot(page, 'rollout-new-release-plan');

    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/rollouts' && !new URL(r.url()).searchParams.has('dryRun')), page.click('#rollout-start')]);
    expect(response.status(), await response.text()).toBe(201);
    const { id } = (await response.json()) as { id: string };
    await page.waitForURL((url) => url.hash === `#/rollouts/${encodeURIComponent(id)}`);
    const created = (await t.request('GET', `/api/v1/rollouts/${id}`)).json() as { releaseId: string; artifactId: string | null; filter: Record<string, unknown>; name: string };
    expect(created).toMatchObject({ releaseId, name: 'North stores', filter: { location: 'north' } });
    // The rollout's executions are what the plan said: 3 to an artifact, 1 skipped.
    await expect.poll(async () => ((await t.request('GET', `/api/v1/rollouts/${id}`)).json() as { counts: Record<string, number> }).counts.skipped).toBe(1);
    expect(b.problems).toEqual([]);
  });

  it('opens with the release from its page preselected, and keeps one-artifact rollouts as before', async () => {
    const page = await b.signIn(t.tokens.operator, { path: `/releases/${releaseId}` });
    await page.click('#roll-out-release');
    await expect.poll(() => page.locator('#rollout-plan').getAttribute('data-total')).toBe('5');
    expect(await page.locator('#rollout-source').inputValue()).toBe('release');
    expect(await page.locator('#rollout-release').inputValue()).toBe(releaseId);
    await page.selectOption('#rollout-source', 'artifact');
    await expect.poll(() => page.locator('#rollout-plan').isVisible()).toBe(false);
    expect(await page.locator('#rollout-artifact').isVisible()).toBe(true);
    expect(b.problems).toEqual([]);
  });
});
