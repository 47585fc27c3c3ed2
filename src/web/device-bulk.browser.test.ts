// The device list's checkboxes and bulk actions in headless Chromium against a real server: ticked
// rows, every row of the page and "all N matching the filter" make the selection; each action first
// shows the count the API's dry run answers and changes nothing until confirmed; tag, untag, set
// location and decommission reach the devices; the selection starts a rollout of exactly those
// devices; a viewer gets no checkboxes. Screenshots go to test-output/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';

const DEVICES = 60;
const id = (i: number) => `shop-${String(i).padStart(2, '0')}`;

interface DeviceJson {
  id: string;
  tags: Record<string, string>;
  location: string | null;
  decommissionedAt: string | null;
}

/** Opens an action, fills its input, reviews: answers the dry run's count as the page shows it. */
async function review(page: Page, action: string, fill?: [string, string]): Promise<string> {
  await page.click(`#bulk-bar [data-bulk="${action}"]`);
  if (fill) await page.fill(fill[0], fill[1]);
  const [answer] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/devices/bulk' && new URL(r.url()).searchParams.get('dryRun') === 'true'), page.click('#bulk-review')]);
  expect(answer.status()).toBe(200);
  await page.waitForSelector('#bulk-confirm [data-count]');
  return (await page.locator('#bulk-confirm [data-count]').getAttribute('data-count')) ?? '';
}

async function confirm(page: Page): Promise<void> {
  const [answer] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/devices/bulk' && !new URL(r.url()).searchParams.has('dryRun')), page.click('#bulk-run')]);
  expect(answer.status(), await answer.text()).toBe(200);
}

describe.skipIf(browserMissing)('device list bulk actions in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  const device = async (i: number) => (await t.request('GET', `/api/v1/devices/${id(i)}`)).json() as DeviceJson;
  beforeAll(async () => {
    t = await startTestApp();
    for (let i = 0; i < DEVICES; i++) expect((await t.request('POST', '/api/v1/devices', { body: { id: id(i), mode: 'http', address: 'http://127.0.0.1:9/', location: i < 40 ? 'mall' : 'street', tags: { ring: 'main' } } })).status).toBe(201);
    await t.request('POST', '/api/v1/artifacts?name=shop-fw&version=1.0.0', { raw: 'fw', headers: { 'content-type': 'application/octet-stream' } });
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('tags ticked rows after showing their count, and changes nothing before the confirmation', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/devices' });
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(50);
    expect(await page.locator('#bulk-bar').isVisible()).toBe(false);
    await page.check(`input[data-device="${id(0)}"]`);
    await page.check(`input[data-device="${id(1)}"]`);
    expect(await page.locator('#bulk-count').textContent()).toBe('2 devices');
    // Ticking does not open the device.
    expect(page.url()).toMatch(/#\/devices$/);
    expect(await review(page, 'tag', ['#bulk-tags', 'ring=canary, site=7'])).toBe('2');
    expect(await page.locator('#bulk-confirm').innerText()).toMatch(/Tag 2 devices\?/);
    await b.shot(page, 'devices-bulk-confirm', false);
    expect((await device(0)).tags).toEqual({ ring: 'main' });
    await confirm(page);
    await expect.poll(() => page.locator('#bulk-status').textContent()).toBe('Tagged 2 devices.');
    expect((await device(0)).tags).toEqual({ ring: 'canary', site: '7' });
    expect((await device(1)).tags).toEqual({ ring: 'canary', site: '7' });
    expect((await device(2)).tags).toEqual({ ring: 'main' });
    // The run cleared the selection.
    expect(await page.locator('#bulk-bar').isVisible()).toBe(false);

    await page.check(`input[data-device="${id(0)}"]`);
    expect(await review(page, 'untag', ['#bulk-keys', 'site'])).toBe('1');
    await confirm(page);
    await expect.poll(async () => (await device(0)).tags).toEqual({ ring: 'canary' });
    // Each run is one audited event with its count, as the event log reads it.
    await page.goto(`${t.url}/#/events`);
    await expect.poll(() => page.locator('#main').innerText()).toMatch(/devices\.bulk-tag[\s\S]*2 devices · set ring=canary, site=7/);
    expect(await page.locator('#main').innerText()).toMatch(/devices\.bulk-untag[\s\S]*1 device · removed site/);
    expect(b.problems).toEqual([]);
  });

  it('selects every row of the page, then all devices matching the filter, and sets their location', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/devices' });
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(50);
    await page.check('#select-page');
    expect(await page.locator('#bulk-count').textContent()).toBe('50 devices');
    await page.click('#select-all-matching');
    expect(await page.locator('#bulk-count').textContent()).toBe('60 devices');
    expect(await page.locator('#select-banner').innerText()).toMatch(/All 60 devices matching the filter are selected/);
    await b.shot(page, 'devices-select-all', false);
    expect(await review(page, 'set-location', ['#bulk-location', 'depot'])).toBe('60');
    await confirm(page);
    await expect.poll(() => page.locator('#bulk-status').textContent()).toBe('Set the location of 60 devices.');
    expect(((await t.request('GET', '/api/v1/devices/count?location=depot')).json() as { total: number }).total).toBe(DEVICES);
    // A run clears the selection: select all again, then set the device type.
    await page.check('#select-page');
    await page.click('#select-all-matching');
    expect(await review(page, 'set-device-type', ['#bulk-device-type', 'rpi4'])).toBe('60');
    expect(await page.locator('#bulk-confirm').innerText()).toMatch(/Set the device type of 60 devices\?/);
    await confirm(page);
    await expect.poll(() => page.locator('#bulk-status').textContent()).toBe('Set the device type of 60 devices.');
    expect(((await t.request('GET', '/api/v1/devices/count?deviceType=rpi4')).json() as { total: number }).total).toBe(DEVICES);
    await expect.poll(() => page.locator('#device-table tbody tr >> nth=0').innerText()).toMatch(/rpi4/);
    // A device type the API refuses is said so, and nothing changes.
    await page.check(`input[data-device="${id(0)}"]`);
    await page.click('#bulk-bar [data-bulk="set-device-type"]');
    await page.fill('#bulk-device-type', 'rpi*');
    await page.click('#bulk-review');
    await expect.poll(() => page.locator('#bulk-confirm .alert-error').textContent()).toMatch(/deviceType/);
    expect(((await t.request('GET', `/api/v1/devices/${id(0)}`)).json() as { deviceType: string }).deviceType).toBe('rpi4');
    await page.click('#bulk-bar [data-bulk="clear"]');

    // With a filter, "all matching" is the filter's devices only.
    await page.getByLabel('Search id or name', { exact: true }).fill('shop-5');
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(10);
    await page.check('#select-page');
    expect(await page.locator('#bulk-count').textContent()).toBe('10 devices');
    expect(await page.locator('#select-all-matching').count()).toBe(0);
    expect(await review(page, 'set-location', ['#bulk-location', 'annex'])).toBe('10');
    await confirm(page);
    await expect.poll(async () => ((await t.request('GET', '/api/v1/devices/count?location=annex')).json() as { total: number }).total).toBe(10);
    expect(b.problems).toEqual([]);
  });

  it('decommissions the selection after a confirmation that says what it does', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/devices' });
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(50);
    await page.check(`input[data-device="${id(49)}"]`);
    expect(await review(page, 'decommission')).toBe('1');
    expect(await page.locator('#bulk-panel').innerText()).toMatch(/every credential they have is revoked/);
    expect(await page.locator('#bulk-run').textContent()).toBe('Decommission: 1 device');
    await confirm(page);
    await expect.poll(async () => (await device(49)).decommissionedAt).toEqual(expect.any(String));
    await expect.poll(() => page.locator('#device-total').textContent()).toMatch(/of 59 devices/);
    expect(b.problems).toEqual([]);
  });

  it('starts a rollout of exactly the ticked devices', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/devices' });
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(50);
    for (const i of [3, 4, 5]) await page.check(`input[data-device="${id(i)}"]`);
    await page.click('#bulk-bar [data-bulk="rollout"]');
    await page.waitForURL((url) => url.hash.startsWith('#/rollouts/new'));
    await expect.poll(() => page.locator('#rollout-selection').innerText()).toMatch(/3 devices ticked in the device list/);
    await expect.poll(() => page.locator('#match-count').getAttribute('data-total')).toBe('3');
    await b.shot(page, 'rollout-new-from-selection');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/rollouts'), page.click('#rollout-start')]);
    expect(response.status(), await response.text()).toBe(201);
    const created = (await response.json()) as { filter: { ids: string[] } };
    expect(created.filter.ids).toEqual([id(3), id(4), id(5)]);
    expect(b.problems).toEqual([]);
  });

  it('saves all devices matching the filter as a dynamic group of that filter', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/devices' });
    await page.getByLabel('Tag key=value', { exact: true }).fill('ring=main');
    const matching = ((await t.request('GET', '/api/v1/devices/count?tag=ring%3Dmain')).json() as { total: number }).total;
    expect(matching).toBeGreaterThan(50);
    await expect.poll(() => page.locator('#device-total').textContent()).toMatch(new RegExp(`of ${matching} devices`));
    await page.check('#select-page');
    await page.click('#select-all-matching');
    await page.click('#bulk-bar [data-bulk="group"]');
    await page.waitForURL((url) => url.hash.startsWith('#/groups?from=filter'));
    expect(await page.locator('#group-kind').inputValue()).toBe('dynamic');
    expect(await page.getByLabel('Tag key=value', { exact: true }).inputValue()).toBe('ring=main');
    await expect.poll(() => page.locator('#group-match-count').getAttribute('data-total')).toBe(String(matching));
    await page.fill('#group-name', 'main ring');
    await page.click('#group-create');
    await expect.poll(() => page.locator('#group-form-status').textContent()).toBe(`Created dynamic group main ring with ${matching} devices.`);
    expect(b.problems).toEqual([]);
  });

  it('gives a viewer no checkboxes and no bulk bar', async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/devices' });
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(50);
    expect(await page.locator('#device-table input[type=checkbox]').count()).toBe(0);
    expect(await page.locator('#bulk-bar').count()).toBe(0);
  });
});
