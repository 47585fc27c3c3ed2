// `rollouts status`, `watch`, `devices` and `retry` as a user runs them (the built CLI) against a
// real server: a phase awaiting approval shows the wait, the command that ends it and no ETA, in
// the API and the CLI alike; the CLI's counts are the API's and add up to the device count.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../../testing/engine.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { CLI, runCli } from '../../testing/cli.js';

interface RolloutJson {
  id: string;
  status: string;
  waiting: string | null;
  counts: Record<string, number>;
  progress: { total: number; finished: number; percentDone: number; etaSeconds: number | null };
}

describe('rollouts CLI: waits and counts', () => {
  let t: TestApp;
  let artifactId: string;
  const args = () => ['--server', t.url, '--token', t.tokens.operator];
  const cli = (a: string[]) => runCli(['rollouts', ...a, ...args()]);
  const deviceTokens = new Map<string, string>();

  beforeAll(async () => {
    t = await startTestApp();
    const upload = await t.request('POST', '/api/v1/artifacts?name=fw&version=6.0.0', { headers: { 'content-type': 'application/octet-stream' }, raw: 'six' });
    artifactId = (upload.json() as { id: string }).id;
    for (const id of ['till-1', 'till-2', 'till-3']) {
      await t.request('POST', '/api/v1/devices', { body: { id, mode: 'pull', tags: { site: 'shop' } } });
      deviceTokens.set(id, (await t.app.store.tokens.create({ kind: 'device', deviceId: id, name: id }, Date.now())).token);
    }
  });
  afterAll(async () => t?.close());

  /** Reports the device's released execution as an agent does. */
  async function report(deviceId: string, state: string, error?: string): Promise<void> {
    const executionId = (await t.app.store.executions.currentForDevice(deviceId))!.id;
    const answer = await t.request('PATCH', '/api/v1/device/state', { token: deviceTokens.get(deviceId)!, body: { execution: { id: executionId, state, ...(error ? { error } : {}) } } });
    expect(answer.status).toBe(200);
  }
  const api = async (id: string) => (await t.request('GET', `/api/v1/rollouts/${id}`)).json() as RolloutJson;

  it('shows waiting for approval with the approve command and no ETA, then watch follows it to the end', async () => {
    const released = nextEvent(t.app.events, (e) => e.type === 'execution.queued');
    const created = await cli(['create', '--artifact', artifactId, '--tag', 'site:shop', '--strategy', 'progressive', '--phases', 'c1,100', '--approval', '--error-threshold', '50', '--json']);
    expect(created.code).toBe(0);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const canary = (await released).deviceId!;
    await report(canary, 'succeeded');

    const rollout = await api(id);
    expect(rollout).toMatchObject({ status: 'running', waiting: 'approval', progress: { etaSeconds: null, finished: 1, total: 3 } });
    const status = await cli(['status', id]);
    expect(status.stdout).toMatch(/status\s+running \(waiting: approval\)/);
    expect(status.stdout).toContain(`next       waiting for approval: orchestrator rollouts approve ${id}`);
    expect(status.stdout).toMatch(/eta\s+- \(not while paused or waiting\)/);
    const json = JSON.parse((await cli(['status', id, '--json'])).stdout) as RolloutJson;
    expect(json).toMatchObject({ waiting: 'approval', counts: rollout.counts, progress: { etaSeconds: null } });
    expect((await cli(['list'])).stdout).toMatch(new RegExp(`${id}.*running \\(waiting: approval\\)`));

    // watch prints the wait; approving ends it; the other devices report and watch ends.
    const watch = spawn(process.execPath, [CLI, 'rollouts', 'watch', id, '--interval', '100', '--json', ...args()], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = readline.createInterface({ input: watch.stdout });
    const seen: { waiting: string | null; etaSeconds: number | null; status: string }[] = [];
    const ended = new Promise<number | null>((resolve) => watch.on('exit', resolve));
    let approved = false;
    for await (const line of lines) {
      const entry = JSON.parse(line) as (typeof seen)[number];
      seen.push(entry);
      if (!approved && entry.waiting === 'approval') {
        approved = true;
        const rest = ['till-1', 'till-2', 'till-3'].filter((d) => d !== canary);
        const releasedRest = Promise.all(rest.map((d) => nextEvent(t.app.events, (e) => e.deviceId === d && e.type === 'execution.queued')));
        expect((await cli(['approve', id])).code).toBe(0);
        await releasedRest;
        for (const d of rest) await report(d, 'succeeded');
      }
    }
    expect(await ended).toBe(0);
    expect(seen[0]).toMatchObject({ waiting: 'approval', etaSeconds: null, status: 'running' });
    expect(seen.at(-1)).toMatchObject({ status: 'completed', waiting: null });
  });

  it("prints counts that are the API's and add up to the device count; devices lists failures; retry re-queues them", async () => {
    const released = Promise.all(['till-1', 'till-2', 'till-3'].map((d) => nextEvent(t.app.events, (e) => e.deviceId === d && e.type === 'execution.queued')));
    const id = (JSON.parse((await cli(['create', '--artifact', artifactId, '--tag', 'site:shop', '--json'])).stdout) as { id: string }).id;
    await released;
    await report('till-1', 'succeeded');
    await report('till-2', 'rolled-back', 'health check http://127.0.0.1/health failed: 503');
    const rollout = await api(id);
    expect(rollout.counts).toEqual({ succeeded: 1, 'rolled-back': 1, queued: 1 });
    expect(Object.values(rollout.counts).reduce((a, b) => a + b, 0)).toBe(rollout.progress.total);
    const status = (await cli(['status', id])).stdout;
    expect(status).toContain(`counts     ${Object.entries(rollout.counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    expect(status).toContain(`progress   ${rollout.progress.percentDone}% done (2/3), 1 succeeded, 1 failed, 50% success`);

    const failures = await cli(['devices', id, '--state', 'failed,rolled-back']);
    expect(failures.stdout).toMatch(/till-2\s+rolled-back\s+1\s+0\s+0\s.*\s\d+ s\s+health check http:\/\/127\.0\.0\.1\/health failed: 503/);
    expect(failures.stdout).toContain('1 shown of 1');
    const retried = await cli(['retry', id, '--device', 'till-2']);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/^re-queued 1 device\n/);
    const again = await cli(['retry', id, '--device', 'till-2']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/409 .*only failed or rolled-back devices can be retried/);
  });
});
