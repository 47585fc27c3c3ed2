// hawkBit deploymentBase and maintenance windows, through the real engine on a manual clock: the
// window is reported in the device's time zone, `update` turns to `skip` while it is closed, and a
// client closing the action in answer to `skip` (as SWUpdate does) is not taken as an install.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/index.js';
import { nextEvent } from '../../testing/engine.js';
import { startAppWithEngine, type EngineApp } from '../../testing/engine-app.js';

describe('hawkBit maintenance windows', () => {
  let e: EngineApp;
  const clock = new ManualClock(Date.parse('2026-03-02T03:00:00Z'));
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 30 }, clock);
  });
  afterAll(async () => e?.close());

  it('offers the deployment with the window state and skips installing while it is closed', async () => {
    // 03:00 UTC is 04:00 in Berlin: inside the device's 03:30-05:00 window.
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id: 'win-1', name: 'win-1', mode: 'pull', timezone: 'Europe/Berlin', tags: { ring: 'win' } } })).status).toBe(201);
    const token = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: 'win-1', name: 'win-1' }, clock.now())).token;
    const auth = { authorization: `TargetToken ${token}` };
    const get = (path: string) => e.t.request('GET', `/DEFAULT/controller/v1/win-1${path}`, { token: null, headers: auth });
    const upload = await e.t.request('POST', '/api/v1/artifacts?name=fw&version=5.0.0', { raw: 'firmware 5\n', headers: { 'content-type': 'application/octet-stream' } });
    const artifactId = (upload.json() as { id: string }).id;
    const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'win-1' && ev.type === 'execution.queued');
    await e.rollouts.create({ artifactId, filter: { tag: 'ring:win' }, window: { daily: '03:30-05:00' } }, 'token:test');
    await queued;

    const poll = (await get('')).json() as { config: { polling: { sleep: string } }; _links: { deploymentBase?: { href: string } } };
    expect(poll.config.polling.sleep).toBe('00:00:30');
    const href = new URL(poll._links.deploymentBase!.href);
    const open = (await get(href.pathname.replace('/DEFAULT/controller/v1/win-1', ''))).json() as { id: string; deployment: Record<string, unknown> };
    expect(open.deployment).toMatchObject({ download: 'forced', update: 'forced', maintenanceWindow: 'available' });
    const artifacts = (open.deployment.chunks as Array<{ artifacts: Array<{ filename: string; size: number; hashes: Record<string, string>; _links: Record<string, { href: string }> }> }>)[0]!.artifacts;
    expect(artifacts[0]).toMatchObject({ filename: 'fw-5.0.0', size: 11, hashes: { sha1: expect.stringMatching(/^[0-9a-f]{40}$/), md5: expect.stringMatching(/^[0-9a-f]{32}$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    // The download link serves the bytes, with Range.
    const download = await e.t.request('GET', new URL(artifacts[0]!._links['download-http']!.href).pathname, { token: null, headers: { ...auth, range: 'bytes=9-' } });
    expect(download.status).toBe(206);
    expect(download.text).toBe('5\n');
    const md5sum = await e.t.request('GET', new URL(artifacts[0]!._links['md5sum-http']!.href).pathname, { token: null, headers: auth });
    expect(md5sum.text).toBe(`${artifacts[0]!.hashes.md5}  fw-5.0.0\n`);

    // 04:30 UTC is 05:30 in Berlin: the window has closed.
    clock.advance(90 * 60_000);
    const closed = (await get(href.pathname.replace('/DEFAULT/controller/v1/win-1', ''))).json() as { deployment: Record<string, unknown> };
    expect(closed.deployment).toMatchObject({ update: 'skip', maintenanceWindow: 'unavailable' });
    const feedback = await e.t.request('POST', `/DEFAULT/controller/v1/win-1/deploymentBase/${open.id}/feedback`, { token: null, headers: auth, body: { id: Number(open.id), status: { execution: 'closed', result: { finished: 'success' }, details: ['Skipped Update.'] } } });
    expect(feedback.status).toBe(200);
    // The download above started it (queued -> downloading); the close in answer to skip finished nothing.
    expect((await e.t.app.store.executions.currentForDevice('win-1'))?.state).toBe('downloading');
    const logged = await e.t.app.store.events.list({ type: ['hawkbit.feedback'], limit: 10 });
    expect(logged.at(-1)?.data).toMatchObject({ execution: 'closed', finished: 'success', details: ['Skipped Update.'] });
  });
});
