// hawkBit DDI and download ahead, through the real engine on a manual clock: while the window is
// closed a download-ahead deployment is offered with download 'forced', update 'skip' and
// maintenanceWindow 'unavailable' (hawkBit's own mapping, which SWUpdate's DDI client honours); the
// client downloads, and its 'downloaded' feedback makes the execution `downloaded` (ready). When
// the window opens, the base poll's deploymentBase href changes and the deployment says update
// 'forced', maintenanceWindow 'available'; the client installs and closes the action.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/index.js';
import { nextEvent } from '../../testing/engine.js';
import { startAppWithEngine, type EngineApp } from '../../testing/engine-app.js';

describe('hawkBit download ahead', () => {
  let e: EngineApp;
  // 01:00 in Berlin (00:00 UTC): the device's 03:30-05:00 window opens in 2.5 hours.
  const clock = new ManualClock(Date.parse('2026-03-02T00:00:00Z'));
  beforeAll(async () => {
    e = await startAppWithEngine({ pollIntervalSeconds: 30 }, clock);
  });
  afterAll(async () => e?.close());

  it('maps to download forced / update skip / maintenanceWindow, counts the device ready, and installs when the window opens', async () => {
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id: 'ahead-ddi', name: 'ahead-ddi', mode: 'pull', timezone: 'Europe/Berlin', tags: { ring: 'ahead' } } })).status).toBe(201);
    const token = (await e.t.app.store.tokens.create({ kind: 'device', deviceId: 'ahead-ddi', name: 'ahead-ddi' }, clock.now())).token;
    const auth = { authorization: `TargetToken ${token}` };
    const base = '/DEFAULT/controller/v1/ahead-ddi';
    const get = (path: string) => e.t.request('GET', path.startsWith('/') ? path : `${base}${path}`, { token: null, headers: auth });
    const upload = await e.t.request('POST', '/api/v1/artifacts?name=fw&version=6.0.0', { raw: 'firmware 6\n', headers: { 'content-type': 'application/octet-stream' } });
    const artifactId = (upload.json() as { id: string }).id;
    const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'ahead-ddi' && ev.type === 'execution.queued');
    const rollout = await e.rollouts.create({ artifactId, filter: { tag: 'ring:ahead' }, window: { daily: '03:30-05:00' }, downloadAhead: true }, 'token:test');
    // Released at once although the window is closed.
    await queued;

    const hrefOf = async () => new URL(((await get('')).json() as { _links: { deploymentBase: { href: string } } })._links.deploymentBase.href);
    const closedHref = await hrefOf();
    const closed = (await get(closedHref.pathname + closedHref.search)).json() as { id: string; deployment: { chunks: { artifacts: { _links: Record<string, { href: string }> }[] }[] } & Record<string, unknown> };
    expect(closed.deployment).toMatchObject({ download: 'forced', update: 'skip', maintenanceWindow: 'unavailable' });
    const download = await get(new URL(closed.deployment.chunks[0]!.artifacts[0]!._links['download-http']!.href).pathname);
    expect(download.text).toBe('firmware 6\n');
    const feedback = (body: unknown) => e.t.request('POST', `${base}/deploymentBase/${closed.id}/feedback`, { token: null, headers: auth, body });
    expect((await feedback({ id: closed.id, status: { execution: 'downloaded', result: { finished: 'none' }, details: ['downloaded, update skipped'] } })).status).toBe(200);
    expect((await e.t.app.store.executions.currentForDevice('ahead-ddi'))?.state).toBe('downloaded');
    expect(await e.rollouts.get(rollout.id)).toMatchObject({ counts: { downloaded: 1 }, progress: { downloaded: 1 }, waiting: 'window', waitingUntil: '2026-03-02T02:30:00.000Z' });
    // Closing the action in answer to skip (as SWUpdate does) installs nothing.
    expect((await feedback({ id: closed.id, status: { execution: 'closed', result: { finished: 'success' }, details: ['Skipped Update.'] } })).status).toBe(200);
    expect((await e.t.app.store.executions.currentForDevice('ahead-ddi'))?.state).toBe('downloaded');

    // 02:31 UTC is 03:31 in Berlin: the window is open; the base poll points at a new href.
    clock.set(Date.parse('2026-03-02T02:31:00Z'));
    const openHref = await hrefOf();
    expect(openHref.search).not.toBe(closedHref.search);
    const open = (await get(openHref.pathname + openHref.search)).json() as { id: string; deployment: Record<string, unknown> };
    expect(open.deployment).toMatchObject({ download: 'forced', update: 'forced', maintenanceWindow: 'available' });
    const succeeded = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'ahead-ddi' && ev.type === 'execution.succeeded');
    expect((await feedback({ id: open.id, status: { execution: 'proceeding', result: { finished: 'none' }, details: ['Installing'] } })).status).toBe(200);
    expect((await feedback({ id: open.id, status: { execution: 'closed', result: { finished: 'success' }, details: ['Update applied'] } })).status).toBe(200);
    expect((await succeeded).data).toMatchObject({ from: 'downloaded', to: 'succeeded' });
  });
});
