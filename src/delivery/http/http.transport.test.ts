import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver, startReceiver } from '../../agent/receiver.js';
import { generateSigningKeyPair } from '../../core/index.js';
import { makeArtifactFile, makeDevice } from '../../testing/delivery.js';
import { runTransportContract } from '../../testing/transport.contract.js';
import { DeliveryError } from '../transport.js';
import { HttpTransport } from './http.transport.js';

runTransportContract({
  name: 'http',
  newTransport: () => new HttpTransport(),
  async newPeer(deviceId) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-recv-'));
    const running = await startReceiver({ dir, port: 0, host: '127.0.0.1', deviceId });
    return {
      device: makeDevice(deviceId, 'http', running.url),
      async installed(name, version) {
        const file = path.join(dir, `${name}-${version}`);
        return fs.existsSync(file) ? fs.readFileSync(file) : null;
      },
      async close() {
        await running.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  unreachableDevice: () => makeDevice('nobody', 'http', 'http://127.0.0.1:1/'),
});

/** A scripted peer: each request is handled by the next behaviour (the last one repeats). */
async function scriptedPeer(behaviours: ((req: http.IncomingMessage, res: http.ServerResponse) => void)[]) {
  let calls = 0;
  const server = http.createServer((req, res) => {
    const behaviour = behaviours[Math.min(calls, behaviours.length - 1)]!;
    calls++;
    behaviour(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/push`,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const drainThen = (status: number, body = '') => (req: http.IncomingMessage, res: http.ServerResponse) => {
  req.resume();
  req.on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
};

describe('HttpTransport against failing and real receivers', () => {
  let dir: string;
  const transport = new HttpTransport();
  const closers: (() => Promise<void>)[] = [];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-http-'));
  });
  afterAll(async () => {
    await transport.close();
    await Promise.all(closers.map((c) => c()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const receiverDir = () => fs.mkdtempSync(path.join(dir, 'recv-'));
  async function receiverPeer(options: Partial<Parameters<typeof startReceiver>[0]> = {}) {
    const installDir = receiverDir();
    const running = await startReceiver({ dir: installDir, port: 0, host: '127.0.0.1', ...options });
    closers.push(running.close);
    return { running, installDir };
  }

  it('makes one attempt per delivery: a 5xx, 408 or 429 is one retryable error carrying the device message', async () => {
    const recv = new Receiver({ dir: receiverDir() });
    const peer = await scriptedPeer([drainThen(500, '{"error":{"message":"disk busy"}}'), drainThen(503), drainThen(408), drainThen(429), (req, res) => recv.handle(req, res)]);
    closers.push(peer.close);
    const file = makeArtifactFile(dir, { version: '1' });
    const deliver = () => transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', peer.url), artifact: file.artifact, filePath: file.filePath });
    const first = (await deliver().catch((e: unknown) => e)) as DeliveryError;
    expect(first).toBeInstanceOf(DeliveryError);
    expect(first).toMatchObject({ retryable: true, code: 'http_500' });
    expect(first.message).toMatch(/disk busy/);
    expect(peer.calls()).toBe(1);
    for (const [i, code] of ['http_503', 'http_408', 'http_429'].entries()) {
      await expect(deliver()).rejects.toMatchObject({ retryable: true, code });
      expect(peer.calls()).toBe(i + 2);
    }
    expect(await deliver()).toEqual({ outcome: 'delivered', bytes: file.artifact.size });
    expect(peer.calls()).toBe(5);
  });

  it('does not retry a 4xx, and treats 409 "already installed" as success', async () => {
    const bad = await scriptedPeer([drainThen(400, '{"error":{"message":"no space for this"}}')]);
    const dup = await scriptedPeer([drainThen(409, '{"status":"already-installed"}')]);
    closers.push(bad.close, dup.close);
    const file = makeArtifactFile(dir, { version: '3' });
    const error = (await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', bad.url), artifact: file.artifact, filePath: file.filePath }).catch((e: unknown) => e)) as DeliveryError;
    expect(error).toMatchObject({ retryable: false, code: 'http_400' });
    expect(bad.calls()).toBe(1);
    expect((await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', dup.url), artifact: file.artifact, filePath: file.filePath })).outcome).toBe('already-installed');
  });

  it('answers a connection dropped mid-body with a retryable error, and the next delivery sends it whole', async () => {
    const recv = new Receiver({ dir: receiverDir() });
    let seen = 0;
    const peer = await scriptedPeer([
      (req) => req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 64 * 1024) req.socket.destroy();
      }),
      (req, res) => recv.handle(req, res),
    ]);
    closers.push(peer.close);
    const file = makeArtifactFile(dir, { version: '4', size: 4 * 1024 * 1024 });
    const deliver = () => transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', peer.url), artifact: file.artifact, filePath: file.filePath });
    await expect(deliver()).rejects.toMatchObject({ code: 'connection', retryable: true });
    expect(peer.calls()).toBe(1);
    expect((await deliver()).outcome).toBe('delivered');
    expect(peer.calls()).toBe(2);
    expect(fs.readFileSync(path.join(recv.install.dir, 'firmware-4')).equals(file.bytes)).toBe(true);
  });

  it('times out a hanging device at the deadline with a retryable error', async () => {
    const peer = await scriptedPeer([(req) => req.resume()]);
    closers.push(peer.close);
    const file = makeArtifactFile(dir, { version: '5' });
    const error = (await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', peer.url), artifact: file.artifact, filePath: file.filePath, deadline: Date.now() + 300 }).catch((e: unknown) => e)) as DeliveryError;
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
  });

  it('sends the protocol headers; a receiver trusting another key refuses the signature', async () => {
    const trusted = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    const seen: { updateId: string | null }[] = [];
    const { running, installDir } = await receiverPeer({ trustedKey: trusted.publicKeyPem, onInstalled: (a) => void seen.push({ updateId: a.updateId }) });
    const device = makeDevice('d-sig', 'http', running.url);
    const foreign = makeArtifactFile(dir, { version: '6', signWith: other.privateKeyPem });
    const error = (await transport.deliver({ updateId: 'u-6', device, artifact: foreign.artifact, filePath: foreign.filePath }).catch((e: unknown) => e)) as DeliveryError;
    expect(error).toMatchObject({ code: 'http_403', retryable: false });
    expect(error.message).toMatch(/signature does not verify/);
    expect(fs.existsSync(path.join(installDir, 'firmware-6'))).toBe(false);
    const unsigned = makeArtifactFile(dir, { version: '6b' });
    expect(await transport.deliver({ updateId: 'u-6b', device, artifact: unsigned.artifact, filePath: unsigned.filePath }).catch((e: DeliveryError) => e.code)).toBe('http_403');
    const good = makeArtifactFile(dir, { version: '7', signWith: trusted.privateKeyPem });
    expect((await transport.deliver({ updateId: 'u-7', device, artifact: good.artifact, filePath: good.filePath })).outcome).toBe('delivered');
    expect(seen).toEqual([{ updateId: 'u-7' }]);
    expect(fs.readlinkSync(path.join(installDir, 'current'))).toBe('firmware-7');
  });

  it('refuses a corrupted artifact (hash mismatch) permanently', async () => {
    const { running, installDir } = await receiverPeer();
    const file = makeArtifactFile(dir, { version: '8' });
    const lying = { ...file.artifact, sha256: 'f'.repeat(64) };
    const error = (await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', running.url), artifact: lying, filePath: file.filePath }).catch((e: unknown) => e)) as DeliveryError;
    expect(error).toMatchObject({ code: 'http_422', retryable: false });
    expect(fs.readdirSync(installDir).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('sends the device bearer token from metadata.auth', async () => {
    const { running } = await receiverPeer({ token: 's3cret' });
    const file = makeArtifactFile(dir, { version: '9' });
    const denied = await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', running.url, { auth: { bearerToken: 'wrong' } }), artifact: file.artifact, filePath: file.filePath }).catch((e: DeliveryError) => e);
    expect(denied).toMatchObject({ code: 'http_401', retryable: false });
    const ok = await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', running.url, { auth: { bearerToken: 's3cret' } }), artifact: file.artifact, filePath: file.filePath });
    expect(ok.outcome).toBe('delivered');
  });

  it('speaks TLS with a private CA and presents a client certificate (mTLS)', async () => {
    const pki = path.join(dir, 'pki');
    fs.mkdirSync(pki);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca');
    for (const who of ['server', 'client']) {
      ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`);
      fs.writeFileSync(path.join(pki, `${who}.ext`), who === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
      ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', `${who}.ext`);
    }
    const read = (f: string) => fs.readFileSync(path.join(pki, f));
    const { running } = await receiverPeer({ tls: { key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestClientCert: true } });
    const file = makeArtifactFile(dir, { version: '10' });
    const p = (f: string) => path.join(pki, f);
    const noCa = await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', running.url), artifact: file.artifact, filePath: file.filePath }).catch((e: DeliveryError) => e);
    expect(noCa).toMatchObject({ code: 'tls', retryable: false });
    const ok = await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', running.url, { auth: { caFile: p('ca.pem'), certFile: p('client.pem'), keyFile: p('client.key') } }), artifact: file.artifact, filePath: file.filePath });
    expect(ok.outcome).toBe('delivered');
    const noClientCert = await transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', running.url, { auth: { caFile: p('ca.pem') } }), artifact: file.artifact, filePath: file.filePath }).catch((e: DeliveryError) => e);
    expect(noClientCert).toBeInstanceOf(DeliveryError);
  });

  it('says what is wrong with a bad address or credentials, without retrying', async () => {
    const file = makeArtifactFile(dir, { version: '11' });
    await expect(transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', 'ftp://x/'), artifact: file.artifact, filePath: file.filePath })).rejects.toMatchObject({ code: 'bad_address', retryable: false });
    await expect(transport.deliver({ updateId: 'u', device: makeDevice('d', 'http', 'http://127.0.0.1:1/', { auth: { certFile: '/x' } }), artifact: file.artifact, filePath: file.filePath })).rejects.toMatchObject({ code: 'bad_credentials' });
  });
});

