// Attack: aim the server's outbound requests at its own secrets. An operator (or a stolen operator
// token) sets a device's push address or a notification URL to the cloud metadata service
// (169.254.169.254 serves this machine's credentials on most clouds) or to 0.0.0.0 (this host),
// and reads the answer back from the execution's error. Every outbound connection checks the
// address it connects to against the deny list; a name that first resolves to an allowed address
// and then to a denied one (DNS rebinding) is refused at the second connect; loopback is allowed;
// what a device answers is kept short in the error.
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../agent/receiver.js';
import { CidrList } from '../core/index.js';
import { DeliveryError, HttpTransport } from '../delivery/index.js';
import { nextEvent } from '../testing/engine.js';
import { DEFAULT_OUTBOUND_DENY, outboundDenyEntries, OutboundGuard, type OutboundResolver } from '../outbound/index.js';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';
import { makeArtifactFile, makeDevice } from '../testing/delivery.js';

/** Answers names ending in .rebind.test from a script, one answer per lookup; other names as DNS does. */
function scriptedResolver(script: Record<string, string[]>): OutboundResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = ((hostname, options, callback) => {
    if (!hostname.endsWith('.rebind.test')) return dns.lookup(hostname, options, callback);
    calls.push(hostname);
    const address = script[hostname]?.shift();
    if (!address) return callback(Object.assign(new Error(`no scripted answer for ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
  }) as OutboundResolver & { calls: string[] };
  resolver.calls = calls;
  return resolver;
}

/** A loopback HTTP server that answers every request with `status` and `body`. */
async function answering(status: number, body: string, headers: Record<string, string> = {}) {
  const received: string[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      received.push(text);
      response.writeHead(status, headers).end(body);
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    until: async (n: number) => {
      while (received.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`push deliveries refuse denied addresses (${db})`, () => {
    let t: TestApp;
    let receiver: RunningReceiver;
    let chatty: Awaited<ReturnType<typeof answering>>;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-deny-'));
    beforeAll(async () => {
      t = await startTestApp({ db });
      receiver = await startReceiver({ dir, port: 0, host: '127.0.0.1' });
      chatty = await answering(400, JSON.stringify({ error: { message: `refused: ${'S3CR3T-'.repeat(20_000)}` } }));
      const port = new URL(t.url).port;
      const devices = {
        imds: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        'imds-mapped': 'http://[::ffff:169.254.169.254]/latest/meta-data/',
        'imds-v6': 'http://[fd00:ec2::254]/latest/meta-data/',
        'this-host': `http://0.0.0.0:${port}/api/v1/tokens`,
        'link-local': 'http://[fe80::1]:8080/update',
        local: receiver.url,
        chatty: `http://127.0.0.1:${chatty.port}/update`,
      };
      for (const [id, address] of Object.entries(devices)) {
        expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'http', address, metadata: { auth: { bearerToken: `token-of-${id}` } } } })).status).toBe(201);
      }
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'ssh-imds', mode: 'ssh', address: 'ssh://root@169.254.169.254:22/tmp/updates', metadata: { auth: { password: 'device-password' } } } })).status).toBe(201);
    });
    afterAll(async () => {
      await t?.close();
      await receiver?.close();
      await chatty?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('fails each denied address for good, naming the setting; delivers on loopback; keeps a device\'s answer short', async () => {
      const artifact = (await t.request('POST', '/api/v1/artifacts?name=fw&version=1.0.0', { headers: { 'content-type': 'application/octet-stream' }, raw: 'firmware 1.0.0' })).json() as { id: string };
      const created = await t.request('POST', '/api/v1/rollouts', { body: { artifactId: artifact.id, errorThreshold: { percent: 100, action: 'pause' } } });
      expect(created.status).toBe(201);
      const id = (created.json() as { id: string }).id;
      await nextEvent(t.app.events, (e) => e.rolloutId === id && /^rollout\.(completed|failed)$/.test(e.type));
      const executions = ((await t.request('GET', `/api/v1/rollouts/${id}/devices?limit=100`)).json() as { items: { deviceId: string; state: string; attempts: number; error: string | null }[] }).items;
      const by = Object.fromEntries(executions.map((e) => [e.deviceId, e]));
      for (const denied of ['imds', 'imds-mapped', 'imds-v6', 'this-host', 'link-local', 'ssh-imds']) {
        expect(by[denied], denied).toMatchObject({ state: 'failed', attempts: 1, error: expect.stringContaining('ORCHESTRATOR_OUTBOUND_DENY') });
      }
      expect(by.imds!.error).toMatch(/169\.254\.169\.254 is in 169\.254\.0\.0\/16/);
      expect(by.local).toMatchObject({ state: 'succeeded' });
      expect(fs.readFileSync(path.join(dir, 'current'), 'utf8')).toBe('firmware 1.0.0');
      expect(by.chatty).toMatchObject({ state: 'failed' });
      expect(by.chatty!.error!.length).toBeLessThan(400);
      expect(by.chatty!.error).toMatch(/^http_400: device 'chatty' answered 400: .*refused: S3CR3T-S3CR3T-/);
      // The app itself answered nothing to "this-host": no token was created through it.
      expect(((await t.request('GET', '/api/v1/tokens')).json() as { items: unknown[] }).items).toHaveLength(3);
    });
  });

  describe.skipIf(skip !== null)(`notifications refuse denied addresses (${db})`, () => {
    let t: TestApp;
    let hooks: Awaited<ReturnType<typeof answering>>;
    const script: Record<string, string[]> = {};
    const resolver = scriptedResolver(script);
    beforeAll(async () => {
      // The receiver closes every connection, so each notification connects (and looks up) anew.
      hooks = await answering(200, 'ok', { connection: 'close' });
      t = await startTestApp({ db, app: { outbound: new OutboundGuard(CidrList.parse(DEFAULT_OUTBOUND_DENY), resolver), notifyOptions: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 3 } } });
    });
    afterAll(async () => {
      await t?.close();
      await hooks?.close();
    });

    it('refuses a subscription to a denied address at once', async () => {
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]:9000/hook', 'http://0.0.0.0:9000/hook', 'https://[fd00:ec2::254]/']) {
        const response = await t.request('POST', '/api/v1/subscriptions', { body: { url } });
        expect(response.status, url).toBe(400);
        expect(response.text).toContain('ORCHESTRATOR_OUTBOUND_DENY');
      }
    });

    it('refuses a name that rebinds to the metadata address, and delivers again once it resolves to loopback', async () => {
      script['hooks.rebind.test'] = ['127.0.0.1', '169.254.169.254', '127.0.0.1'];
      const created = await t.request('POST', '/api/v1/subscriptions', { body: { url: `http://hooks.rebind.test:${hooks.port}/events`, events: ['device.created'] } });
      expect(created.status).toBe(201);
      for (const id of ['n-1', 'n-2', 'n-3']) expect((await t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull' } })).status).toBe(201);
      await hooks.until(2);
      expect(hooks.received.map((body) => (JSON.parse(body) as { deviceId: string }).deviceId)).toEqual(['n-1', 'n-3']);
      expect(resolver.calls).toEqual(['hooks.rebind.test', 'hooks.rebind.test', 'hooks.rebind.test']);
    });
  });
}

describe('DNS rebinding against a push delivery', () => {
  let receiver: RunningReceiver;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-rebind-'));
  beforeAll(async () => {
    receiver = await startReceiver({ dir, port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await receiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('checks the address of every connection, not the name once', async () => {
    const resolver = scriptedResolver({ 'fw.rebind.test': ['127.0.0.1', '169.254.169.254'] });
    const guard = new OutboundGuard(CidrList.parse(DEFAULT_OUTBOUND_DENY), resolver);
    const file = makeArtifactFile(dir, { name: 'fw', version: '2.0.0' });
    const device = makeDevice('rebound', 'http', `http://fw.rebind.test:${receiver.port}/`);
    const first = new HttpTransport({ outbound: guard });
    await expect(first.deliver({ updateId: 'u-1', device, artifact: file.artifact, filePath: file.filePath })).resolves.toMatchObject({ outcome: 'delivered' });
    await first.close();
    // A new connection (another server, or after the pool let it go) looks the name up again.
    const second = new HttpTransport({ outbound: guard });
    const refused = await second.deliver({ updateId: 'u-2', device, artifact: { ...file.artifact, version: '2.0.1' }, filePath: file.filePath }).catch((error: unknown) => error);
    await second.close();
    expect(refused).toBeInstanceOf(DeliveryError);
    expect(refused).toMatchObject({ code: 'denied_address', retryable: false, message: expect.stringContaining('fw.rebind.test resolves to 169.254.169.254') });
    expect(resolver.calls).toHaveLength(2);
  });

  it('refuses a name when any of its addresses is denied', async () => {
    const guard = new OutboundGuard(CidrList.parse(DEFAULT_OUTBOUND_DENY), (_host, _options, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }, { address: '169.254.169.254', family: 4 }]));
    await expect(guard.resolve('two.rebind.test')).rejects.toThrow(/169\.254\.169\.254/);
  });
});

describe('ORCHESTRATOR_OUTBOUND_DENY', () => {
  it('defaults to link-local, this-host and cloud metadata ranges; `default` extends them, `none` empties the list', () => {
    expect(outboundDenyEntries(undefined)).toEqual(DEFAULT_OUTBOUND_DENY);
    expect(outboundDenyEntries('default, 10.0.0.0/8')).toEqual([...DEFAULT_OUTBOUND_DENY, '10.0.0.0/8']);
    expect(outboundDenyEntries('none')).toEqual([]);
    const guard = OutboundGuard.fromEntries(outboundDenyEntries('default,127.0.0.0/8'));
    expect(() => guard.checkHost('127.0.0.1')).toThrow(/127\.0\.0\.0\/8/);
    expect(() => OutboundGuard.fromEntries(DEFAULT_OUTBOUND_DENY).checkHost('127.0.0.1')).not.toThrow();
    expect(OutboundGuard.fromEntries([]).allowsMetadata).toEqual(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);
  });
});
