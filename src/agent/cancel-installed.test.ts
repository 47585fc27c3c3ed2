// Cancel tells the truth afterwards, with a real agent and the real engine: the operator cancels
// while the device's install script runs (it cannot be interrupted); the device installs anyway
// and reports it. The execution stays cancelled with a note, the device's version is recorded,
// and the API, the rollout's device list and the CLI show the mismatch.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { runCli } from '../testing/cli.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';
import { createDeviceAgent } from './device-agent.js';
import { silentLog } from './log.js';

describe('a device that installs after the cancel', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-cancel-'));
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the execution cancelled with a note, records the version, and shows it in the API and the CLI', async () => {
    // The install script says it started, then waits for the test to let it finish.
    const started = path.join(dir, 'started.fifo');
    const gate = path.join(dir, 'gate.fifo');
    execFileSync('mkfifo', [started, gate]);
    const token = await addPullDevice(t.app, 'late-kiosk');
    const agentDir = path.join(dir, 'agent');
    const agent = createDeviceAgent({ server: t.url, deviceId: 'late-kiosk', token, dir: agentDir, scriptCommand: `echo started > '${started}'; cat '${gate}' > /dev/null; true` }, silentLog);
    await agent.init();
    const artifact = await uploadArtifact(t.app, Buffer.from('firmware two'), { name: 'firmware', version: '2.0.0', metadata: { install: { handler: 'script', settings: {} } } });
    const released = nextEvent(t.app.events, (e) => e.deviceId === 'late-kiosk' && e.type === 'execution.queued');
    const id = ((await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId: artifact.id, filter: { ids: ['late-kiosk'] } } })).json() as { id: string }).id;
    await released;

    const round = agent.round();
    await fs.promises.readFile(started);
    expect((await t.request('POST', `/api/v1/rollouts/${id}/cancel`, { token: t.tokens.operator })).status).toBe(200);
    const recorded = nextEvent(t.app.events, (e) => e.deviceId === 'late-kiosk' && e.type === 'execution.installed-after-cancel');
    await fs.promises.writeFile(gate, 'go\n');
    await round;
    expect((await recorded).data).toMatchObject({ version: '2.0.0', note: 'the device installed firmware 2.0.0 before the cancel reached it' });
    // The device took the answer as a success: nothing left to report.
    expect(agent.current).toMatchObject({ job: null, outbox: [], current: { version: '2.0.0' } });

    const execution = (await t.app.store.executions.inRollout(id, 'late-kiosk'))!;
    expect(execution).toMatchObject({ state: 'cancelled', installedAfterCancel: true, note: 'the device installed firmware 2.0.0 before the cancel reached it' });
    expect(((await t.request('GET', '/api/v1/devices/late-kiosk')).json() as { version: string }).version).toBe('2.0.0');
    const rollout = (await t.request('GET', `/api/v1/rollouts/${id}`)).json() as { status: string; counts: Record<string, number>; progress: { installedAfterCancel: number; total: number } };
    expect(rollout).toMatchObject({ status: 'cancelled', counts: { cancelled: 1 }, progress: { installedAfterCancel: 1, total: 1 } });
    const listed = (await t.request('GET', `/api/v1/rollouts/${id}/devices?state=cancelled`)).json() as { items: { deviceId: string; installedAfterCancel: boolean; note: string }[]; total: number };
    expect(listed).toMatchObject({ total: 1, items: [{ deviceId: 'late-kiosk', installedAfterCancel: true }] });
    const history = (await t.request('GET', '/api/v1/devices/late-kiosk/executions')).json() as { items: { rolloutId: string; state: string; installedAfterCancel: boolean; artifact: { version: string } }[] };
    expect(history.items[0]).toMatchObject({ rolloutId: id, state: 'cancelled', installedAfterCancel: true, artifact: { version: '2.0.0' } });

    const cli = (args: string[]) => runCli(['rollouts', ...args, '--server', t.url, '--token', t.tokens.viewer]);
    const devices = await cli(['devices', id]);
    expect(devices.code).toBe(0);
    // DEVICE, STATE, PHASE, ATTEMPTS, BYTES, FETCHED, REUSED, IN STATE, ERROR / NOTE
    expect(devices.stdout).toMatch(/late-kiosk\s+cancelled \(installed anyway\)\s+1\s+0\s+12\s.*\s\d+ s\s+the device installed firmware 2\.0\.0 before the cancel reached it/);
    const status = await cli(['status', id]);
    expect(status.stdout).toMatch(/note\s+1 cancelled device installed it anyway \(the cancel reached it too late\)/);
  });
});
