// The agent against a real server: install through A/B slots, resume after a cut download, refuse
// tampered and wrongly signed artifacts, roll back when health checks fail.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, signArtifact } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { startCutProxy, type CutProxy } from '../testing/cut-proxy.js';
import { addPullDevice, ManualTargets, uploadArtifact } from '../testing/pull.js';
import { createDeviceAgent, type DeviceAgentConfig } from './device-agent.js';
import { silentLog } from './log.js';

describe('agent (pull) against a real server', () => {
  let t: TestApp;
  let proxy: CutProxy;
  const targets = new ManualTargets();
  const dirs: string[] = [];
  beforeAll(async () => {
    t = await startTestApp({ app: { deviceSync: targets } });
    proxy = await startCutProxy(t.url);
  });
  afterAll(async () => {
    await proxy.close();
    await t.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function device(id: string, extra: Partial<DeviceAgentConfig> = {}) {
    const token = await addPullDevice(t.app, id);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-agent-'));
    dirs.push(dir);
    const agent = createDeviceAgent({ server: proxy.url, deviceId: id, token, dir, healthDeadlineSeconds: 1, ...extra }, silentLog);
    await agent.init();
    return { agent, dir, current: () => fs.readFileSync(path.join(dir, 'current')), link: () => fs.readlinkSync(path.join(dir, 'current')) };
  }

  it('announces its --device-type with its first report, and the server records it', async () => {
    const { agent } = await device('agent-typed', { deviceType: 'rpi4' });
    await agent.round();
    expect((await t.app.store.devices.get('agent-typed'))?.deviceType).toBe('rpi4');
  });

  it('installs into slot a, then b, keeping the previous slot, and reports succeeded', async () => {
    const d = await device('agent-ab');
    const v1 = await uploadArtifact(t.app, Buffer.from('version one'), { name: 'app', version: '1.0.0' });
    const e1 = targets.target('agent-ab', v1);
    await d.agent.round();
    expect((await targets.until(e1.id, 'succeeded')).state).toBe('succeeded');
    expect(d.current().toString()).toBe('version one');
    expect(d.link()).toBe(path.join('slot-a', 'app-1.0.0'));

    const v2 = await uploadArtifact(t.app, Buffer.from('version two'), { name: 'app', version: '2.0.0' });
    const e2 = targets.target('agent-ab', v2);
    await d.agent.round();
    expect((await targets.until(e2.id, 'succeeded')).state).toBe('succeeded');
    expect(d.current().toString()).toBe('version two');
    expect(d.link()).toBe(path.join('slot-b', 'app-2.0.0'));
    expect(fs.readFileSync(path.join(d.dir, 'slot-a', 'app-1.0.0'), 'utf8')).toBe('version one');
    expect(d.agent.current).toMatchObject({ current: { version: '2.0.0', slot: 'b' }, previous: { version: '1.0.0', slot: 'a' }, job: null, outbox: [] });
    const reported = targets.reports.filter((r) => r.report.id === e2.id).map((r) => r.report.state);
    expect(reported.at(-1)).toBe('succeeded');
    expect(((await t.request('GET', '/api/v1/devices/agent-ab')).json() as { version: string }).version).toBe('2.0.0');
  });

  it('resumes a download cut in the middle from the byte it reached', async () => {
    const d = await device('agent-resume');
    const bytes = randomBytes(3 * 1024 * 1024);
    const artifact = await uploadArtifact(t.app, bytes, { name: 'big', version: '1.0.0' });
    const execution = targets.target('agent-resume', artifact);
    proxy.ranges.length = 0;
    proxy.cutNextAfter(1_000_000);
    await d.agent.round();
    expect(d.agent.stats.applyErrors).toBe(1);
    const partial = fs.statSync(path.join(d.dir, '.partial', `${artifact.sha256}.part`)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThanOrEqual(1_000_000);
    await d.agent.round();
    expect((await targets.until(execution.id, 'succeeded')).state).toBe('succeeded');
    expect(proxy.ranges).toEqual([null, `bytes=${partial}-`]);
    expect(d.current().equals(bytes)).toBe(true);
    expect(fs.existsSync(path.join(d.dir, '.partial', `${artifact.sha256}.part`))).toBe(false);
  });

  it('refuses a tampered artifact and reports why', async () => {
    const d = await device('agent-tamper');
    const artifact = await uploadArtifact(t.app, Buffer.from('genuine bytes'), { name: 'tamper', version: '1.0.0' });
    const execution = targets.target('agent-tamper', { ...artifact, sha256: 'ab'.repeat(32) });
    await d.agent.round();
    const failed = await targets.until(execution.id, 'failed');
    expect(failed.error).toMatch(/sha256 mismatch/);
    expect(fs.existsSync(path.join(d.dir, 'current'))).toBe(false);
  });

  it('refuses an artifact signed by another key, and an unsigned one, when it trusts a key', async () => {
    const trusted = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    const keyFile = path.join(os.tmpdir(), `uo-trusted-${process.pid}.pub`);
    fs.writeFileSync(keyFile, trusted.publicKeyPem);
    const d = await device('agent-sig', { trustedKeyFile: keyFile });
    const bytes = Buffer.from('signed by the wrong key');
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const wrong = await uploadArtifact(t.app, bytes, { name: 'sig', version: '1.0.0', signature: signArtifact({ name: 'sig', version: '1.0.0', sha256 }, other.privateKeyPem), publicKey: other.publicKeyPem });
    const e1 = targets.target('agent-sig', wrong);
    await d.agent.round();
    expect((await targets.until(e1.id, 'failed')).error).toMatch(/bad signature/);
    const unsigned = await uploadArtifact(t.app, Buffer.from('not signed at all'), { name: 'sig', version: '2.0.0' });
    const e2 = targets.target('agent-sig', unsigned);
    await d.agent.round();
    expect((await targets.until(e2.id, 'failed')).error).toMatch(/not signed/);
    const good = await uploadArtifact(t.app, Buffer.from('properly signed'), { name: 'sig', version: '3.0.0', signature: signArtifact({ name: 'sig', version: '3.0.0', sha256: createHash('sha256').update('properly signed').digest('hex') }, trusted.privateKeyPem), publicKey: trusted.publicKeyPem });
    const e3 = targets.target('agent-sig', good);
    await d.agent.round();
    expect((await targets.until(e3.id, 'succeeded')).state).toBe('succeeded');
    expect(fs.existsSync(path.join(d.dir, 'current'))).toBe(true);
    fs.rmSync(keyFile, { force: true });
  });

  it('rolls back to the previous slot by itself when health checks fail, and reports rolled-back', async () => {
    const healthy = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => healthy.listen(0, '127.0.0.1', resolve));
    const port = (healthy.address() as net.AddressInfo).port;
    const d = await device('agent-health');
    const v1 = await uploadArtifact(t.app, Buffer.from('good release'), { name: 'svc', version: '1.0.0', metadata: { healthChecks: [{ type: 'tcp', target: `127.0.0.1:${port}` }] } });
    const e1 = targets.target('agent-health', v1);
    await d.agent.round();
    expect((await targets.until(e1.id, 'succeeded')).state).toBe('succeeded');
    await new Promise<void>((resolve) => healthy.close(() => resolve()));
    const v2 = await uploadArtifact(t.app, Buffer.from('bad release'), { name: 'svc', version: '2.0.0', metadata: { healthChecks: [{ type: 'tcp', target: `127.0.0.1:${port}`, timeoutSeconds: 1 }], healthDeadlineSeconds: 1 } });
    const e2 = targets.target('agent-health', v2);
    await d.agent.round();
    const rolledBack = await targets.until(e2.id, 'rolled-back');
    expect(rolledBack.error).toMatch(/health checks failed: tcp 127.0.0.1:\d+ failed: ECONNREFUSED/);
    expect(d.current().toString()).toBe('good release');
    expect(d.agent.current.current).toMatchObject({ version: '1.0.0' });
  });
});
