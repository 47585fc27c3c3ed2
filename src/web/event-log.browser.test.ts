// The event log and the not-found page in headless Chromium against a real server: cursor pages
// that neither repeat nor skip, filters by type, rollout and device kept in the URL, a details
// column that says what happened, live rows on the first page and a notice on older ones; an
// unknown route resets the title and the menu.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { NewEvent } from '../core/index.js';
import { browserMissing, openDashboardBrowser, type DashboardBrowser } from '../testing/browser.js';
import { startTestApp, type TestApp } from '../testing/app.js';

const ids = (page: Page) => page.locator('#event-table tbody tr').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.id)));

describe.skipIf(browserMissing)('event log in chromium', () => {
  let t: TestApp;
  let b: DashboardBrowser;
  let total = 0;

  beforeAll(async () => {
    t = await startTestApp();
    const seeded: NewEvent[] = [];
    for (let i = 0; i < 120; i++) {
      const failed = i % 10 === 9;
      seeded.push({ type: failed ? 'execution.failed' : 'execution.succeeded', actor: 'engine', rolloutId: 'r-west', deviceId: `pos-${i % 12}`, data: { from: 'delivering', to: failed ? 'failed' : 'succeeded', attempt: failed ? 3 : 1, error: failed ? 'HTTP 503 from the device: busy' : null, bytes: failed ? 0 : 2048 } });
    }
    seeded.push({ type: 'rollout.paused', actor: 'engine', rolloutId: 'r-west', data: { reason: 'phase 1: 2 of 6 failed, more than the 20% error threshold', status: 'paused' } });
    seeded.push({ type: 'artifact.uploaded', actor: 'token:ops', data: { artifactId: 'a1', name: 'pos-fw', version: '2.4.1', sha256: 'ab'.repeat(32), size: 3_145_728, signed: true, deduplicated: false } });
    await t.app.events.append(seeded);
    total = ((await t.request('GET', '/api/v1/events?limit=1000')).json() as { items: unknown[] }).items.length;
    b = await openDashboardBrowser(t.url);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('pages by cursor, newest first, without repeating or skipping an event', async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/events' });
    await expect.poll(() => page.locator('#event-table tbody tr').count()).toBe(100);
    const first = await ids(page);
    expect([...first].sort((x, y) => y - x)).toEqual(first);
    expect(await page.locator('#event-range').textContent()).toBe('Events 1–100, newest first · live');
    await page.click('#event-older-page');
    await expect.poll(() => page.locator('#event-range').textContent()).toBe(`Events 101–${total}, newest first`);
    const second = await ids(page);
    expect(second).toHaveLength(total - 100);
    expect(Math.max(...second)).toBeLessThan(Math.min(...first));
    expect(await page.locator('#event-older-page').isDisabled()).toBe(true);

    // Older pages stay put while events arrive, and say so.
    await t.app.events.append([{ type: 'rollout.resumed', actor: 'token:ops', rolloutId: 'r-west', data: { status: 'running' } }]);
    await expect.poll(() => page.locator('#event-newer').textContent()).toContain('1 newer event since this page was loaded');
    expect(await ids(page)).toEqual(second);
    await page.click('#event-newer button');
    await expect.poll(async () => (await ids(page))[0]).toBeGreaterThan(first[0]!);
    expect(await page.locator('#event-table tbody tr').first().textContent()).toContain('rollout.resumed');
    await page.close();
  });

  it('filters by type, rollout and device from the URL and the inputs, and says what each event means', async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/events?type=execution.failed&rolloutId=r-west' });
    await expect.poll(() => page.locator('#event-table tbody tr').count()).toBe(12);
    expect(await page.inputValue('#event-type')).toBe('execution.failed');
    expect(await page.inputValue('#event-rollout')).toBe('r-west');
    const row = page.locator('#event-table tbody tr').first();
    expect(await row.locator('td').nth(5).textContent()).toContain('delivering → failed · attempt 3 · HTTP 503 from the device: busy');

    await page.fill('#event-device', 'pos-9');
    await expect.poll(() => page.locator('#event-table tbody tr').count()).toBe(2);
    expect(new Set(await page.locator('#event-table tbody tr td:nth-child(4)').allTextContents())).toEqual(new Set(['pos-9']));
    expect(page.url()).toMatch(/#\/events\?type=execution\.failed&rolloutId=r-west&deviceId=pos-9$/);

    await page.fill('#event-type', 'rollout.*');
    await page.fill('#event-device', '');
    await expect.poll(() => page.locator('#event-table').textContent()).toContain('phase 1: 2 of 6 failed, more than the 20% error threshold');
    expect((await page.locator('#event-table tbody tr td:nth-child(2)').allTextContents()).every((type) => type.startsWith('rollout.'))).toBe(true);

    // Live: the first page shows a matching event as it happens, and not one that does not match.
    const before = await page.locator('#event-table tbody tr').count();
    await t.app.events.append([{ type: 'execution.failed', rolloutId: 'r-west', deviceId: 'pos-1', data: {} }, { type: 'rollout.completed', actor: 'engine', rolloutId: 'r-west', data: { reason: '110 succeeded, 13 failed, 0 other', status: 'completed' } }]);
    await expect.poll(() => page.locator('#event-table tbody tr').count()).toBe(before + 1);
    expect(await page.locator('#event-table tbody tr').first().textContent()).toContain('110 succeeded, 13 failed, 0 other');

    await page.click('#event-clear');
    await page.fill('#event-type', 'artifact.');
    await expect.poll(() => page.locator('#event-table tbody tr').count()).toBe(1);
    expect(await page.locator('#event-table tbody tr td').nth(5).textContent()).toContain('pos-fw 2.4.1 · 3.0 MB · signed · sha256 abababababab…');
    await page.click('#event-table details summary');
    expect(await page.locator('#event-table details pre').textContent()).toContain('"deduplicated": false');
    await b.shot(page, 'events', false);

    await page.fill('#event-type', 'no.such.type');
    await expect.poll(() => page.locator('#event-list').textContent()).toBe('No events match these filters.');
    await page.close();
  });

  it('resets the title and the menu on a route it does not know', async () => {
    const page = await b.signIn(t.tokens.viewer, { path: '/events' });
    await page.waitForSelector('.nav a.active[data-nav=events]');
    await page.goto(`${t.url}/#/no/such/page`);
    await page.waitForSelector('#not-found');
    expect(await page.locator('#page-title').textContent()).toBe('Not found');
    expect(await page.title()).toBe('Not found · Update Orchestrator');
    expect(await page.locator('.nav a.active, .nav a[aria-current]').count()).toBe(0);
    expect(await page.locator('#not-found').textContent()).toContain('There is no page at #/no/such/page.');
    await b.shot(page, 'not-found', false);
    await page.click('#not-found a[href="#/"]');
    await page.waitForSelector('.nav a.active[data-nav=overview]');
    expect(await page.title()).toBe('Fleet overview · Update Orchestrator');
    await page.close();
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    expect(b.problems).toEqual([]);
  });
});
