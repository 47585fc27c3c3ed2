import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeArtifactFile, makeDevice } from '../../testing/delivery.js';
import { requirePeer } from '../../testing/peers.js';
import { makeSshKey, sshdUnavailable, startSshd, type RunningSshd, type SshKeyFiles } from '../../testing/sshd.js';
import { runTransportContract } from '../../testing/transport.contract.js';
import { DeliveryError } from '../transport.js';
import { SftpTransport } from './sftp.transport.js';

const skip = requirePeer('sshd', sshdUnavailable());

let sshd: RunningSshd;
let keys: SshKeyFiles;
let work: string;

describe.skipIf(skip)('SSH/SFTP transport against OpenSSH sshd', () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-sftp-'));
    keys = makeSshKey(work, 'client');
    sshd = await startSshd({ authorizedKeys: [keys.publicKey] });
  });
  afterAll(async () => {
    await sshd?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const address = (sub: string) => `ssh://${sshd.user}@127.0.0.1:${sshd.port}${path.join(work, sub)}`;
  const newTransport = (over: ConstructorParameters<typeof SftpTransport>[0] = {}) => new SftpTransport({ keyPath: keys.privateKey, knownHostsPath: sshd.knownHosts, agentSocket: '', ...over });

  runTransportContract({
    name: 'ssh',
    newTransport: () => newTransport(),
    async newPeer(deviceId) {
      const dir = path.join(work, 'devices', deviceId, 'nested');
      return {
        device: makeDevice(deviceId, 'ssh', address(`devices/${deviceId}/nested`)),
        async installed(name, version) {
          const file = path.join(dir, `${name}-${version}`);
          return fs.existsSync(file) ? fs.readFileSync(file) : null;
        },
        close: async () => undefined,
      };
    },
    unreachableDevice: () => makeDevice('nobody', 'ssh', 'ssh://root@127.0.0.1:1/tmp/nowhere'),
  });

  describe('SSH specifics', () => {
    let transport: SftpTransport;
    beforeAll(() => {
      transport = newTransport();
    });
    afterAll(async () => {
      await transport.close();
    });
    const deliver = (t: SftpTransport, sub: string, version: string, metadata: Record<string, unknown> = {}, extra: { size?: number; signal?: AbortSignal; onProgress?: (sent: number) => void } = {}) => {
      const file = makeArtifactFile(work, { version, size: extra.size });
      return t.deliver({ updateId: 'u', device: makeDevice('d', 'ssh', address(sub), metadata), artifact: file.artifact, filePath: file.filePath, signal: extra.signal, onProgress: extra.onProgress });
    };

    it('reuses one connection for deliveries to the same host', async () => {
      await deliver(transport, 'reuse', '1');
      await deliver(transport, 'reuse', '2');
      await Promise.all([deliver(transport, 'reuse', '3'), deliver(transport, 'reuse', '4')]);
      expect(transport.pool.size).toBe(1);
    });

    it('refuses a host whose key differs from known_hosts, even with trust on first use', async () => {
      const other = makeSshKey(work, 'not-the-host');
      const wrong = path.join(work, 'wrong_known_hosts');
      const line = fs.readFileSync(other.publicKey, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
      fs.writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ${line}\n`);
      const t = newTransport({ knownHostsPath: wrong, trustOnFirstUse: true });
      const error = (await deliver(t, 'hk', '1').catch((e: unknown) => e)) as DeliveryError;
      await t.close();
      expect(error).toMatchObject({ code: 'host_key', retryable: false });
      expect(error.message).toMatch(/differs from the one in/);
      expect(fs.existsSync(path.join(work, 'hk'))).toBe(false);
    });

    it('refuses an unknown host by default and remembers it with trust on first use', async () => {
      const fresh = path.join(work, 'tofu', 'known_hosts');
      const strict = newTransport({ knownHostsPath: fresh });
      const error = (await deliver(strict, 'tofu-dir', '1').catch((e: unknown) => e)) as DeliveryError;
      await strict.close();
      expect(error).toMatchObject({ code: 'host_key', retryable: false });
      expect(error.message).toMatch(/not in .*ssh-keyscan/);
      const tofu = newTransport({ knownHostsPath: fresh, trustOnFirstUse: true });
      expect((await deliver(tofu, 'tofu-dir', '1')).outcome).toBe('delivered');
      await tofu.close();
      expect(fs.readFileSync(fresh, 'utf8')).toContain(sshd.hostKey);
    });

    it('fails authentication with a key the server does not know, permanently', async () => {
      const stranger = makeSshKey(work, 'stranger');
      const t = newTransport({ keyPath: stranger.privateKey });
      const error = await deliver(t, 'auth', '1').catch((e: unknown) => e);
      await t.close();
      expect(error).toMatchObject({ code: 'auth', retryable: false });
    });

    it('uses an encrypted key with its passphrase (per device), and says so when it is wrong', async () => {
      const locked = makeSshKey(work, 'locked', 'correct horse');
      sshd.authorize(locked.publicKey);
      expect((await deliver(transport, 'enc', '1', { auth: { privateKeyFile: locked.privateKey, passphrase: 'correct horse' } })).outcome).toBe('delivered');
      const error = (await deliver(transport, 'enc', '2', { auth: { privateKeyFile: locked.privateKey, passphrase: 'wrong' } }).catch((e: unknown) => e)) as DeliveryError;
      expect(error).toMatchObject({ code: 'bad_credentials', retryable: false });
    });

    it('uses a key given inline as metadata.auth.privateKey (with its passphrase), and says so when it is not a key', async () => {
      const inline = makeSshKey(work, 'inline', 'inline pass');
      sshd.authorize(inline.publicKey);
      // No server key: only the inline one can authenticate.
      const t = newTransport({ keyPath: undefined });
      expect((await deliver(t, 'inline-dir', '1', { auth: { privateKey: fs.readFileSync(inline.privateKey, 'utf8'), passphrase: 'inline pass' } })).outcome).toBe('delivered');
      const error = (await deliver(t, 'inline-dir', '2', { auth: { privateKey: 'not a key' } }).catch((e: unknown) => e)) as DeliveryError;
      await t.close();
      expect(error).toMatchObject({ code: 'bad_credentials', retryable: false, message: expect.stringContaining('metadata.auth.privateKey') });
    });

    it('authenticates through ssh-agent (SSH_AUTH_SOCK)', async () => {
      const agentKey = makeSshKey(work, 'agent-key');
      sshd.authorize(agentKey.publicKey);
      const socket = path.join(work, 'agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise<void>((resolve) => agent.stdout!.once('data', () => resolve()));
      try {
        await new Promise<void>((resolve, reject) => spawn('ssh-add', ['-q', agentKey.privateKey], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' }).once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add exited ${code}`)))));
        const t = newTransport({ keyPath: undefined, agentSocket: socket });
        expect((await deliver(t, 'agent', '1')).outcome).toBe('delivered');
        await t.close();
      } finally {
        agent.kill();
      }
    });

    it('runs the verify command on the uploaded file and installs only when it succeeds', async () => {
      const check = { verifyCommand: "printf '%s  %s\\n' {sha256} {file} | sha256sum -c --status" };
      expect((await deliver(transport, 'verify', '1', check)).outcome).toBe('delivered');
      const full = { verifyCommand: "echo 'write error: No space left on device' >&2; exit 28" };
      const error = (await deliver(transport, 'verify', '2', full).catch((e: unknown) => e)) as DeliveryError;
      expect(error).toMatchObject({ code: 'verify_failed', retryable: false });
      expect(error.message).toMatch(/exited 28: write error: No space left on device/);
      expect(fs.readdirSync(path.join(work, 'verify')).sort()).toEqual(['firmware-1']);
    });

    it('aborts mid-transfer: nothing installed, no temporary file left', async () => {
      const controller = new AbortController();
      let sent = 0;
      const error = await deliver(transport, 'abort', '1', {}, { size: 32 * 1024 * 1024, signal: controller.signal, onProgress: (n) => {
        sent = n;
        if (n >= 2 * 1024 * 1024) controller.abort();
      } }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'aborted' });
      expect(sent).toBeLessThan(32 * 1024 * 1024);
      expect(fs.readdirSync(path.join(work, 'abort'))).toEqual([]);
      // The transport still works afterwards.
      expect((await deliver(transport, 'abort', '2')).outcome).toBe('delivered');
    });

    it('gives up at the deadline with a retryable timeout', async () => {
      const file = makeArtifactFile(work, { version: 'late', size: 32 * 1024 * 1024 });
      const error = await transport.deliver({ updateId: 'u', device: makeDevice('d', 'ssh', address('late')), artifact: file.artifact, filePath: file.filePath, deadline: Date.now() + 60_000 }).then(() => null, (e: unknown) => e);
      // A generous deadline lets it finish; one already passed stops it before anything is written.
      expect(error).toBeNull();
      const late = await transport.deliver({ updateId: 'u', device: makeDevice('d', 'ssh', address('late2')), artifact: file.artifact, filePath: file.filePath, deadline: Date.now() - 1 }).catch((e: unknown) => e);
      expect(late).toMatchObject({ code: 'timeout', retryable: true });
      expect(fs.existsSync(path.join(work, 'late2', 'firmware-late'))).toBe(false);
    });

    it('refuses a malformed address', async () => {
      const file = makeArtifactFile(work, { version: 'x' });
      await expect(transport.deliver({ updateId: 'u', device: makeDevice('d', 'ssh', 'ssh://127.0.0.1/dir'), artifact: file.artifact, filePath: file.filePath })).rejects.toMatchObject({ code: 'bad_address' });
    });
  });
});
