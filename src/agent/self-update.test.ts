// An agent process on this machine updates itself through a progressive rollout: the new agent
// launcher is the artifact, installed into a slot by the file handler; the agent exits once it is
// reported, and the supervisor (this test, as systemd would) starts the new version from DIR/current.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../sim/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { builtCliMissing, requirePeer } from '../testing/peers.js';
import { uploadArtifact } from '../testing/pull.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');
const launcher = (version: string) => `// update-orchestrator agent launcher ${version}\nawait import(${JSON.stringify(pathToFileURL(MAIN).href)});\n`;

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe.skipIf(requirePeer('the built CLI', builtCliMissing()))('agent self-update', () => {
  let t: TestApp;
  let home: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    t = await startTestApp({ config: { pollIntervalSeconds: 1, authRateLimitPerMinute: 1_000_000 } });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-self-'));
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await t.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('installs its own new version through a progressive rollout and restarts into it', async () => {
    await t.app.devices.create({ id: 'self-agent', mode: 'pull', tags: { ring: 'self' }, version: '1.0.0' }, 'test');
    const { token } = await t.app.enrollment.issueToken('self-agent', 'test');
    const dir = path.join(home, 'agent');
    fs.writeFileSync(path.join(home, 'agent-v1.mjs'), launcher('1.0.0'));
    let log = '';
    const args = ['agent', '--server', t.url, '--device', 'self-agent', '--token', token, '--dir', dir, '--self-name', 'orchestrator-agent'];
    const start = (entry: string) => {
      const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      children.push(child);
      return child;
    };
    // A second, simulated device shares the rollout, so it has two phases of one device each.
    const fleet = await Fleet.create({ server: t.url, token: t.tokens.admin, devices: 1, idPrefix: 'self-peer-', tags: { ring: 'self' }, pollSeconds: 1 });
    fleet.start();
    try {
      const first = start(path.join(home, 'agent-v1.mjs'));
      const artifact = await uploadArtifact(t.app, Buffer.from(launcher('2.0.0')), { name: 'orchestrator-agent', version: '2.0.0', metadata: { install: { handler: 'file', settings: { fileName: 'agent.mjs' } } } });
      const created = await t.request('POST', '/api/v1/rollouts', {
        token: t.tokens.operator,
        body: { name: 'agent self-update', artifactId: artifact.id, filter: { tag: 'ring:self' }, strategy: 'progressive', phases: [{ percent: 50, successThreshold: 100 }, { percent: 100, successThreshold: 100 }] },
      });
      expect(created.status).toBe(201);
      const rolloutId = (created.json() as { id: string }).id;

      const firstExit = await Promise.race([exited(first), new Promise<string>((r) => setTimeout(() => r('still running'), 60_000))]);
      if (firstExit !== 0) {
        const r = (await t.request('GET', `/api/v1/rollouts/${rolloutId}`)).json();
        const devs = (await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices`)).json();
        throw new Error(`agent did not update itself (${firstExit}):\n${log}\n${JSON.stringify(r)}\n${JSON.stringify(devs)}`);
      }
      const current = path.join(dir, 'current');
      expect(fs.readFileSync(current, 'utf8')).toBe(launcher('2.0.0'));
      const second = start(current);
      let rollout = { status: '', counts: {} as Record<string, number> };
      let program: unknown = null;
      for (let i = 0; i < 600 && (rollout.status !== 'completed' || !String(program).endsWith('agent.mjs')); i++) {
        await new Promise((r) => setTimeout(r, 100));
        rollout = (await t.request('GET', `/api/v1/rollouts/${rolloutId}`)).json() as typeof rollout;
        program = (await t.app.store.deviceReports.get('self-agent'))?.inventory.program;
      }
      expect(rollout).toMatchObject({ status: 'completed', counts: { succeeded: 2 } });
      // The process now running is the new version, from its slot.
      expect(program).toBe(fs.realpathSync(current));
      expect(String(program)).toMatch(/slot-[ab]\/agent\.mjs$/);
      expect(((await t.request('GET', '/api/v1/devices/self-agent')).json() as { version: string }).version).toBe('2.0.0');
      const events = await t.app.store.events.list({ rolloutId, limit: 100 });
      expect(events.map((e) => e.type)).toContain('rollout.phase-advanced');
      second.kill('SIGTERM');
      await exited(second);
    } finally {
      await fleet.stop();
    }
  }, 120_000);
});
