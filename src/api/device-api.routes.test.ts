// The device API against a real server: enrollment, per-device tokens and their revocation, the
// ETag/304 poll path, reports, presence (online/offline) and ranged, authorized downloads.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { addPullDevice, ManualTargets, uploadArtifact } from '../testing/pull.js';

for (const db of ['sqlite', 'postgres'] as const) describe.skipIf(db === 'postgres' && (await postgresUnavailable()) !== null)(`device API (${db})`, () => {
  let t: TestApp;
  const targets = new ManualTargets();
  beforeAll(async () => {
    t = await startTestApp({ db, app: { deviceSync: targets } });
  });
  afterAll(async () => t.close());

  it('enrolls devices with a key: pending until accepted, or at once with autoAccept', async () => {
    const created = await t.request('POST', '/api/v1/enrollment-keys', { body: { name: 'store-fleet', defaults: { location: 'berlin', tags: { fleet: 'pos' } } } });
    expect(created.status).toBe(201);
    const { key } = created.json() as { key: string };
    expect((await t.request('POST', '/api/v1/enrollment-keys', { token: t.tokens.operator, body: { name: 'x' } })).status).toBe(403);

    const enrolled = await t.request('POST', '/api/v1/device/enroll', { token: null, body: { enrollmentKey: key, id: 'pos-1', version: '1.0.0' } });
    expect(enrolled.status).toBe(201);
    const { token, enrollment } = enrolled.json() as { token: string; enrollment: string };
    expect(enrollment).toBe('pending');
    const device = (await t.request('GET', '/api/v1/devices/pos-1')).json() as { location: string; tags: Record<string, string>; mode: string };
    expect(device).toMatchObject({ location: 'berlin', tags: { fleet: 'pos' }, mode: 'pull' });

    const pendingState = await t.request('GET', '/api/v1/device/pos-1/state', { token });
    expect(pendingState.json()).toMatchObject({ enrollment: 'pending', update: null });
    expect(((await t.request('GET', '/api/v1/enrollments/pending')).json() as { items: { id: string }[] }).items.map((d) => d.id)).toEqual(['pos-1']);
    expect((await t.request('POST', '/api/v1/devices/pos-1/accept', { token: t.tokens.operator })).status).toBe(200);
    expect((await t.request('GET', '/api/v1/device/pos-1/state', { token })).json()).toMatchObject({ enrollment: 'accepted' });

    const again = await t.request('POST', '/api/v1/device/enroll', { token: null, body: { enrollmentKey: key, id: 'pos-1' } });
    expect(again.status).toBe(409);
    const bad = await t.request('POST', '/api/v1/device/enroll', { token: null, body: { enrollmentKey: 'uo_enr_nope', id: 'pos-2' } });
    expect(bad.status).toBe(401);
    expect(bad.text).toContain('enrollment key');

    const auto = (await t.request('POST', '/api/v1/enrollment-keys', { body: { name: 'auto', autoAccept: true, maxUses: 1 } })).json() as { key: string; id: string };
    expect((await t.request('POST', '/api/v1/device/enroll', { token: null, body: { enrollmentKey: auto.key, id: 'kiosk-1' } })).json()).toMatchObject({ enrollment: 'accepted' });
    // Used up (maxUses 1): the key no longer authenticates.
    expect((await t.request('POST', '/api/v1/device/enroll', { token: null, body: { enrollmentKey: auto.key, id: 'kiosk-2' } })).status).toBe(401);
  });

  it('a rejected device loses its token at once', async () => {
    const { key } = (await t.request('POST', '/api/v1/enrollment-keys', { body: { name: 'r' } })).json() as { key: string };
    const { token } = (await t.request('POST', '/api/v1/device/enroll', { token: null, body: { enrollmentKey: key, id: 'rogue' } })).json() as { token: string };
    expect((await t.request('GET', '/api/v1/device/rogue/state', { token })).status).toBe(200);
    await t.request('POST', '/api/v1/devices/rogue/reject', { token: t.tokens.operator });
    expect((await t.request('GET', '/api/v1/device/rogue/state', { token })).status).toBe(401);
  });

  it('a device token reads only its own state and cannot use the operator API', async () => {
    const a = await addPullDevice(t.app, 'dev-a');
    await addPullDevice(t.app, 'dev-b');
    expect((await t.request('GET', '/api/v1/device/dev-a/state', { token: a })).status).toBe(200);
    const other = await t.request('GET', '/api/v1/device/dev-b/state', { token: a });
    expect(other.status).toBe(403);
    expect(other.text).toContain("belongs to device 'dev-a'");
    expect((await t.request('GET', '/api/v1/devices', { token: a })).status).toBe(403);
    expect((await t.request('GET', '/api/v1/device/dev-b/state', { token: t.tokens.viewer })).status).toBe(200);
    expect((await t.request('GET', '/api/v1/device/dev-a/state', { token: null })).status).toBe(401);
  });

  it('answers 304 to a matching If-None-Match until the target changes', async () => {
    const token = await addPullDevice(t.app, 'etag-1');
    const first = await t.request('GET', '/api/v1/device/etag-1/state', { token });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.json()).toMatchObject({ deviceId: 'etag-1', update: null, pollIntervalSeconds: 60 });
    const second = await t.request('GET', '/api/v1/device/etag-1/state', { token, headers: { 'if-none-match': etag } });
    expect(second.status).toBe(304);
    expect(second.text).toBe('');
    const artifact = await uploadArtifact(t.app, Buffer.from('firmware v2'), { name: 'fw', version: '2.0.0' });
    const execution = targets.target('etag-1', artifact);
    const third = await t.request('GET', '/api/v1/device/etag-1/state', { token, headers: { 'if-none-match': etag } });
    expect(third.status).toBe(200);
    expect(third.headers.get('etag')).not.toBe(etag);
    expect(third.json()).toMatchObject({ update: { executionId: execution.id, version: '2.0.0', sha256: artifact.sha256, downloadUrl: `/api/v1/device/artifacts/${artifact.id}`, install: { handler: 'file' } } });
    expect((await t.request('GET', '/api/v1/device/etag-1/state', { token, headers: { 'if-none-match': third.headers.get('etag')! } })).status).toBe(304);
  });

  it('issuing a new token revokes the old one immediately (no 10 s cache)', async () => {
    const old = await addPullDevice(t.app, 'rotate-1');
    expect((await t.request('GET', '/api/v1/device/rotate-1/state', { token: old })).status).toBe(200);
    const issued = await t.request('POST', '/api/v1/devices/rotate-1/token', { token: t.tokens.operator });
    expect(issued.status).toBe(201);
    const { token } = issued.json() as { token: string };
    expect((await t.request('GET', '/api/v1/device/rotate-1/state', { token: old })).status).toBe(401);
    expect((await t.request('GET', '/api/v1/device/rotate-1/state', { token })).status).toBe(200);
    expect((await t.request('DELETE', '/api/v1/devices/rotate-1/token', { token: t.tokens.operator })).json()).toEqual({ revoked: 1 });
    expect((await t.request('GET', '/api/v1/device/rotate-1/state', { token })).status).toBe(401);
  });

  it('reports move the execution forward only, store inventory and version, and make the device online then offline', async () => {
    const token = await addPullDevice(t.app, 'rep-1');
    const artifact = await uploadArtifact(t.app, Buffer.from('report me'), { name: 'fw', version: '3.0.0' });
    const execution = targets.target('rep-1', artifact);
    const send = (body: unknown) => t.request('PATCH', '/api/v1/device/state', { token, body });
    expect((await send({ version: '1.0.0', inventory: { arch: 'arm64' }, execution: { id: execution.id, state: 'installing' } })).json()).toMatchObject({ execution: { state: 'installing' } });
    expect((await send({ execution: { id: execution.id, state: 'downloading', bytes: 3 } })).json()).toMatchObject({ execution: { state: 'installing' } });
    expect((await send({ execution: { id: execution.id, state: 'exploded' } })).status).toBe(400);
    expect((await send({ execution: { id: 'no-such-execution', state: 'succeeded' } })).status).toBe(404);
    expect((await t.request('PATCH', '/api/v1/device/state', { token: t.tokens.admin, body: {} })).status).toBe(403);
    expect(await t.app.store.deviceReports.get('rep-1')).toMatchObject({ inventory: { arch: 'arm64' } });
    // The agent's --device-type: stored on the device; one that is not a device type is refused.
    expect((await send({ deviceType: 'rpi4' })).status).toBe(200);
    expect((await t.app.store.devices.get('rep-1'))?.deviceType).toBe('rpi4');
    expect((await send({ deviceType: 'rpi 4; drop' })).status).toBe(400);
    expect((await send({ deviceType: 'x'.repeat(65) })).status).toBe(400);

    await t.app.presence.flush();
    const online = (await t.request('GET', '/api/v1/devices/rep-1')).json() as { status: string; version: string };
    expect(online).toMatchObject({ status: 'online', version: '1.0.0' });
    expect(targets.seen).toContain('rep-1');
    // Nothing heard for longer than offlineAfterMissedPolls intervals.
    expect(await t.app.presence.sweep(Date.now() + 60_000 * 4)).toContain('rep-1');
    const events = await t.app.store.events.list({ deviceId: 'rep-1', limit: 100 });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['device.online', 'device.offline']));
    expect(((await t.request('GET', '/api/v1/devices/rep-1')).json() as { status: string }).status).toBe('offline');
  });

  it('records the version a device says it runs also when its report is refused or disagrees with the target', async () => {
    const token = await addPullDevice(t.app, 'honest-1');
    const artifact = await uploadArtifact(t.app, Buffer.from('honest firmware'), { name: 'fw', version: '4.0.0' });
    const execution = targets.target('honest-1', artifact);
    const send = (body: unknown) => t.request('PATCH', '/api/v1/device/state', { token, body });
    const version = async () => ((await t.request('GET', '/api/v1/devices/honest-1')).json() as { version: string | null }).version;
    // An execution the server does not know: refused (404), the version is still what it runs.
    expect((await send({ version: '3.9.0', inventory: { refused: true }, execution: { id: 'no-such-execution', state: 'succeeded' } })).status).toBe(404);
    expect(await version()).toBe('3.9.0');
    // A refused report stores nothing else.
    expect((await t.app.store.deviceReports.get('honest-1'))?.inventory ?? {}).not.toHaveProperty('refused');
    // A stopped execution refuses its success (409); the device runs what it says all the same.
    execution.state = 'cancelled';
    expect((await send({ version: '4.0.0-local', execution: { id: execution.id, state: 'succeeded' } })).status).toBe(409);
    expect(await version()).toBe('4.0.0-local');
    // Accepted, but the device runs something other than the target's 4.0.0: its word is recorded.
    const next = targets.target('honest-1', artifact);
    expect((await send({ version: '3.9.1', execution: { id: next.id, state: 'succeeded' } })).status).toBe(200);
    expect(await version()).toBe('3.9.1');
  });

  it('serves the targeted artifact with Range (206, 416) and refuses others; signed URLs work without a token', async () => {
    const bytes = randomBytes(10_000);
    const token = await addPullDevice(t.app, 'dl-1');
    const other = await addPullDevice(t.app, 'dl-2');
    const artifact = await uploadArtifact(t.app, bytes, { name: 'big', version: '1.0.0' });
    targets.target('dl-1', artifact);
    const path = `/api/v1/device/artifacts/${artifact.id}`;
    const full = await fetch(t.url + path, { headers: { authorization: `Bearer ${token}` } });
    expect(full.status).toBe(200);
    expect(Buffer.from(await full.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await fetch(t.url + path, { headers: { authorization: `Bearer ${token}`, range: 'bytes=4000-' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 4000-9999/10000');
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(4000))).toBe(true);
    const beyond = await fetch(t.url + path, { headers: { authorization: `Bearer ${token}`, range: 'bytes=20000-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */10000');
    expect((await fetch(t.url + path, { headers: { authorization: `Bearer ${other}` } })).status).toBe(403);
    expect((await fetch(t.url + path)).status).toBe(401);

    const signed = await t.request('POST', `/api/v1/device/artifacts/${artifact.id}/signed-url`, { token });
    const { url } = signed.json() as { url: string };
    const viaSigned = await fetch(t.url + url, { headers: { range: 'bytes=0-9' } });
    expect(viaSigned.status).toBe(206);
    expect(Buffer.from(await viaSigned.arrayBuffer()).equals(bytes.subarray(0, 10))).toBe(true);
    expect((await fetch(t.url + url.replace(/sig=[^&]+/, 'sig=forged'))).status).toBe(403);
    expect((await t.request('POST', `/api/v1/device/artifacts/${artifact.id}/signed-url`, { token: other })).status).toBe(403);
  });
});
