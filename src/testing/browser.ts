// Test support for the dashboard: Debian's chromium, headless, through playwright-core; pages that
// sign in with a token and collect script errors and CSP violations; screenshots under
// test-output/screenshots/ for a person to look at.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const SHOTS = path.resolve(import.meta.dirname, '../../test-output/screenshots');

/** Why browser tests cannot run here (null: they can). CI=true never skips. */
export const browserMissing = !fs.existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed (.ci/run installs it)` : null;

export interface DashboardBrowser {
  browser: Browser;
  /** Script errors and Content-Security-Policy violations seen on any page. */
  problems: string[];
  /** A new page signed in with `token`, its live feed connected. */
  signIn(token: string, options?: { path?: string }): Promise<Page>;
  shot(page: Page, name: string, fullPage?: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function openDashboardBrowser(url: string): Promise<DashboardBrowser> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  const problems: string[] = [];
  return {
    browser,
    problems,
    async signIn(token, options = {}) {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      // A locator that never matches fails the test instead of waiting forever.
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) problems.push(`console: ${message.text()}`);
      });
      await page.goto(`${url}/`);
      await page.fill('#token', token);
      await page.click('button[type=submit]');
      await page.waitForSelector('.live-live');
      if (options.path) await page.goto(`${url}/#${options.path}`);
      return page;
    },
    async shot(page, name, fullPage = true) {
      // Sticky bars are drawn where the viewport is: capture from the top.
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
    },
    close: () => browser.close(),
  };
}
