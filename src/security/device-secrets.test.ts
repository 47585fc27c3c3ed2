// Attack (issue 12 item 3): read the push credentials of devices. A viewer (or an operator) reads
// every way the server shows a device: get, list, CSV and NDJSON export, the event log, the live
// WebSocket, a notification webhook, and the server's own log lines; and someone with a copy of
// the database file looks for the token in it. Each shows "[set]" where a credential is, never
// its value, and the database holds it only encrypted under the secrets key. The push itself still
// authenticates with the stored token (a real receiver that requires it), also after an export
// re-imported with "[set]" in it; the dashboard (headless Chromium) shows "[set]" too; a server
// with another key refuses to start and says why.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../agent/receiver.js';
import { createApp, createLogger } from '../app.js';
import { loadConfig } from '../config.js';
import { nextEvent } from '../testing/engine.js';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';
import { browserMissing, openDashboardBrowser } from '../testing/browser.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { deviceSecretRows, dumpPostgres } from '../testing/raw-sql.js';
import { connectWs, type TestWsClient } from '../testing/ws-client.js';

const TOKEN = 'push-bearer-7Hq2xV9kLm3';
const PASSWORD = 'ssh-password-Zp4rW8yN';
const PASSPHRASE = 'key-passphrase-Qs6tB1cJ';
const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nprivate-key-material-Vb5nM0aE\n-----END OPENSSH PRIVATE KEY-----';
const IMPORTED = 'imported-token-Gx3kR7wD';
const CSV_TOKEN = 'csv-token-Lf8pT2qY';
const SECRETS = [TOKEN, PASSWORD, PASSPHRASE, 'private-key-material-Vb5nM0aE', IMPORTED, CSV_TOKEN];

const leaked = (text: string) => SECRETS.filter((secret) => text.includes(secret));

/** A loopback webhook receiver that records every notification body. */
async function hookServer() {
  const bodies: string[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      bodies.push(text);
      response.writeHead(200).end('ok');
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    async until(match: (all: string) => boolean) {
      while (!match(bodies.join('\n'))) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`device credentials are write-only (${db})`, () => {
    let t: TestApp;
    let pgdb: TestDatabase | null = null;
    let receiver: RunningReceiver;
    let hooks: Awaited<ReturnType<typeof hookServer>>;
    let live: TestWsClient;
    const logLines: string[] = [];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-secrets-'));

    beforeAll(async () => {
      pgdb = db === 'postgres' ? await createTestDatabase() : null;
      const logger = createLogger('trace', { write: (line: string) => void logLines.push(line) });
      t = await startTestApp({ config: pgdb ? { databaseUrl: pgdb.url } : {}, app: { logger } });
      receiver = await startReceiver({ dir, port: 0, host: '127.0.0.1', token: TOKEN });
      hooks = await hookServer();
      expect((await t.request('POST', '/api/v1/subscriptions', { body: { url: hooks.url, events: ['device.*'] } })).status).toBe(201);
      live = await connectWs(t.url, { token: t.tokens.viewer, query: { types: 'device.*' } });
      await live.waitFor((m) => m.type === 'hello');
      live.send({ type: 'subscribe' });
      await live.waitFor((m) => m.type === 'subscribed');

      // Every way in: create, replace, patch, NDJSON and CSV import.
      expect((await t.request('POST', '/api/v1/devices', { token: t.tokens.operator, body: { id: 'push-1', mode: 'http', address: receiver.url, metadata: { site: 'north', auth: { bearerToken: TOKEN } } } })).status).toBe(201);
      expect((await t.request('PUT', '/api/v1/devices/ssh-1', { token: t.tokens.operator, body: { mode: 'ssh', address: 'ssh://deploy@127.0.0.1:1/srv/updates', metadata: { auth: { password: PASSWORD } } } })).status).toBe(201);
      expect((await t.request('PATCH', '/api/v1/devices/ssh-1', { token: t.tokens.operator, body: { metadata: { auth: { password: '[set]', privateKey: PRIVATE_KEY, passphrase: PASSPHRASE } } } })).status).toBe(200);
      const ndjson = JSON.stringify({ id: 'imp-1', mode: 'http', address: 'http://127.0.0.1:1/imp', metadata: { auth: { bearerToken: IMPORTED } } }) + '\n';
      expect((await t.request('POST', '/api/v1/devices/import', { token: t.tokens.operator, headers: { 'content-type': 'application/x-ndjson' }, raw: ndjson })).status).toBe(200);
      const csv = `id,mode,address,metadata\ncsv-1,http,http://127.0.0.1:1/csv,"${JSON.stringify({ auth: { bearerToken: CSV_TOKEN } }).replaceAll('"', '""')}"\n`;
      expect((await t.request('POST', '/api/v1/devices/import', { token: t.tokens.operator, headers: { 'content-type': 'text/csv' }, raw: csv })).status).toBe(200);
    });
    afterAll(async () => {
      await live?.close();
      await t?.close();
      await receiver?.close();
      await hooks?.close();
      await pgdb?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('shows "[set]" for each credential, never its value, to a viewer and an operator, in every answer', async () => {
      for (const token of [t.tokens.viewer, t.tokens.operator]) {
        const one = await t.request('GET', '/api/v1/devices/ssh-1', { token });
        expect(one.status).toBe(200);
        expect((one.json() as { metadata: unknown }).metadata).toEqual({ auth: { password: '[set]', privateKey: '[set]', passphrase: '[set]' } });
        const list = await t.request('GET', '/api/v1/devices?limit=100', { token });
        const items = (list.json() as { items: { id: string; metadata: Record<string, unknown> }[] }).items;
        expect(Object.fromEntries(items.map((d) => [d.id, d.metadata]))).toMatchObject({ 'push-1': { site: 'north', auth: { bearerToken: '[set]' } }, 'imp-1': { auth: { bearerToken: '[set]' } }, 'csv-1': { auth: { bearerToken: '[set]' } } });
        const answers = [one.text, list.text];
        for (const format of ['csv', 'ndjson']) {
          const exported = await t.request('GET', `/api/v1/devices/export?format=${format}`, { token });
          expect(exported.status).toBe(200);
          expect(exported.text).toContain('[set]');
          answers.push(exported.text);
        }
        const events = await t.request('GET', '/api/v1/events?limit=200', { token });
        expect(events.text).toContain('device.updated');
        answers.push(events.text);
        for (const id of ['push-1', 'ssh-1']) answers.push((await t.request('GET', `/api/v1/events?deviceId=${id}&limit=50`, { token })).text);
        expect(leaked(answers.join('\n'))).toEqual([]);
      }
    });

    it.skipIf(browserMissing !== null)('shows "[set]" on the dashboard\'s device page, to a viewer in a real browser', async () => {
      const b = await openDashboardBrowser(t.url);
      try {
        const page = await b.signIn(t.tokens.viewer, { path: '/devices/ssh-1' });
        await page.waitForSelector('pre.json');
        const shown = await page.textContent('pre.json');
        expect(shown).toContain('"privateKey": "[set]"');
        expect(leaked(await page.content())).toEqual([]);
        await b.shot(page, `device-secrets-${db}`);
        expect(b.problems).toEqual([]);
      } finally {
        await b.close();
      }
    });

    it('keeps them out of live events, notifications and log lines', async () => {
      await live.waitFor((m) => m.type === 'events' && JSON.stringify(m).includes('"ssh-1"') && JSON.stringify(m).includes('device.updated'), 'the patch of ssh-1');
      expect(JSON.stringify(live.messages)).toContain('[set]');
      expect(leaked(JSON.stringify(live.messages))).toEqual([]);
      await hooks.until((all) => all.includes('device.updated') && all.includes('push-1'));
      expect(leaked(hooks.bodies.join('\n'))).toEqual([]);
      // The server's logger hides them wherever a device, a patch or an import row is logged.
      const logger = createLogger('info', { write: (line: string) => void logLines.push(line) });
      logger.info({ device: { metadata: { auth: { bearerToken: TOKEN } } }, changes: { metadata: { auth: { password: PASSWORD } } }, metadata: { auth: { passphrase: PASSPHRASE } } }, 'a device');
      expect(logLines.at(-1)).toContain('"bearerToken":"[redacted]"');
      expect(leaked(logLines.join(''))).toEqual([]);
    });

    it('holds them only encrypted in the database', async () => {
      let contents: string;
      if (db === 'sqlite') {
        const file = path.join(t.dataDir, 'orchestrator.db');
        contents = [file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f).toString('latin1')).join('');
        expect(contents).toContain('device_secrets');
      } else {
        // What a dump of the database holds: every row of every table, as text.
        const { tables, text } = await dumpPostgres(pgdb!.url);
        contents = text;
        expect(tables).toContain('device_secrets');
      }
      expect(leaked(contents)).toEqual([]);
      const sealed = await deviceSecretRows(t.app.store, 'push-1');
      expect(sealed).toEqual([expect.objectContaining({ key: 'bearerToken', key_id: t.app.store.deviceSecrets.keyId, sealed: expect.stringMatching(/^v1\./) })]);
    });

    it('refuses "[set]" for a credential that has no stored value, naming it', async () => {
      const response = await t.request('PATCH', '/api/v1/devices/push-1', { token: t.tokens.operator, body: { metadata: { auth: { bearerToken: '[set]', password: '[set]' } } } });
      expect(response.status).toBe(400);
      expect(response.text).toContain('metadata.auth.password');
      expect(leaked(response.text)).toEqual([]);
      const row = await t.request('POST', '/api/v1/devices/import', { token: t.tokens.operator, headers: { 'content-type': 'application/x-ndjson' }, raw: JSON.stringify({ id: 'new-1', metadata: { auth: { bearerToken: '[set]' } } }) + '\n' });
      expect(row.status).toBe(400);
      expect((row.json() as { error: { details: unknown[] } }).error.details).toContainEqual({ path: 'line 1', message: expect.stringContaining('no stored value for metadata.auth.bearerToken') });
      // A password in the address would be read by every viewer: refused, pointing at metadata.auth.
      const inAddress = await t.request('POST', '/api/v1/devices', { token: t.tokens.operator, body: { id: 'ssh-2', mode: 'ssh', address: `ssh://deploy:${PASSWORD}@127.0.0.1:1/srv` } });
      expect(inAddress.status).toBe(400);
      expect(inAddress.text).toContain('metadata.auth.password');
      expect(leaked(inAddress.text)).toEqual([]);
      const bad = await t.request('POST', '/api/v1/devices', { token: t.tokens.operator, body: { id: 'bad-1', metadata: { auth: { bearerToken: 42 } } } });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('metadata.auth.bearerToken');
    });

    it('pushes with the stored token, also after an export is imported back ("[set]" keeps it)', async () => {
      const exported = await t.request('GET', '/api/v1/devices/export?format=ndjson&q=push-1', { token: t.tokens.operator });
      expect(exported.text).toContain('"bearerToken":"[set]"');
      const reimported = await t.request('POST', '/api/v1/devices/import', { token: t.tokens.operator, headers: { 'content-type': 'application/x-ndjson' }, raw: exported.text });
      expect(reimported.json()).toMatchObject({ updated: 1 });
      const artifact = (await t.request('POST', '/api/v1/artifacts?name=fw&version=2.0.0', { headers: { 'content-type': 'application/octet-stream' }, raw: 'firmware 2.0.0' })).json() as { id: string };
      const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId: artifact.id, filter: { q: 'push-1' } } });
      expect(created.status).toBe(201);
      const id = (created.json() as { id: string }).id;
      const done = await nextEvent(t.app.events, (e) => e.rolloutId === id && /^rollout\.(completed|failed|paused)$/.test(e.type));
      expect(done.type).toBe('rollout.completed');
      // The receiver refuses anything without its exact token: the file is there, so the token was sent.
      expect(fs.readFileSync(path.join(dir, 'current'), 'utf8')).toBe('firmware 2.0.0');
    });

    it('refuses to start with another key, or with none, and says which key the database needs', async () => {
      const other = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-secrets-other-'));
      const base = { host: '127.0.0.1', port: 0, logLevel: 'silent' };
      const env = { ORCHESTRATOR_DATABASE_URL: pgdb?.url ?? '' };
      const sqlite = db === 'sqlite' ? t.dataDir : other;
      try {
        // A second server (or a restored data directory) with a key file of its own.
        const wrongKey = path.join(other, 'wrong.key');
        fs.writeFileSync(wrongKey, Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 });
        const wrong = createApp(loadConfig({ ...base, dataDir: sqlite, secretsKeyFile: wrongKey }, env), { logger: false });
        await expect(wrong).rejects.toThrow(new RegExp(`the secrets key file ${wrongKey} holds another key: .*sealed under secrets key ${t.app.store.deviceSecrets.keyId}.*ORCHESTRATOR_SECRETS_KEY_FILE`));
        // No key file at all: it says so, and leaves no fresh key behind to be mistaken for the right one.
        const missing = path.join(other, 'absent', 'secrets.key');
        await expect(createApp(loadConfig({ ...base, dataDir: sqlite, secretsKeyFile: missing }, env), { logger: false })).rejects.toThrow(/there was no secrets key file at .*absent.*copy it from a server that has it/);
        expect(fs.existsSync(missing)).toBe(false);
        // With a copy of the key, a second server starts.
        const copy = path.join(other, 'copy.key');
        fs.copyFileSync(path.join(t.dataDir, 'secrets.key'), copy);
        if (db === 'postgres') {
          const second = await createApp(loadConfig({ ...base, dataDir: other, secretsKeyFile: copy }, env), { logger: false });
          expect(second.store.deviceSecrets.keyId).toBe(t.app.store.deviceSecrets.keyId);
          await second.close();
        }
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
    });

    it('creates the key file readable by the server user only', () => {
      expect(fs.statSync(path.join(t.dataDir, 'secrets.key')).mode & 0o777).toBe(0o600);
    });
  });
}
