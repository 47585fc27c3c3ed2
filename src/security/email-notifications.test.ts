// Attack: use email notifications to leak the SMTP password, to mail people the admin did not
// choose, or to forge mail. Only an admin creates them (authentication before validation); the
// SMTP password is never in an answer, the event log or the server's log, even when the SMTP
// server refuses the login; recipients are bare addresses (no header or SMTP command injection);
// a rollout name or device text with CR/LF cannot add headers or recipients. Real HTTP against a
// real server and a real SMTP server, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../app.js';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { captureLogs, startSmtpServer, type TestSmtpServer } from '../testing/smtp.js';

const PASSWORD = 'smtp-Secret-7fQ2-do-not-leak';
const pgSkip = await postgresUnavailable();

for (const db of ['sqlite', 'postgres'] as const) {
  const skip = db === 'postgres' ? pgSkip : null;
  describe.skipIf(skip !== null)(`email notifications under attack (${db})`, () => {
    let smtp: TestSmtpServer;
    let t: TestApp;
    const logs = captureLogs();
    beforeAll(async () => {
      smtp = await startSmtpServer({ secure: false, user: 'mailer', password: PASSWORD });
      t = await startTestApp({
        db,
        config: { smtpUrl: `smtp://mailer:${encodeURIComponent(PASSWORD)}@127.0.0.1:${smtp.port}`, smtpCaFile: smtp.caFile, smtpFrom: 'orchestrator@example.com' },
        app: { logger: createLogger('debug', logs), notifyOptions: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 2, refreshMs: 100 } },
      });
    });
    afterAll(async () => {
      await t?.close();
      await smtp?.close();
    });

    it('lets only an admin subscribe an address', async () => {
      const body = { kind: 'email', to: ['mallory@evil.example'], events: ['*'] };
      expect((await t.request('POST', '/api/v1/subscriptions', { token: null, body })).status).toBe(401);
      expect((await t.request('POST', '/api/v1/subscriptions', { token: 'uo_op_guess', body })).status).toBe(401);
      for (const token of [t.tokens.viewer, t.tokens.operator]) expect((await t.request('POST', '/api/v1/subscriptions', { token, body })).status).toBe(403);
      expect((await t.request('DELETE', '/api/v1/subscriptions/any', { token: t.tokens.operator })).status).toBe(403);
      const listed = (await t.request('GET', '/api/v1/subscriptions', { token: t.tokens.operator })).json() as { items: unknown[] };
      expect(listed.items).toEqual([]);
    });

    it('refuses recipients that smuggle headers, SMTP commands or extra addresses, and more than 20', async () => {
      const hostile = ['ops@example.com\r\nBcc: mallory@evil.example', 'ops@example.com>\r\nRCPT TO:<mallory@evil.example', 'Ops <ops@example.com>, mallory@evil.example', 'ops@example.com,mallory@evil.example', '"ops"@example.com', 'ops@example.com\u0000', '@evil.example', 'ops@-evil.example'];
      for (const address of hostile) {
        const response = await t.request('POST', '/api/v1/subscriptions', { body: { kind: 'email', to: [address] } });
        expect(response.status, JSON.stringify(address)).toBe(400);
      }
      const many = Array.from({ length: 21 }, (_, i) => `ops${i}@example.com`);
      expect((await t.request('POST', '/api/v1/subscriptions', { body: { kind: 'email', to: many } })).status).toBe(400);
      expect((await t.request('GET', '/api/v1/subscriptions')).json()).toEqual({ items: [] });
    });

    it('never shows the SMTP password: not in answers, the event log, the OpenAPI document or the log, even when the login fails', async () => {
      const created = await t.request('POST', '/api/v1/subscriptions', { body: { kind: 'email', to: ['ops@example.com'], events: ['rollout.paused'] } });
      expect(created.status, created.text).toBe(201);
      const { id } = created.json() as { id: string };
      const answers = [created.text, (await t.request('GET', '/api/v1/subscriptions')).text, (await t.request('GET', `/api/v1/subscriptions/${id}`)).text, (await t.request('GET', '/api/v1/events?limit=1000')).text, (await t.request('GET', '/openapi.json', { token: null })).text];
      for (const text of answers) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(encodeURIComponent(PASSWORD));
      }
      // A mail that goes out, then one the SMTP server refuses at login (the password changed on its side).
      await t.app.events.append([{ type: 'rollout.paused', rolloutId: 'r-ok', data: { name: 'ok' } }]);
      await smtp.until((r) => r.length === 1);
      expect(smtp.received[0]!.user).toBe('mailer');
      const rotated = await startSmtpServer({ secure: false, user: 'mailer', password: 'rotated-elsewhere' });
      const other = await startTestApp({
        db,
        config: { smtpUrl: `smtp://127.0.0.1:${rotated.port}`, smtpUser: 'mailer', smtpPassword: PASSWORD, smtpCaFile: rotated.caFile },
        app: { logger: createLogger('debug', logs), notifyOptions: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 2, refreshMs: 100 } },
      });
      try {
        expect((await other.request('POST', '/api/v1/subscriptions', { body: { kind: 'email', to: ['ops@example.com'] } })).status).toBe(201);
        await other.app.events.append([{ type: 'rollout.failed', rolloutId: 'r-refused' }]);
        const line = await logs.until(/SMTP 535.*failed for good/);
        expect(line).toMatch(/Authentication credentials invalid/);
        expect(rotated.refusedLogins).toEqual(['mailer']);
        expect(rotated.received).toEqual([]);
      } finally {
        await other.close();
        await rotated.close();
      }
      const everything = logs.lines.join('\n');
      expect(everything).toContain('email notifications enabled');
      expect(everything).not.toContain(PASSWORD);
      expect(everything).not.toContain(encodeURIComponent(PASSWORD));
    });

    it('keeps a hostile rollout name and device text inside the message: one subject line, no added header or recipient', async () => {
      expect((await t.request('POST', '/api/v1/subscriptions', { body: { kind: 'email', to: ['audit@example.com'], events: ['rollout.cancelled', 'execution.failed'] } })).status).toBe(201);
      // Two devices: the rollout keeps running after the first one fails, so it can be cancelled.
      for (const id of ['kiosk-evil', 'kiosk-calm']) expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull', tags: { ring: 'evil' } } })).status).toBe(201);
      const artifact = (await t.request('POST', '/api/v1/artifacts?name=app&version=6.6.6', { raw: 'bytes', headers: { 'content-type': 'application/octet-stream' } })).json() as { id: string };
      const name = 'Kiosks\r\nBcc: mallory@evil.example\r\nSubject: forged\r\n\r\nforged body';
      // The device API serves the update once the engine released it (queued).
      const queued = nextEvent(t.app.events, (ev) => ev.deviceId === 'kiosk-evil' && ev.type === 'execution.queued');
      const created = await t.request('POST', '/api/v1/rollouts', { body: { name, artifactId: artifact.id, filter: { tag: 'ring=evil' }, errorThreshold: { percent: 100, action: 'pause' } } });
      expect(created.status, created.text).toBe(201);
      const rollout = created.json() as { id: string };
      await queued;
      const token = (await t.app.store.tokens.create({ kind: 'device', deviceId: 'kiosk-evil', name: 'kiosk-evil' }, Date.now())).token;
      const state = (await t.request('GET', '/api/v1/device/kiosk-evil/state', { token })).json() as { update: { executionId: string } };
      const report = await t.request('PATCH', '/api/v1/device/state', { token, body: { execution: { id: state.update.executionId, state: 'failed', error: 'boom\r\nBcc: mallory@evil.example\r\n.\r\nMAIL FROM:<x@evil.example>' } } });
      expect(report.status, report.text).toBeLessThan(300);
      await smtp.until((r) => r.filter((m) => m.to.includes('audit@example.com')).length >= 1);
      const cancel = await t.request('POST', `/api/v1/rollouts/${rollout.id}/cancel`, { token: t.tokens.operator, body: {} });
      expect(cancel.status, cancel.text).toBe(200);
      await smtp.until((r) => r.filter((m) => m.to.includes('audit@example.com')).length >= 2);
      const mails = smtp.received.filter((m) => m.to.includes('audit@example.com'));
      for (const mail of mails) {
        expect(mail.to).toEqual(['audit@example.com']);
        expect(mail.parsed.bcc).toBeUndefined();
        expect(mail.parsed.headers.has('bcc')).toBe(false);
        expect(mail.parsed.subject).not.toMatch(/[\r\n]/);
        expect(mail.parsed.subject).not.toBe('forged');
        expect(mail.parsed.subject).toMatch(/"Kiosks Bcc: mallory@evil\.example Subject: forged forged body"/);
        expect(mail.raw).not.toMatch(/^Bcc:/im);
      }
      // The device's text stays in the body as text, its carriage returns made visible.
      const failedMail = mails.find((m) => /failed/.test(m.parsed.subject ?? ''))!;
      expect(failedMail.parsed.text).toMatch(/Error: +boom\uFFFD/);
      expect(smtp.received.some((m) => m.to.includes('mallory@evil.example') || m.to.includes('x@evil.example'))).toBe(false);
    });
  });
}
