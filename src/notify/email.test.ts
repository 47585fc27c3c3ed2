// Email notifications against a real SMTP server (smtp-server) on 127.0.0.1: a real rollout's
// device failure and cancel arrive as readable mail over STARTTLS with a login; a 451 is retried
// with the webhooks' backoff, a 550 is not; implicit TLS works and an unknown certificate is
// refused; the settings say what is wrong when they are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../app.js';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { captureLogs, startSmtpServer, type TestSmtpServer } from '../testing/smtp.js';
import { smtpSettings } from './email.js';

const PASSWORD = 'smtp-pass-Zq8!x';
const fast = { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 4, refreshMs: 100 };

async function appWith(smtp: TestSmtpServer, config: Record<string, unknown>, logs = captureLogs()): Promise<{ t: TestApp; logs: ReturnType<typeof captureLogs> }> {
  const t = await startTestApp({ config: { smtpUser: 'mailer', smtpPassword: PASSWORD, smtpCaFile: smtp.caFile, smtpFrom: 'orchestrator@example.com', ...config }, app: { notifyOptions: fast, logger: createLogger('info', logs) } });
  return { t, logs };
}

describe('email notifications over STARTTLS', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let logs: ReturnType<typeof captureLogs>;
  beforeAll(async () => {
    smtp = await startSmtpServer({ secure: false, user: 'mailer', password: PASSWORD, dataScript: { 'flaky@example.com': [451, 451] }, refuse: { 'gone@example.com': 550 } });
    ({ t, logs } = await appWith(smtp, { smtpUrl: `smtp://127.0.0.1:${smtp.port}`, publicUrl: 'https://orchestrator.example' }));
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const subscribe = async (body: Record<string, unknown>) => {
    const response = await t.request('POST', '/api/v1/subscriptions', { body });
    expect(response.status, response.text).toBe(201);
    return response.json() as { id: string; kind: string; to: string[]; url: string | null };
  };

  it('mails a real rollout: the device that failed and the cancel, naming event, rollout and device', async () => {
    const sub = await subscribe({ kind: 'email', to: ['ops@example.com', 'OnCall@Example.COM'], events: ['execution.failed', 'rollout.cancelled'], name: 'ops mail' });
    expect(sub).toMatchObject({ kind: 'email', to: ['ops@example.com', 'OnCall@example.com'], url: null });
    for (const id of ['kiosk-1', 'kiosk-2']) expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull', tags: { ring: 'mail' } } })).status).toBe(201);
    const artifact = (await t.request('POST', '/api/v1/artifacts?name=kiosk-app&version=3.1.0', { raw: 'bytes', headers: { 'content-type': 'application/octet-stream' } })).json() as { id: string };
    // The device API serves the update once the engine released it (queued).
    const queued = nextEvent(t.app.events, (ev) => ev.deviceId === 'kiosk-1' && ev.type === 'execution.queued');
    const created = await t.request('POST', '/api/v1/rollouts', { body: { name: 'Kiosk fleet 3.1', artifactId: artifact.id, filter: { tag: 'ring=mail' }, errorThreshold: { percent: 100, action: 'pause' } } });
    expect(created.status, created.text).toBe(201);
    const rollout = created.json() as { id: string };
    await queued;
    // kiosk-1 reports a failed install through the device API, as an agent does.
    const deviceToken = (await t.app.store.tokens.create({ kind: 'device', deviceId: 'kiosk-1', name: 'kiosk-1' }, Date.now())).token;
    const state = (await t.request('GET', '/api/v1/device/kiosk-1/state', { token: deviceToken })).json() as { update: { executionId: string } | null };
    expect(state.update).not.toBeNull();
    const report = await t.request('PATCH', '/api/v1/device/state', { token: deviceToken, body: { execution: { id: state.update!.executionId, state: 'failed', error: 'disk full: cannot write /data' } } });
    expect(report.status, report.text).toBeLessThan(300);
    await smtp.until((r) => r.some((m) => /Device kiosk-1 failed/.test(m.parsed.subject ?? '')));
    expect((await t.request('POST', `/api/v1/rollouts/${rollout.id}/cancel`, { token: t.tokens.operator, body: {} })).status).toBe(200);
    await smtp.until((r) => r.some((m) => /was cancelled/.test(m.parsed.subject ?? '')));

    const failed = smtp.received.find((m) => /Device kiosk-1 failed/.test(m.parsed.subject ?? ''))!;
    expect(failed.parsed.subject).toBe('[update-orchestrator] Device kiosk-1 failed in rollout "Kiosk fleet 3.1"');
    expect(failed.to).toEqual(['ops@example.com', 'OnCall@example.com']);
    expect(failed.from).toBe('orchestrator@example.com');
    expect(failed.secure).toBe(true);
    expect(failed.user).toBe('mailer');
    const text = failed.parsed.text ?? '';
    expect(text).toMatch(/^Device kiosk-1 failed in rollout "Kiosk fleet 3\.1"\./);
    expect(text).toMatch(/Event: +execution\.failed \(#\d+\)/);
    expect(text).toMatch(new RegExp(`Rollout: +Kiosk fleet 3\\.1 \\(${rollout.id}\\)`));
    expect(text).toMatch(/Device: +kiosk-1/);
    expect(text).toMatch(/Error: +disk full: cannot write \/data/);
    expect(text).toContain(`https://orchestrator.example/#/rollouts/${rollout.id}`);
    expect(text).toContain('https://orchestrator.example/#/devices/kiosk-1');
    expect(text).toContain(`subscription "ops mail" (${sub.id})`);
    expect(failed.parsed.headers.get('x-orchestrator-event')).toBe('execution.failed');

    const cancelled = smtp.received.find((m) => /was cancelled/.test(m.parsed.subject ?? ''))!;
    expect(cancelled.parsed.subject).toBe('[update-orchestrator] Rollout "Kiosk fleet 3.1" was cancelled');
    expect(cancelled.parsed.text).toMatch(/By: +token:/);
    // One message per event: nothing else matched the filter.
    expect(smtp.received.filter((m) => m.to.includes('ops@example.com'))).toHaveLength(2);
    expect(logs.lines.join('\n')).not.toContain(PASSWORD);
  });

  it('retries a 451 with the same backoff as webhooks, and does not retry a 550', async () => {
    await subscribe({ to: ['flaky@example.com'], events: ['rollout.paused'] });
    await subscribe({ to: ['gone@example.com'], events: ['rollout.paused'] });
    await t.app.events.append([{ type: 'rollout.paused', rolloutId: 'r-mail', data: { name: 'Vans', reason: 'failures above 2%' } }]);
    await smtp.until((r) => r.some((m) => m.to.includes('flaky@example.com')));
    const mail = smtp.received.find((m) => m.to.includes('flaky@example.com'))!;
    expect(mail.parsed.subject).toBe('[update-orchestrator] Rollout "Vans" was paused');
    expect(mail.parsed.text).toMatch(/Reason: +failures above 2%/);
    // Two 451 answers were retried: attempts 1 and 2 logged, the third delivered.
    expect(logs.lines.filter((l) => /will retry/.test(l) && /SMTP 451/.test(l))).toHaveLength(2);
    const refused = await logs.until(/SMTP 550.*failed for good/);
    expect(refused).toMatch(/"attempt":1/);
    expect(smtp.received.some((m) => m.to.includes('gone@example.com'))).toBe(false);
  });

  it('refuses bad recipients and webhook fields on an email subscription, saying what is wrong', async () => {
    const bad = async (body: Record<string, unknown>, mention: RegExp) => {
      const response = await t.request('POST', '/api/v1/subscriptions', { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.text).toMatch(mention);
    };
    await bad({ kind: 'email', to: [] }, /to/);
    await bad({ kind: 'email', to: ['not an address'] }, /to\.0 must be a bare address/);
    await bad({ kind: 'email', to: ['Ops <ops@example.com>'] }, /to\.0/);
    await bad({ kind: 'email', to: ['ops@example.com'], url: 'https://x.example' }, /url is for webhooks/);
    await bad({ kind: 'email', to: ['ops@example.com'], secret: 'abcdefgh12' }, /secret signs webhook bodies/);
    await bad({ kind: 'email', to: ['ops@example.com'], format: 'slack' }, /format is for webhooks/);
    await bad({ url: 'https://x.example', to: ['ops@example.com'] }, /to is for email/);
  });
});

describe('email notifications over implicit TLS', () => {
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startSmtpServer({ secure: true, user: 'mailer', password: PASSWORD });
  });
  afterAll(async () => smtp?.close());

  it('sends over smtps:// with the CA it is given', async () => {
    const { t } = await appWith(smtp, { smtpUrl: `smtps://127.0.0.1:${smtp.port}` });
    try {
      expect((await t.request('POST', '/api/v1/subscriptions', { body: { kind: 'email', to: ['tls@example.com'] } })).status).toBe(201);
      await t.app.events.append([{ type: 'rollout.completed', rolloutId: 'r-tls', data: { name: 'Edge boxes', counts: { succeeded: 12, failed: 1 } } }]);
      await smtp.until((r) => r.some((m) => m.to.includes('tls@example.com')));
      const mail = smtp.received.find((m) => m.to.includes('tls@example.com'))!;
      expect(mail.secure).toBe(true);
      expect(mail.parsed.subject).toBe('[update-orchestrator] Rollout "Edge boxes" completed');
      expect(mail.parsed.text).toMatch(/Devices: +succeeded 12, failed 1/);
    } finally {
      await t.close();
    }
  });

  it('refuses a certificate no trusted CA signed, and sends nothing', async () => {
    const { t, logs } = await appWith(smtp, { smtpUrl: `smtps://127.0.0.1:${smtp.port}`, smtpCaFile: undefined });
    try {
      expect((await t.request('POST', '/api/v1/subscriptions', { body: { kind: 'email', to: ['untrusted@example.com'] } })).status).toBe(201);
      await t.app.events.append([{ type: 'rollout.failed', rolloutId: 'r-untrusted' }]);
      const line = await logs.until(/notification failed for good/);
      expect(line).toMatch(/certificate|self.signed|CERT/i);
      expect(smtp.received.some((m) => m.to.includes('untrusted@example.com'))).toBe(false);
      expect(logs.lines.join('\n')).not.toContain(PASSWORD);
    } finally {
      await t.close();
    }
  });
});

describe('SMTP settings', () => {
  const base = { smtpUser: undefined, smtpPassword: undefined, smtpSecurity: undefined, smtpCaFile: undefined, smtpFrom: undefined };
  it('reads the URL: scheme gives the TLS mode and port, user and password from it or the environment', () => {
    expect(smtpSettings({ ...base, smtpUrl: undefined })).toBeNull();
    expect(smtpSettings({ ...base, smtpUrl: 'smtps://mail.example' })).toMatchObject({ host: 'mail.example', port: 465, security: 'tls', user: null, password: null });
    expect(smtpSettings({ ...base, smtpUrl: 'smtp://me%40x.example:p%40ss@mail.example' })).toMatchObject({ port: 587, security: 'starttls', user: 'me@x.example', password: 'p@ss', from: 'update-orchestrator@x.example' });
    expect(smtpSettings({ ...base, smtpUrl: 'smtp://u@mail.example:2525', smtpPassword: 'other', smtpFrom: 'a@b.example' })).toMatchObject({ port: 2525, user: 'u', password: 'other', from: 'a@b.example' });
    expect(smtpSettings({ ...base, smtpUrl: 'smtp://localhost:25', smtpSecurity: 'none' })).toMatchObject({ security: 'none' });
  });
  it('says what is wrong, without echoing the URL', () => {
    expect(() => smtpSettings({ ...base, smtpUrl: 'http://u:secretpw@mail.example' })).toThrow(/must start with smtp:\/\/ .* not http:\/\//);
    expect(() => smtpSettings({ ...base, smtpUrl: 'smtp://mail.example', smtpSecurity: 'maybe' })).toThrow(/ORCHESTRATOR_SMTP_SECURITY must be tls, starttls, none/);
    expect(() => smtpSettings({ ...base, smtpUrl: 'smtp://mail.example', smtpPassword: 'x' })).toThrow(/without a user/);
    expect(() => smtpSettings({ ...base, smtpUrl: 'smtp://u:pw@mail.example', smtpSecurity: 'none' })).toThrow(/unencrypted/);
    expect(() => smtpSettings({ ...base, smtpUrl: 'smtp://mail.example', smtpFrom: 'not-an-address' })).toThrow(/ORCHESTRATOR_SMTP_FROM/);
    expect(() => smtpSettings({ ...base, smtpUrl: 'smtp://mail.example', smtpCaFile: '/nonexistent/ca.pem' })).toThrow(/ORCHESTRATOR_SMTP_CA: cannot read/);
    try {
      smtpSettings({ ...base, smtpUrl: 'http://u:secretpw@mail.example' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secretpw');
    }
  });
});
