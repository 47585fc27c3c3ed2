// `orchestrator rollouts` as a user runs it (the built CLI) against a real server: create with
// flags, list, status, watch until done, pause/cancel, and readable errors for bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';
import { nextEvent } from '../../testing/engine.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { buildRolloutBody } from './rollouts.js';


describe('rollouts CLI', () => {
  let t: TestApp;
  let artifactId: string;
  const cli = (args: string[]) => runCli(['rollouts', ...args, '--server', t.url, '--token', t.tokens.operator]);

  beforeAll(async () => {
    t = await startTestApp();
    const upload = await t.request('POST', '/api/v1/artifacts?name=fw&version=5.0.0', { headers: { 'content-type': 'application/octet-stream' }, raw: 'five' });
    artifactId = (upload.json() as { id: string }).id;
    for (const id of ['kiosk-1', 'kiosk-2']) await t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull', tags: { site: 'hq' } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('turns flags into Rollout JSON', () => {
    const body = buildRolloutBody({ artifact: 'a1', strategy: 'progressive', phases: '1,c20,100', approval: true, errorThreshold: 2, window: '02:00-04:00', windowTz: 'Europe/Paris', tag: ['site:hq'], rate: 10, rateGrowth: 2, rateEvery: 50 });
    expect(body).toEqual({
      artifactId: 'a1',
      strategy: 'progressive',
      filter: { tag: ['site:hq'] },
      phases: [{ percent: 1, requireApproval: true }, { count: 20, requireApproval: true }, { percent: 100 }],
      errorThreshold: { percent: 2, action: 'pause' },
      window: { daily: '02:00-04:00', timezone: 'Europe/Paris' },
      rateLimit: { perMinute: 10, growthFactor: 2, growEvery: 50 },
    });
  });

  it('creates, lists, shows and watches a rollout to pull devices', async () => {
    // Both pull executions are released in one batch right after the create.
    const released = nextEvent(t.app.events, (e) => e.type === 'execution.queued');
    const created = await cli(['create', '--artifact', artifactId, '--tag', 'site:hq', '--name', 'hq kiosks', '--json']);
    expect(created.code).toBe(0);
    const rollout = JSON.parse(created.stdout) as { id: string; status: string; counts: Record<string, number> };
    // Released to the devices at once or a moment later: two devices either way.
    expect(rollout).toMatchObject({ status: 'running', progress: { total: 2 } });
    const list = await cli(['list']);
    expect(list.stdout).toContain(rollout.id);
    expect(list.stdout).toContain('hq kiosks');
    const status = await cli(['status', rollout.id]);
    expect(status.stdout).toMatch(/status\s+running/);

    // The two kiosks report success as pull devices do; watch then ends with the final state.
    await released;
    for (const id of ['kiosk-1', 'kiosk-2']) await reportSucceeded(t, id);
    const watch = await cli(['watch', rollout.id, '--interval', '100', '--json']);
    expect(watch.code).toBe(0);
    expect(watch.stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string }).at(-1)).toMatchObject({ status: 'completed', counts: { succeeded: 2 } });
  });

  it('pauses and cancels, and says what is wrong with bad input', async () => {
    const startAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = JSON.parse((await cli(['create', '--artifact', artifactId, '--strategy', 'scheduled', '--start-at', startAt, '--json'])).stdout) as { id: string };
    expect((await cli(['pause', created.id])).stdout).toMatch(/status\s+paused/);
    expect(JSON.parse((await cli(['cancel', created.id, '--json'])).stdout)).toMatchObject({ status: 'cancelled' });
    const bad = await cli(['create', '--artifact', artifactId, '--strategy', 'progressive', '--phases', '10,50']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/400 .*phases\.1/s);
  });
});

describe('rollouts CLI: download ahead and bandwidth caps', () => {
  let t: TestApp;
  let artifactId: string;
  const cli = (args: string[]) => runCli(['rollouts', ...args, '--server', t.url, '--token', t.tokens.operator]);
  beforeAll(async () => {
    t = await startTestApp();
    const upload = await t.request('POST', '/api/v1/artifacts?name=fw&version=6.0.0', { headers: { 'content-type': 'application/octet-stream' }, raw: 'six' });
    artifactId = (upload.json() as { id: string }).id;
    await t.request('POST', '/api/v1/devices', { body: { id: 'branch-1', mode: 'pull', tags: { site: 'branch' } } });
  });
  afterAll(async () => t?.close());

  it('turns the flags into Rollout JSON', () => {
    expect(buildRolloutBody({ artifact: 'a1', window: '02:00-04:00', downloadAhead: true, maxBandwidth: '50MB/s', maxDeviceBandwidth: '1MB/s' })).toEqual({
      artifactId: 'a1',
      window: { daily: '02:00-04:00' },
      downloadAhead: true,
      maxBandwidth: '50MB/s',
      maxDeviceBandwidth: '1MB/s',
    });
  });

  it('creates a download-ahead rollout with caps; status shows the ready devices and the caps; bad values are refused', async () => {
    // A window twelve hours away: closed now, whatever the time of day.
    const hour = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
    const released = nextEvent(t.app.events, (e) => e.deviceId === 'branch-1' && e.type === 'execution.queued');
    const created = await cli(['create', '--artifact', artifactId, '--tag', 'site:branch', '--window', `${hour}:00-${hour}:30`, '--window-tz', 'UTC', '--download-ahead', '--max-bandwidth', '50MB/s', '--max-device-bandwidth', '2MB/s', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const rollout = JSON.parse(created.stdout) as { id: string };
    expect(JSON.parse(created.stdout)).toMatchObject({ downloadAhead: true, maxBandwidth: 50_000_000, maxDeviceBandwidth: 2_000_000 });
    await released;
    await report(t, 'branch-1', 'downloaded');
    const status = await cli(['status', rollout.id]);
    expect(status.stdout).toMatch(/counts\s+downloaded=1/);
    expect(status.stdout).toMatch(/ready\s+1 of 1 downloaded ahead, installing when the window opens/);
    expect(status.stdout).toMatch(/bandwidth\s+50 MB\/s in total \(per server\), 2 MB\/s per device/);
    expect(status.stdout).toMatch(/next\s+waiting for the maintenance window \(opens /);

    const noWindow = await cli(['create', '--artifact', artifactId, '--download-ahead']);
    expect(noWindow.code).not.toBe(0);
    expect(noWindow.stderr).toMatch(/downloadAhead needs a maintenance window/);
    const badRate = await cli(['create', '--artifact', artifactId, '--max-bandwidth', 'fast']);
    expect(badRate.code).not.toBe(0);
    expect(badRate.stderr).toMatch(/maxBandwidth "fast" is not a rate/);
    const help = await runCli(['rollouts', 'create', '--help']);
    expect(help.stdout).toMatch(/--download-ahead/);
    expect(help.stdout).toMatch(/--max-bandwidth <rate>/);
  });
});

/** Reports the device's current execution as succeeded through the device API, as an agent does. */
async function reportSucceeded(t: TestApp, deviceId: string): Promise<void> {
  await report(t, deviceId, 'succeeded');
}

/** Reports the device's current execution in `state` through the device API. */
async function report(t: TestApp, deviceId: string, state: string): Promise<void> {
  const executionId = (await t.app.store.executions.currentForDevice(deviceId))!.id;
  const token = (await t.app.store.tokens.create({ kind: 'device', deviceId, name: deviceId }, Date.now())).token;
  const answer = await t.request('PATCH', '/api/v1/device/state', { token, body: { execution: { id: executionId, state } } });
  expect(answer.status).toBeLessThan(300);
}
