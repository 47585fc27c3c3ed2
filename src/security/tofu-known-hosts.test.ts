// Attack: with trust on first use on (ORCHESTRATOR_SSH_TOFU=1), an operator points a device's
// metadata.auth.knownHostsFile at a file of the server's choosing (its authorized_keys, a config
// file) so that learning the device's host key appends a line to it. Keys are learned into the
// server's own known_hosts only; a device's own file is read, never written; a key that differs
// from the one a device's file lists is still refused. Against a real OpenSSH sshd.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../testing/engine.js';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';
import { makeSshKey, sshdUnavailable, startSshd, type RunningSshd } from '../testing/sshd.js';

const noSshd = sshdUnavailable();
if (noSshd) console.warn(`skipping TOFU tests: ${noSshd}`);

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(noSshd !== null || skip !== null)(`trust on first use learns into the server's known_hosts only (${db})`, () => {
    let t: TestApp;
    let sshd: RunningSshd;
    let work: string;
    let serverKnownHosts: string;
    beforeAll(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-tofu-'));
      const keys = makeSshKey(work, 'server-client');
      sshd = await startSshd({ authorizedKeys: [keys.publicKey] });
      serverKnownHosts = path.join(work, 'server', 'known_hosts');
      t = await startTestApp({ db, config: { sshKeyPath: keys.privateKey, sshKnownHostsPath: serverKnownHosts, sshTrustOnFirstUse: true } });
    });
    afterAll(async () => {
      await t?.close();
      await sshd?.close();
      fs.rmSync(work, { recursive: true, force: true });
    });

    const address = (dir: string) => `ssh://${sshd.user}@127.0.0.1:${sshd.port}${path.join(work, dir)}`;
    async function rollOut(deviceId: string, version: string): Promise<{ state: string; error: string | null }> {
      const artifact = (await t.request('POST', `/api/v1/artifacts?name=fw&version=${version}`, { headers: { 'content-type': 'application/octet-stream' }, raw: `fw ${version}` })).json() as { id: string };
      const created = (await t.request('POST', '/api/v1/rollouts', { body: { artifactId: artifact.id, filter: { q: deviceId }, errorThreshold: { percent: 100, action: 'pause' } } })).json() as { id: string };
      await nextEvent(t.app.events, (e) => e.rolloutId === created.id && /^rollout\.(completed|failed)$/.test(e.type));
      const { items } = (await t.request('GET', `/api/v1/rollouts/${created.id}/devices`)).json() as { items: { state: string; error: string | null }[] };
      return items[0]!;
    }

    it('does not write to a file device metadata names; learns into the server\'s file; uses what it learned', async () => {
      const victim = path.join(work, 'victim', 'authorized_keys');
      fs.mkdirSync(path.dirname(victim), { recursive: true });
      fs.writeFileSync(victim, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnlyTheOwnersKey owner@host\n');
      const before = fs.readFileSync(victim, 'utf8');
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'tofu-1', mode: 'ssh', address: address('tofu-1'), metadata: { auth: { knownHostsFile: victim } } } })).status).toBe(201);
      expect(await rollOut('tofu-1', '1.1.0')).toMatchObject({ state: 'succeeded' });
      expect(fs.readFileSync(victim, 'utf8')).toBe(before);
      expect(fs.readFileSync(serverKnownHosts, 'utf8')).toContain(sshd.hostKey);
      // A file the device names that does not exist is not created either.
      const absent = path.join(work, 'absent', 'known_hosts');
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'tofu-2', mode: 'ssh', address: address('tofu-2'), metadata: { auth: { knownHostsFile: absent } } } })).status).toBe(201);
      expect(await rollOut('tofu-2', '1.2.0')).toMatchObject({ state: 'succeeded' });
      expect(fs.existsSync(absent)).toBe(false);
      expect(fs.readFileSync(serverKnownHosts, 'utf8').split('\n').filter((l) => l.includes(sshd.hostKey))).toHaveLength(1);
    });

    it('still refuses a host whose key differs from the one the device\'s file lists', async () => {
      const other = makeSshKey(work, 'impostor');
      const pinned = path.join(work, 'pinned_known_hosts');
      fs.writeFileSync(pinned, `[127.0.0.1]:${sshd.port} ${fs.readFileSync(other.publicKey, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}\n`);
      const serverBefore = fs.readFileSync(serverKnownHosts, 'utf8');
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'pinned-1', mode: 'ssh', address: address('pinned-1'), metadata: { auth: { knownHostsFile: pinned } } } })).status).toBe(201);
      const result = await rollOut('pinned-1', '1.3.0');
      expect(result.state).toBe('failed');
      expect(result.error).toMatch(/differs from the one in/);
      expect(fs.readFileSync(serverKnownHosts, 'utf8')).toBe(serverBefore);
    });
  });
}
