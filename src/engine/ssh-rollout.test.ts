// Push rollouts over SSH end to end: the operator API creates the rollout, the engine claims and
// delivers through the server's SftpTransport (configured as ORCHESTRATOR_SSH_KEY and
// ORCHESTRATOR_SSH_KNOWN_HOSTS would), and a real OpenSSH sshd on loopback receives the files.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { requirePeer } from '../testing/peers.js';
import { makeSshKey, sshdUnavailable, startSshd, type RunningSshd } from '../testing/sshd.js';
import { nextEvent } from '../testing/engine.js';

const skip = requirePeer('sshd', sshdUnavailable());

interface Execution {
  deviceId: string;
  state: string;
  attempts: number;
  bytes: number;
  error: string | null;
}

describe.skipIf(skip)('push rollouts over SFTP to a real sshd', () => {
  let sshd: RunningSshd;
  let work: string;
  let t: TestApp;
  const DEVICES = ['till-1', 'till-2', 'till-3'];
  // Several SFTP write requests' worth (128 KiB each), so the upload is pipelined for real.
  const firmware = randomBytes(700 * 1024 + 17);
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const deviceDir = (id: string) => path.join(work, 'devices', id, 'firmware');

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-ssh-rollout-'));
    const key = makeSshKey(work, 'orchestrator');
    sshd = await startSshd({ authorizedKeys: [key.publicKey] });
    t = await startTestApp({ config: { sshKeyPath: key.privateKey, sshKnownHostsPath: sshd.knownHosts } });
    for (const id of DEVICES) {
      const created = await t.request('POST', '/api/v1/devices', { body: { id, mode: 'ssh', address: `ssh://${sshd.user}@127.0.0.1:${sshd.port}${deviceDir(id)}`, status: 'online', version: '1.0.0', tags: { ring: 'ssh' } } });
      expect(created.status).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
    await sshd?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const upload = async (version: string, bytes: Buffer) => {
    const answer = await t.request('POST', `/api/v1/artifacts?name=till-fw&version=${version}`, { headers: { 'content-type': 'application/octet-stream' }, raw: bytes });
    expect(answer.status).toBe(201);
    return (answer.json() as { id: string }).id;
  };
  /** Creates a rollout and resolves with its final event and its executions. */
  const rollout = async (body: Record<string, unknown>) => {
    const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body });
    expect(created.status, created.text).toBe(201);
    const id = (created.json() as { id: string }).id;
    const end = await nextEvent(t.app.events, (e) => e.rolloutId === id && /^rollout\.(completed|failed|paused|cancelled)$/.test(e.type), 60_000);
    const executions = ((await t.request('GET', `/api/v1/rollouts/${id}/devices`)).json() as { items: Execution[] }).items;
    return { id, end: end.type, executions: new Map(executions.map((e) => [e.deviceId, e])) };
  };

  it('installs the artifact on every device through the engine and sshd, then finds it installed the next time', async () => {
    const artifactId = await upload('2.0.0', firmware);
    const first = await rollout({ artifactId, filter: { tag: ['ring:ssh'] }, maxConcurrency: 2 });
    expect(first.end).toBe('rollout.completed');
    for (const id of DEVICES) {
      expect(first.executions.get(id)).toMatchObject({ state: 'succeeded', attempts: 1, bytes: firmware.length, error: null });
      // Exactly the artifact under <dir>/<name>-<version>, and no temporary upload left behind.
      expect(fs.readdirSync(deviceDir(id))).toEqual(['till-fw-2.0.0']);
      expect(sha256(fs.readFileSync(path.join(deviceDir(id), 'till-fw-2.0.0')))).toBe(sha256(firmware));
      expect(((await t.request('GET', `/api/v1/devices/${id}`)).json() as { version: string }).version).toBe('2.0.0');
    }

    // The same artifact again: the device's sha256sum matches, nothing is sent or rewritten.
    const inode = fs.statSync(path.join(deviceDir('till-1'), 'till-fw-2.0.0')).ino;
    const again = await rollout({ artifactId, filter: { tag: ['ring:ssh'] } });
    expect(again.end).toBe('rollout.completed');
    for (const id of DEVICES) expect(again.executions.get(id)).toMatchObject({ state: 'succeeded', bytes: 0 });
    expect(fs.statSync(path.join(deviceDir('till-1'), 'till-fw-2.0.0')).ino).toBe(inode);
  });

  it('fails a device whose host key is not the known one at once, without retries, while the others install', async () => {
    // till-3 is told to trust another key for this host: an impostor as far as the engine can tell.
    const impostor = makeSshKey(work, 'impostor');
    const wrongHosts = path.join(work, 'wrong_known_hosts');
    fs.writeFileSync(wrongHosts, `[127.0.0.1]:${sshd.port} ${fs.readFileSync(impostor.publicKey, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}\n`);
    expect((await t.request('PATCH', '/api/v1/devices/till-3', { body: { metadata: { auth: { knownHostsFile: wrongHosts } } } })).status).toBe(200);
    const v3 = Buffer.concat([firmware, Buffer.from('v3')]);
    const artifactId = await upload('3.0.0', v3);
    const result = await rollout({ artifactId, filter: { tag: ['ring:ssh'] }, retry: { maxAttempts: 5, backoffSeconds: 0.1 }, errorThreshold: { percent: 50, action: 'pause' } });
    expect(result.end).toBe('rollout.completed');
    expect(result.executions.get('till-3')).toMatchObject({ state: 'failed', attempts: 1, bytes: 0 });
    expect(result.executions.get('till-3')!.error).toMatch(/host key/i);
    expect(fs.readdirSync(deviceDir('till-3'))).toEqual(['till-fw-2.0.0']);
    for (const id of ['till-1', 'till-2']) {
      expect(result.executions.get(id)).toMatchObject({ state: 'succeeded', bytes: v3.length });
      expect(sha256(fs.readFileSync(path.join(deviceDir(id), 'till-fw-3.0.0')))).toBe(sha256(v3));
    }
  });
});
