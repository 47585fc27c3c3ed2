// The releases pages in headless Chromium against a real server: the list shows each release with
// its components; a release shows its artifacts (name, version, SHA-256) in order with their
// matches (protocol, device type glob), and where it is deployed (its rollouts with status and
// counts, and no rollout of another release). Screenshots go to test-output/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { uploadBytes } from '../testing/bundles.js';

describe.skipIf(browserMissing)('releases pages in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  let releaseId: string;
  let osId: string;
  let rolloutId: string;
  let skippedId: string;
  beforeAll(async () => {
    t = await startTestApp();
    osId = await uploadBytes(t, 'pos-os', '2.4.1', 'os image bytes');
    const appId = await uploadBytes(t, 'pos-app', '2.4.1', 'app bundle bytes');
    const created = await t.request('POST', '/api/v1/releases', {
      body: { name: 'pos', version: '2.4.1', artifacts: [{ artifactId: osId, component: 'os', match: { protocol: 'http', deviceType: 'rpi*' } }, { artifactId: appId, component: 'app', match: { protocol: ['http', 'ssh'] } }] },
    });
    expect(created.status, created.text).toBe(201);
    releaseId = (created.json() as { id: string }).id;
    const other = await t.request('POST', '/api/v1/releases', { body: { name: 'kiosk', version: '1.0.0', artifacts: [{ artifactId: appId }] } });
    expect(other.status, other.text).toBe(201);
    for (const [id, deviceType] of [['till-1', 'rpi4'], ['till-2', 'rpi3'], ['till-3', 'x86']]) {
      expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'http', address: 'http://127.0.0.1:9/', deviceType } })).status).toBe(201);
    }
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const rollout = await t.request('POST', '/api/v1/rollouts', { body: { name: 'West stores', releaseId, filter: { ids: ['till-1', 'till-2', 'till-3'] }, startAt: later } });
    expect(rollout.status, rollout.text).toBe(201);
    rolloutId = (rollout.json() as { id: string }).id;
    // An agent device: nothing of the release is for the agent, so it is skipped and that rollout ends.
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'agent-9', mode: 'pull', deviceType: 'rpi4' } })).status).toBe(201);
    const now = await t.request('POST', '/api/v1/rollouts', { body: { name: 'Agents', releaseId, filter: { ids: ['agent-9'] } } });
    expect(now.status, now.text).toBe(201);
    skippedId = (now.json() as { id: string }).id;
    const elsewhere = await t.request('POST', '/api/v1/rollouts', { body: { name: 'Kiosks', releaseId: (other.json() as { id: string }).id, filter: { ids: ['till-1'] }, startAt: later } });
    expect(elsewhere.status, elsewhere.text).toBe(201);
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('lists releases with their components, and a release shows its artifacts, matches and rollouts', async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/releases' });
    expect(await page.locator('nav a[data-nav="releases"]').getAttribute('aria-current')).toBe('page');
    const row = page.locator(`#release-table tr[data-release="${releaseId}"]`);
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.innerText()).toMatch(/pos[\s\S]*2\.4\.1[\s\S]*os[\s\S]*app[\s\S]*2/);
    await b.shot(page, 'releases');

    await row.click();
    await page.waitForURL((url) => url.hash === `#/releases/${releaseId}`);
    await expect.poll(() => page.locator('#release-artifacts tbody tr').count()).toBe(2);
    expect(await page.locator('#page-title').textContent()).toBe('Release pos 2.4.1');
    const artifacts = await page.locator('#release-artifacts tbody tr').allInnerTexts();
    const sha = ((await t.request('GET', `/api/v1/artifacts/${osId}`)).json() as { sha256: string }).sha256;
    expect(artifacts[0]).toContain('os');
    expect(artifacts[0]).toContain('pos-os');
    expect(artifacts[0]).toContain(`${sha.slice(0, 12)}…`);
    expect(artifacts[0]).toContain('push over HTTP');
    expect(artifacts[0]).toContain('rpi*');
    expect(artifacts[1]).toMatch(/app[\s\S]*pos-app[\s\S]*2\.4\.1/);
    expect(artifacts[1]).toMatch(/push over HTTP[\s\S]*push over SSH[\s\S]*any device/);
    expect(await page.locator('#release-facts').innerText()).toMatch(/os → app/);

    const deployed = page.locator('#release-rollouts tbody tr');
    await expect.poll(() => deployed.count()).toBe(2);
    // A scheduled rollout has no executions yet; the one that ran shows its skipped device.
    const scheduled = page.locator(`#release-rollouts tr[data-rollout="${rolloutId}"]`);
    expect(await scheduled.innerText()).toMatch(/West stores[\s\S]*Scheduled/);
    const ran = page.locator(`#release-rollouts tr[data-rollout="${skippedId}"]`);
    await expect.poll(() => ran.innerText()).toMatch(/Agents[\s\S]*Completed[\s\S]*1 skipped/);
    expect(await page.locator('#release-rollouts').innerText()).not.toMatch(/Kiosks/);
    await b.shot(page, 'release-detail');

    // The rollout's page names the release it rolls out (not its first artifact), and links back.
    await ran.click();
    await page.waitForURL((url) => url.hash === `#/rollouts/${skippedId}`);
    await expect.poll(() => page.locator('#rollout-release').textContent()).toBe('pos 2.4.1');
    expect(await page.locator('#rollout-release').getAttribute('href')).toBe(`#/releases/${releaseId}`);
    await b.shot(page, 'rollout-of-release', false);
    // The event log says what the release is.
    await page.goto(`${t.url}/#/events`);
    await expect.poll(() => page.locator('#main').innerText()).toMatch(/release\.created[\s\S]*pos 2\.4\.1 · 2 artifacts/);
    expect(b.problems).toEqual([]);
  });

  it('deletes a release only when no unfinished rollout uses it, after asking', async () => {
    const page = await b.signIn(t.tokens.operator, { path: `/releases/${releaseId}` });
    await expect.poll(() => page.locator('#release-artifacts tbody tr').count()).toBe(2);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#delete-release');
    // West stores is still scheduled: the API says no, with its reason, and the release stays.
    await expect.poll(() => page.locator('#release-notice').textContent()).toMatch(/^Not deleted: .*rollout/);
    expect((await t.request('GET', `/api/v1/releases/${releaseId}`)).status).toBe(200);
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/cancel`)).status).toBeLessThan(300);
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.accept();
    });
    await page.click('#delete-release');
    await page.waitForURL((url) => url.hash === '#/releases');
    expect(asked).toBe('Delete release pos 2.4.1? Its artifacts stay.');
    expect((await t.request('GET', `/api/v1/releases/${releaseId}`)).status).toBe(404);
    await expect.poll(() => page.locator(`#release-table tr[data-release="${releaseId}"]`).count()).toBe(0);
    expect(b.problems).toEqual([]);
  });

  it('says so for an unknown release', async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/releases/no-such-release' });
    await expect.poll(() => page.locator('.alert-error').count()).toBe(1);
    expect(await page.locator('.alert-error').innerText()).toMatch(/release 'no-such-release' does not exist/);
  });
});
