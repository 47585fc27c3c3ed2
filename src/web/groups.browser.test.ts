// The groups page in headless Chromium against a real server: a dynamic group made from a filter
// (the count of devices it matches follows the filter) and a static one from the devices ticked in
// the device list, each listed with its live member count; a group is the device list's filter;
// delete asks first. A viewer reads but cannot create or delete. Screenshots go to
// test-output/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';

interface GroupJson {
  id: string;
  name: string;
  kind: string;
  members: number;
  filter: Record<string, unknown> | null;
}

describe.skipIf(browserMissing)('groups page in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  const groups = async () => ((await t.request('GET', '/api/v1/groups')).json() as { items: GroupJson[] }).items;
  beforeAll(async () => {
    t = await startTestApp();
    for (let i = 0; i < 8; i++) expect((await t.request('POST', '/api/v1/devices', { body: { id: `pos-${i}`, mode: 'http', address: 'http://127.0.0.1:9/', tags: { ring: i < 3 ? 'canary' : 'main' } } })).status).toBe(201);
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('creates a dynamic group from a filter; its member count is live', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/groups' });
    expect(await page.locator('nav a[data-nav="groups"]').getAttribute('aria-current')).toBe('page');
    await expect.poll(() => page.locator('#group-match-count').getAttribute('data-total')).toBe('8');
    await page.fill('#group-name', 'canary');
    await page.getByLabel('Tag key=value', { exact: true }).fill('ring=canary');
    await expect.poll(() => page.locator('#group-match-count').getAttribute('data-total')).toBe('3');
    await page.click('#group-create');
    await expect.poll(() => page.locator('#group-form-status').textContent()).toBe('Created dynamic group canary with 3 devices.');
    const [group] = await groups();
    expect(group).toMatchObject({ name: 'canary', kind: 'dynamic', members: 3, filter: { tag: ['ring=canary'] } });
    const row = page.locator(`#group-table tr[data-group="${group!.id}"]`);
    expect(await row.innerText()).toMatch(/canary[\s\S]*dynamic[\s\S]*3[\s\S]*tag: ring=canary/);
    // A device that joins the filter joins the group, and the page says so without a reload.
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'pos-new', mode: 'http', address: 'http://127.0.0.1:9/', tags: { ring: 'canary' } } })).status).toBe(201);
    await expect.poll(() => row.locator('.cell-members').textContent()).toBe('4');
    expect(b.problems).toEqual([]);
  });

  it('creates a static group from the devices ticked in the device list, and is the device list filter', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/devices' });
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(9);
    await page.check('input[data-device="pos-5"]');
    await page.check('input[data-device="pos-7"]');
    await page.click('#bulk-bar [data-bulk="group"]');
    await page.waitForURL((url) => url.hash === '#/groups?from=selection');
    expect(await page.locator('#group-kind').inputValue()).toBe('static');
    expect(await page.locator('#group-static-note').innerText()).toMatch(/2 devices ticked in the device list/);
    await page.fill('#group-name', 'back office');
    await page.click('#group-create');
    await expect.poll(() => page.locator('#group-form-status').textContent()).toBe('Created static group back office with 2 devices.');
    const group = (await groups()).find((g) => g.name === 'back office')!;
    expect(group).toMatchObject({ kind: 'static', members: 2 });
    // The handed devices are used up: the form goes back to a dynamic group.
    expect(await page.locator('#group-kind').inputValue()).toBe('dynamic');
    expect(await page.locator('#group-static-note').isVisible()).toBe(false);
    await b.shot(page, 'groups');

    // Its devices in the device list: the group is the filter, and the filter shows it.
    await page.click(`#group-table tr[data-group="${group.id}"] a.btn`);
    await page.waitForURL((url) => url.hash === `#/devices?group=${group.id}`);
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(2);
    expect(await page.locator('#device-table tbody').innerText()).toMatch(/pos-5[\s\S]*pos-7/);
    await expect.poll(() => page.getByLabel('Group', { exact: true }).inputValue()).toBe(group.id);
    expect(await page.getByLabel('Group', { exact: true }).locator('option:checked').textContent()).toBe('back office (static, 2)');
    // Choosing another group in the filter follows it.
    const canary = (await groups()).find((g) => g.name === 'canary')!;
    await page.getByLabel('Group', { exact: true }).selectOption(canary.id);
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(4);
    expect(b.problems).toEqual([]);
  });

  it('deletes a group after asking, and its devices stay', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/groups' });
    const group = (await groups()).find((g) => g.name === 'back office')!;
    const row = page.locator(`#group-table tr[data-group="${group.id}"]`);
    await expect.poll(() => row.count()).toBe(1);
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.dismiss();
    });
    await page.click(`[data-delete="${group.id}"]`);
    expect(asked).toBe('Delete group back office? Its 2 devices stay.');
    expect(await groups()).toHaveLength(2);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click(`[data-delete="${group.id}"]`);
    await expect.poll(() => row.count()).toBe(0);
    expect(await page.locator('#group-notice').textContent()).toBe('Deleted group back office.');
    expect((await groups()).map((g) => g.name)).toEqual(['canary']);
    expect(((await t.request('GET', '/api/v1/devices/count')).json() as { total: number }).total).toBe(9);
    expect(b.problems).toEqual([]);
  });

  it('lets a policy target a group', async () => {
    const page = await b.signIn(t.tokens.operator, { path: '/policies' });
    const canary = (await groups()).find((g) => g.name === 'canary')!;
    await page.waitForSelector(`#policy-group option[value="${canary.id}"]`, { state: 'attached' });
    await page.fill('#policy-name', 'canary-images');
    await page.fill('#policy-image', 'ghcr.io/acme/pos-*:v*');
    await page.selectOption('#policy-group', canary.id);
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/policies'), page.click('form button.btn-primary')]);
    expect(answer.status(), await answer.text()).toBe(201);
    const policies = (await t.request('GET', '/api/v1/policies')).json() as { items?: { name: string; filter: Record<string, unknown> }[] } | { name: string; filter: Record<string, unknown> }[];
    const items = Array.isArray(policies) ? policies : (policies.items ?? []);
    expect(items.find((p) => p.name === 'canary-images')?.filter).toEqual({ group: canary.id });
    await expect.poll(() => page.locator('#main table').innerText()).toMatch(/canary-images[\s\S]*group:canary/);
    // While a policy names it, the group cannot be deleted from under it.
    expect((await t.request('DELETE', `/api/v1/groups/${canary.id}`)).status).toBe(409);
    expect(b.problems).toEqual([]);
  });

  it('lets a viewer read the groups but offers no create or delete', async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/groups' });
    await expect.poll(() => page.locator('#group-table tbody tr').count()).toBe(1);
    expect(await page.locator('#group-form').count()).toBe(0);
    expect(await page.locator('[data-delete]').count()).toBe(0);
  });
});
