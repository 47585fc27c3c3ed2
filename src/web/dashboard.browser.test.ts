// The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core) against
// a real server and a fleet of simulated pull devices: sign in, devices, a progressive rollout
// started from the form and watched live (WebSocket, no reload), paused, resumed, approved; a
// viewer sees no controls. Screenshots of the main pages go to test-output/screenshots/.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../sim/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { requirePeer } from '../testing/peers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = path.resolve(import.meta.dirname, '../../test-output/screenshots');
const DEVICES = 20;

const missing = requirePeer('Chromium', fs.existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`);

describe.skipIf(missing)('dashboard in chromium', () => {
  let t: TestApp;
  let fleet: Fleet;
  let browser: Browser;
  const problems: string[] = [];
  let wsFrames = 0;

  const shot = async (page: Page, name: string, fullPage = true) => {
    // Sticky bars are drawn where the viewport is: capture from the top.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
  };

  async function signIn(token: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    page.on('websocket', (ws) => ws.on('framereceived', () => wsFrames++));
    await page.goto(`${t.url}/`);
    await page.waitForSelector('#token');
    if (!fs.existsSync(path.join(SHOTS, 'signin.png'))) await shot(page, 'signin', false);
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('.live-live');
    return page;
  }

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    t = await startTestApp({ config: { pollIntervalSeconds: 1 } });
    fleet = await Fleet.create({ server: t.url, token: t.tokens.admin, devices: DEVICES, pollSeconds: 1, versions: ['1.0.0', '1.1.0'], locations: ['store-west', 'store-east', 'warehouse'], idPrefix: 'pos-' });
    fleet.start();
    const upload = await t.request('POST', '/api/v1/artifacts?name=pos-firmware&version=2.0.0', { raw: 'firmware bytes '.repeat(1000), headers: { 'content-type': 'application/octet-stream' } });
    expect(upload.status).toBe(201);
    expect((await t.request('POST', '/api/v1/policies', { body: { name: 'west-stores', image: 'ghcr.io/acme/pos-*:v*', filter: { location: 'store-west' }, template: { strategy: 'progressive', phases: [{ percent: 10 }, { percent: 100 }] } } })).status).toBe(201);
    fs.rmSync(path.join(SHOTS, 'signin.png'), { force: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });

  afterAll(async () => {
    await browser?.close();
    await fleet?.stop();
    await t?.close();
  });

  it('signs in, shows the fleet and the device list with filters', async () => {
    const page = await signIn(t.tokens.operator);
    await expect.poll(() => page.locator('.kpi-value').first().textContent()).toBe(String(DEVICES));
    await shot(page, 'overview');

    await page.goto(`${t.url}/#/devices`);
    await expect.poll(() => page.locator('#device-table tbody tr').count()).toBe(DEVICES);
    await page.fill('input[name=location]', 'store-west');
    await expect.poll(() => page.locator('#device-total').textContent()).toMatch(/of 7 devices/);
    await shot(page, 'devices', false);

    await page.click('#device-table tbody tr >> nth=0');
    await page.waitForSelector('.fields');
    await shot(page, 'device');
    await page.close();
  });

  it('starts a progressive rollout from the form and follows it live through pause, resume and approval', async () => {
    const page = await signIn(t.tokens.operator);
    await page.goto(`${t.url}/#/rollouts/new`);
    await page.waitForSelector('#rollout-artifact option[value]:not([value=""])', { state: 'attached' });
    await expect.poll(() => page.locator('#match-count').getAttribute('data-total')).toBe(String(DEVICES));
    await page.fill('#rollout-name', 'POS firmware 2.0.0');
    await page.selectOption('#rollout-strategy', 'progressive');
    await page.click('[aria-label="Remove phase 1"]');
    await page.getByLabel('Phase 1 reaches', { exact: true }).fill('50');
    await page.getByLabel('Phase 1: hold for approval before the next phase', { exact: true }).check();
    await shot(page, 'rollout-new');
    await page.click('#rollout-start');
    await page.waitForURL(/#\/rollouts\/[^/]+$/);
    const framesBefore = wsFrames;

    // Phase 1 (half the fleet) completes and waits for approval; the page follows without reload.
    await expect.poll(() => page.locator('#rollout-percent').textContent(), { timeout: 30_000 }).toBe('50%');
    await page.waitForSelector('#btn-approve');
    expect(wsFrames).toBeGreaterThan(framesBefore);

    await page.click('#btn-pause');
    await page.waitForSelector('.rollout-head .pill-paused');
    await shot(page, 'rollout-paused');
    await page.click('#btn-resume');
    await page.waitForSelector('.rollout-head .pill-running');
    await page.click('#btn-approve');
    await expect.poll(() => page.locator('#rollout-percent').textContent(), { timeout: 30_000 }).toBe('100%');
    await page.waitForSelector('.rollout-head .pill-completed');
    await expect.poll(() => page.locator('.chart-legend').textContent()).toContain(`succeeded (${DEVICES})`);
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
    await shot(page, 'rollout');

    await page.goto(`${t.url}/#/rollouts`);
    await page.waitForSelector('#rollout-table .pill-completed');
    await shot(page, 'rollouts');
    await page.goto(`${t.url}/#/events`);
    await expect.poll(() => page.locator('#event-list tbody tr').count()).toBeGreaterThan(DEVICES);
    await shot(page, 'events', false);
    await page.goto(`${t.url}/#/policies`);
    await page.waitForSelector('.card table');
    await shot(page, 'policies');
    await page.goto(`${t.url}/#/artifacts`);
    await page.waitForSelector('#artifact-table');
    await shot(page, 'artifacts');
    await page.close();
  });

  it('shows a viewer no controls', async () => {
    const page = await signIn(t.tokens.viewer);
    const rollouts = (await t.request('GET', '/api/v1/rollouts', { token: t.tokens.viewer })).json() as { items: { id: string }[] };
    await page.goto(`${t.url}/#/rollouts/${rollouts.items[0]!.id}`);
    await page.waitForSelector('#read-only');
    expect(await page.locator('#btn-pause, #btn-resume, #btn-cancel, #btn-rollback').count()).toBe(0);
    await page.goto(`${t.url}/#/rollouts`);
    await page.waitForSelector('#rollout-table');
    expect(await page.locator('#new-rollout').count()).toBe(0);
    await page.close();
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    expect(problems).toEqual([]);
  });
});
