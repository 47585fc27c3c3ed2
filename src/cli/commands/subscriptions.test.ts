// `orchestrator subscriptions create --email` as a user runs it (the built CLI): against a server
// with SMTP settings the mail reaches a real SMTP server; without them the refusal says what to set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { startSmtpServer, type TestSmtpServer } from '../../testing/smtp.js';

describe('orchestrator subscriptions create --email', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let plain: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer({ secure: false, user: 'mailer', password: 'cli-smtp-pass' });
    t = await startTestApp({ config: { smtpUrl: `smtp://mailer@127.0.0.1:${smtp.port}`, smtpPassword: 'cli-smtp-pass', smtpCaFile: smtp.caFile }, app: { notifyOptions: { baseDelayMs: 5, maxDelayMs: 20, refreshMs: 100 } } });
    plain = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    await plain?.close();
    await smtp?.close();
  });
  const cli = (app: TestApp, args: string[]) => runCli([...args, '--server', app.url, '--token', app.tokens.admin]);

  it('subscribes recipients, lists them, and the mail arrives', { timeout: 60_000 }, async () => {
    const created = await cli(t, ['subscriptions', 'create', '--email', 'ops@example.com', '--email', 'oncall@example.com,dev@example.com', '--events', 'rollout.paused', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ kind: 'email', to: ['ops@example.com', 'oncall@example.com', 'dev@example.com'], url: null, hasSecret: false });
    const listed = await cli(t, ['subscriptions', 'list']);
    expect(listed.stdout).toMatch(/email\s+ops@example\.com, oncall@example\.com, dev@example\.com\s+rollout\.paused\s+text/);
    await t.app.events.append([{ type: 'rollout.paused', rolloutId: 'r-cli', data: { name: 'Lobby kiosks', reason: 'operator' } }]);
    await smtp.until((r) => r.length === 1);
    expect(smtp.received[0]!.to).toEqual(['ops@example.com', 'oncall@example.com', 'dev@example.com']);
    expect(smtp.received[0]!.parsed.subject).toBe('[update-orchestrator] Rollout "Lobby kiosks" was paused');
  });

  it('says what is wrong: no target, both targets, webhook flags, no SMTP on the server', { timeout: 60_000 }, async () => {
    const none = await cli(t, ['subscriptions', 'create', '--events', 'rollout.*']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give --url URL \(a webhook\) or --email ADDRESS/);
    expect((await cli(t, ['subscriptions', 'create', '--url', 'http://127.0.0.1:9/x', '--email', 'a@example.com'])).code).toBe(2);
    expect((await cli(t, ['subscriptions', 'create', '--email', 'a@example.com', '--secret', 'abcdefgh12'])).stderr).toMatch(/--secret and --format are for webhooks/);
    const bad = await cli(t, ['subscriptions', 'create', '--email', 'not-an-address']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/to\.0 must be a bare address/);
    const unconfigured = await cli(plain, ['subscriptions', 'create', '--email', 'ops@example.com']);
    expect(unconfigured.code).toBe(1);
    expect(unconfigured.stderr).toMatch(/ORCHESTRATOR_SMTP_URL/);
    expect((await runCli(['subscriptions', 'create', '--help'])).stdout).toMatch(/--email <address>/);
  });
});
