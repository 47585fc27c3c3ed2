// Attacker-side tests of issue 16 items 3 and 4 (download ahead, bandwidth caps), real HTTP
// against a real server on SQLite and PostgreSQL: only an operator sets the new rollout fields
// (authentication before validation), absurd values are refused naming the field, a device of a
// download-ahead rollout cannot make itself install before the server opens the window (no report
// past `downloaded`, no query or header that changes its target), and a capped download is paced,
// never refused: ranges and multi-ranges are answered 206 with the right bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/index.js';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { addPullDevice, uploadArtifact } from '../testing/pull.js';

const pgSkip = await postgresUnavailable();
const WINDOW = { daily: '03:30-05:00', timezone: 'UTC' };

describe.each([['sqlite'], ['postgres']] as const)('download ahead and bandwidth caps, attacker side (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  // 03:00 UTC: the window is closed for half an hour.
  const clock = new ManualClock(Date.parse('2026-03-02T03:00:00Z'));
  let t: TestApp;
  let artifactId: string;
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
  beforeAll(async () => {
    if (skip) return;
    t = await startTestApp({ db, app: { clock } });
    artifactId = (await uploadArtifact(t.app, bytes, { name: 'fw', version: '16.0.0' })).id;
  });
  afterAll(async () => t?.close());
  const create = (body: Record<string, unknown>, token: string | null = t.tokens.operator) => t.request('POST', '/api/v1/rollouts', { token, body: { artifactId, filter: { ids: ['nobody'] }, ...body } });

  it.skipIf(skip !== null)('only an operator sets downloadAhead and the caps: none is 401 (before validation), a viewer or a device is 403', async () => {
    expect((await create({ downloadAhead: true, window: WINDOW, maxBandwidth: '10MB/s' }, null)).status).toBe(401);
    expect((await create({ downloadAhead: 'yes', maxBandwidth: 'absurd' }, null)).status).toBe(401);
    expect((await create({ downloadAhead: true, window: WINDOW, maxBandwidth: '10MB/s' }, t.tokens.viewer)).status).toBe(403);
    const device = await addPullDevice(t.app, 'sneaky');
    expect((await create({ downloadAhead: true, window: WINDOW, maxDeviceBandwidth: '1MB/s' }, device)).status).toBe(403);
    const listed = (await t.request('GET', '/api/v1/rollouts')).json() as { items: unknown[] };
    expect(listed.items).toEqual([]);
  });

  it.skipIf(skip !== null)('refuses absurd values, naming each field', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ downloadAhead: true }, 'downloadAhead', /needs a maintenance window/],
      [{ downloadAhead: 'yes', window: WINDOW }, 'downloadAhead', /boolean|true or false/],
      [{ maxBandwidth: 'fast' }, 'maxBandwidth', /is not a rate/],
      [{ maxBandwidth: '0MB/s' }, 'maxBandwidth', /from 1kB\/s to 100GB\/s/],
      [{ maxBandwidth: 1e300 }, 'maxBandwidth', /from 1kB\/s to 100GB\/s/],
      [{ maxBandwidth: -1 }, 'maxBandwidth', /from 1kB\/s/],
      [{ maxDeviceBandwidth: '99999999999999999999GB/s' }, 'maxDeviceBandwidth', /from 1kB\/s to 100GB\/s/],
      [{ maxBandwidth: '1MB/s', maxDeviceBandwidth: '2MB/s' }, 'maxDeviceBandwidth', /more than maxBandwidth/],
    ];
    for (const [body, field, message] of cases) {
      const response = await create(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const details = (response.json() as { error: { details: { path: string; message: string }[] } }).error.details;
      expect(details.some((d) => (d.path === field || d.path === `body.${field}`) && message.test(d.message)), `${JSON.stringify(body)}: ${response.text}`).toBe(true);
    }
    expect((await create({ maxBandwidth: 'x'.repeat(41) })).status).toBe(400);
  });

  it.skipIf(skip !== null)('a device cannot install before the server opens the window', async () => {
    const token = await addPullDevice(t.app, 'early-bird');
    const released = nextEvent(t.app.events, (e) => e.deviceId === 'early-bird' && e.type === 'execution.queued');
    const created = await create({ filter: { ids: ['early-bird'] }, downloadAhead: true, window: WINDOW });
    expect(created.status).toBe(201);
    await released;
    const target = (await t.request('GET', '/api/v1/device/early-bird/state', { token })).json() as { update: { executionId: string; action: string } };
    expect(target.update.action).toBe('download');
    // Nothing the device sends changes what the server says.
    for (const trick of ['?action=install', '?installAfter=', '?window=open']) {
      const tricked = await t.request('GET', `/api/v1/device/early-bird/state${trick}`, { token, headers: { 'x-window': 'open', date: 'Mon, 02 Mar 2026 04:00:00 GMT' } });
      expect((tricked.json() as { update: { action: string } }).update.action).toBe('download');
    }
    const report = (state: string) => t.request('PATCH', '/api/v1/device/state', { token, body: { execution: { id: target.update.executionId, state } } });
    expect((await report('downloaded')).status).toBe(200);
    for (const state of ['installing', 'verifying', 'succeeded', 'rolled-back']) {
      const refused = await report(state);
      expect(refused.status, state).toBe(409);
      expect(refused.text).toMatch(/maintenance window is closed \(it opens at 2026-03-02T03:30:00.000Z\)/);
    }
    expect((await t.app.store.executions.get(target.update.executionId))?.state).toBe('downloaded');
    // A failure is always taken (the device gives up; nothing was installed).
    expect((await report('failed')).status).toBe(200);
  });

  it.skipIf(skip !== null)('a capped download is paced, never refused: whole, one range and several ranges are served', async () => {
    const token = await addPullDevice(t.app, 'capped');
    const released = nextEvent(t.app.events, (e) => e.deviceId === 'capped' && e.type === 'execution.queued');
    const created = await create({ filter: { ids: ['capped'] }, maxBandwidth: '50MB/s', maxDeviceBandwidth: '20MB/s' });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ maxBandwidth: 50_000_000, maxDeviceBandwidth: 20_000_000, downloadAhead: false });
    await released;
    const url = `/api/v1/device/artifacts/${artifactId}`;
    const whole = await fetch(t.url + url, { headers: { authorization: `Bearer ${token}` } });
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const one = await fetch(t.url + url, { headers: { authorization: `Bearer ${token}`, range: 'bytes=1000-199999' } });
    expect(one.status).toBe(206);
    expect(Buffer.from(await one.arrayBuffer()).equals(bytes.subarray(1000, 200_000))).toBe(true);
    const many = await fetch(t.url + url, { headers: { authorization: `Bearer ${token}`, range: 'bytes=0-9,100000-100009,299990-' } });
    expect(many.status).toBe(206);
    expect(many.headers.get('content-type')).toMatch(/^multipart\/byteranges/);
    const text = Buffer.from(await many.arrayBuffer()).toString('latin1');
    expect(text).toContain(bytes.subarray(100_000, 100_010).toString('latin1'));
  });
});
