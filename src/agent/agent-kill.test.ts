// Crash safety of the real agent process: `node dist/cli/main.js agent` is SIGKILLed during a
// download and during an install, then started again; it must end in the correct state.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { builtCliMissing, requirePeer } from '../testing/peers.js';
import { startCutProxy, type CutProxy } from '../testing/cut-proxy.js';
import { addPullDevice, ManualTargets, uploadArtifact } from '../testing/pull.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

/** Resolves once `check` holds, checking every 20 ms (for conditions only a file shows). */
async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe.skipIf(requirePeer('the built CLI', builtCliMissing()))('agent process killed with SIGKILL', () => {
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

  async function setup(id: string) {
    const token = await addPullDevice(t.app, id);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-agent-kill-'));
    dirs.push(dir);
    const start = (extra: string[] = []) => spawn(process.execPath, [MAIN, 'agent', '--server', proxy.url, '--device', id, '--token', token, '--dir', dir, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { dir, start };
  }

  it('killed during a download, it resumes from the partial file and installs', async () => {
    const { dir, start } = await setup('kill-download');
    const bytes = randomBytes(4 * 1024 * 1024);
    const artifact = await uploadArtifact(t.app, bytes, { name: 'kd', version: '1.0.0' });
    const execution = targets.target('kill-download', artifact);
    const partial = path.join(dir, '.partial', `${artifact.sha256}.part`);
    proxy.ranges.length = 0;
    proxy.throttleMs = 25;
    const first = start();
    await waitFor(() => fs.existsSync(partial) && fs.statSync(partial).size > 256 * 1024, 'part of the download');
    first.kill('SIGKILL');
    await exited(first);
    proxy.throttleMs = 0;
    const reached = fs.statSync(partial).size;
    expect(reached).toBeLessThan(bytes.length);
    const second = start(['--once']);
    expect(await exited(second)).toBe(0);
    expect((await targets.until(execution.id, 'succeeded')).state).toBe('succeeded');
    expect(proxy.ranges[0]).toBeNull();
    expect(proxy.ranges.at(-1)).toBe(`bytes=${reached}-`);
    expect(fs.readFileSync(path.join(dir, 'current')).equals(bytes)).toBe(true);
    const state = JSON.parse(fs.readFileSync(path.join(dir, '.agent-state.json'), 'utf8')) as { job: unknown; current: { version: string } };
    expect(state).toMatchObject({ job: null, current: { version: '1.0.0' } });
  });

  it('killed during an install, it runs the install again on start and ends installed', async () => {
    const { dir, start } = await setup('kill-install');
    const v1 = await uploadArtifact(t.app, Buffer.from('first'), { name: 'ki', version: '1.0.0', metadata: { install: { handler: 'script', settings: {} } } });
    const marker = path.join(dir, 'install-started');
    // The first run hangs (and is killed); a run after the kill finds the marker and succeeds.
    const script = ['--script-command', `if [ -f ${marker} ]; then exit 0; fi; touch ${marker}; sleep 15; exit 1`];
    const e1 = targets.target('kill-install', v1);
    const first = start(script);
    await waitFor(() => fs.existsSync(marker), 'the install script to start');
    first.kill('SIGKILL');
    await exited(first);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, '.agent-state.json'), 'utf8')) as { job: { phase: string } };
    expect(saved.job.phase).toBe('install');
    expect(fs.existsSync(path.join(dir, 'current'))).toBe(false);
    const second = start([...script, '--once']);
    expect(await exited(second)).toBe(0);
    expect((await targets.until(e1.id, 'succeeded')).state).toBe('succeeded');
    expect(fs.readFileSync(path.join(dir, 'current'), 'utf8')).toBe('first');
    expect(fs.readlinkSync(path.join(dir, 'current'))).toBe(path.join('slot-a', 'ki-1.0.0'));
  });
});
