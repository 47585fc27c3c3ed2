// The live event stream against a real server: authentication, filters, batching, resume after
// a reconnect without loss or duplicates, and events from another server sharing PostgreSQL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import type { EventRecord, NewEvent } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createTestDatabase, postgresUnavailable } from '../testing/postgres.js';
import { connectWs } from '../testing/ws-client.js';
import type { FlushScheduler } from './ws-session.js';

const lastIdOf = (m: Record<string, unknown>) => m.lastEventId as number;
const execEvents = (rolloutId: string, n: number): NewEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'execution.succeeded', rolloutId, deviceId: `d${i}`, data: { i } }));

describe('GET /ws', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('refuses a bad token or a device token at the upgrade, and an anonymous socket that never authenticates', async () => {
    await expect(connectWs(t.url, { token: 'nope' })).rejects.toThrow(/401/);
    // A device token reads only its own device: it may not watch the fleet's events.
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'ws-dev' } })).status).toBe(201);
    const deviceToken = ((await t.request('POST', '/api/v1/devices/ws-dev/token', {})).json() as { token: string }).token;
    await expect(connectWs(t.url, { token: deviceToken })).rejects.toThrow(/401/);
    const anonymous = await connectWs(t.url);
    anonymous.send({ type: 'subscribe' });
    const closed = await new Promise<number>((resolve) => anonymous.socket.once('close', (code) => resolve(code)));
    expect(closed).toBe(4401);
  });

  it('accepts a token as first message (browsers) and streams live events matching the filter', async () => {
    const client = await connectWs(t.url, { query: { rolloutId: 'r-live', types: 'execution.*' } });
    client.send({ type: 'auth', token: t.tokens.viewer });
    const hello = await client.waitFor((m) => m.type === 'hello');
    expect(hello.role).toBe('viewer');
    await client.waitFor((m) => m.type === 'subscribed');
    await t.app.events.append([{ type: 'execution.failed', rolloutId: 'other' }, { type: 'rollout.paused', rolloutId: 'r-live' }, ...execEvents('r-live', 3)]);
    const batch = await client.waitFor((m) => m.type === 'events');
    const events = batch.events as { type: string; rolloutId: string }[];
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.type === 'execution.succeeded' && e.rolloutId === 'r-live')).toBe(true);
    await client.close();
  });

  it('batches a burst into messages of at most maxBatch events, in id order, without duplicates', async () => {
    // Flushes wait for the test, so what a batch holds does not depend on how fast the appends run.
    const flushes: Array<() => void> = [];
    const scheduleFlush: FlushScheduler = (flush) => {
      flushes.push(flush);
      return () => {
        const at = flushes.indexOf(flush);
        if (at >= 0) flushes.splice(at, 1);
      };
    };
    const held = await startTestApp({ app: { ws: { scheduleFlush } } });
    try {
      const client = await connectWs(held.url, { token: held.tokens.operator });
      // Subscribing without a resume point: no replay runs, every event goes through the queue.
      client.send({ type: 'subscribe', rolloutId: 'r-burst' });
      await client.waitFor((m) => m.type === 'subscribed' && m.replayFrom === null);
      const appends = Array.from({ length: 100 }, () => held.app.events.append(execEvents('r-burst', 40)));
      const ids = (await Promise.all(appends)).flat().map((e) => e.id);
      expect(flushes).toHaveLength(1);
      flushes.shift()!();
      // The first message took 2,000 of the 4,000 queued events and scheduled the next flush.
      expect(flushes).toHaveLength(1);
      flushes.shift()!();
      expect(flushes).toHaveLength(0);
      const last = Math.max(...ids);
      await client.waitFor((m) => m.type === 'events' && lastIdOf(m) === last, 'the last event');
      expect(client.messages.filter((m) => m.type === 'events').map((m) => (m.events as unknown[]).length)).toEqual([2000, 2000]);
      expect(client.eventIds()).toEqual([...ids].sort((a, b) => a - b));
      await client.close();
    } finally {
      await held.close();
    }
  });

  it('tells a client that cannot keep up which ids it missed instead of flooding it', async () => {
    const client = await connectWs(t.url, { token: t.tokens.viewer, query: { rolloutId: 'r-flood' } });
    await client.waitFor((m) => m.type === 'subscribed');
    const records = await t.app.events.append(execEvents('r-flood', 6000));
    const gap = await client.waitFor((m) => m.type === 'gap');
    expect(gap).toMatchObject({ afterId: records[0]!.id - 1, untilId: records[5999]!.id, dropped: 6000, summary: { 'execution.succeeded': 6000 } });
    // The client resolves the gap from the REST log.
    const page = await t.request('GET', `/api/v1/events?afterId=${gap.afterId as number}&rolloutId=r-flood&limit=10`, { token: t.tokens.viewer });
    expect(page.status).toBe(200);
    expect((page.json() as { items: { id: number }[] }).items.map((e) => e.id)).toEqual(records.slice(0, 10).map((e) => e.id));
    await client.close();
  });

  it('resumes from lastEventId after a reconnect: replays what was missed, then live, no gaps or duplicates', async () => {
    const first = await connectWs(t.url, { token: t.tokens.viewer, query: { rolloutId: 'r-resume' } });
    await first.waitFor((m) => m.type === 'subscribed');
    const before = await t.app.events.append(execEvents('r-resume', 5));
    await first.waitFor((m) => m.type === 'events' && lastIdOf(m) === before[4]!.id);
    const lastSeen = Math.max(...first.eventIds());
    await first.close();

    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(...(await t.app.events.append(execEvents('r-resume', 300))));
    const second = await connectWs(t.url, { token: t.tokens.viewer, query: { rolloutId: 'r-resume', lastEventId: String(lastSeen) } });
    const live = await t.app.events.append(execEvents('r-resume', 7));
    const lastId = live[6]!.id;
    await second.waitFor((m) => m.type === 'events' && lastIdOf(m) === lastId, 'the live events after the replay');
    expect(second.eventIds()).toEqual([...missed, ...live].map((e) => e.id));
    expect(second.messages.some((m) => m.type === 'gap')).toBe(false);
    await second.close();
  });

  it('streams token.created and token.revoked live (they go through the event log like every other event)', async () => {
    const client = await connectWs(t.url, { token: t.tokens.viewer });
    client.send({ type: 'subscribe', types: ['token.*'] });
    await client.waitFor((m) => m.type === 'subscribed');
    const created = (await t.request('POST', '/api/v1/tokens', { body: { role: 'operator', name: 'ws-watched' } })).json() as { id: string };
    const tokenEvents = (type: string) => (m: Record<string, unknown>) => m.type === 'events' && (m.events as { type: string; data: { id?: string } }[]).some((e) => e.type === type && e.data.id === created.id);
    const createdBatch = await client.waitFor(tokenEvents('token.created'), 'token.created');
    expect((createdBatch.events as { type: string; data: unknown }[]).find((e) => e.type === 'token.created')).toMatchObject({ actor: expect.stringMatching(/^token:/), data: { id: created.id, role: 'operator', name: 'ws-watched' } });
    expect((await t.request('DELETE', `/api/v1/tokens/${created.id}`)).status).toBe(204);
    await client.waitFor(tokenEvents('token.revoked'), 'token.revoked');
    await client.close();
  });

  it('answers a plain GET with 426 and a bad subscription with an error message', async () => {
    expect((await t.request('GET', '/ws', { token: null })).status).toBe(426);
    const client = await connectWs(t.url, { token: t.tokens.viewer });
    await client.waitFor((m) => m.type === 'subscribed');
    client.send({ type: 'subscribe', lastEventId: -3 });
    const error = await client.waitFor((m) => m.type === 'error');
    expect(error.message).toMatch(/lastEventId/);
    client.send('not json' as unknown as object);
    await client.close();
  });
});

describe('GET /ws with three servers on PostgreSQL', () => {
  it('still delivers an event whose transaction commits after a higher id was seen', async (ctx) => {
    const reason = await postgresUnavailable();
    if (reason) return ctx.skip(reason);
    const db = await createTestDatabase();
    const dirs = [0, 1, 2].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'uo-ws3-')));
    const env = { ...process.env, ORCHESTRATOR_DATABASE_URL: db.url };
    const start = (dataDir: string) => createApp(loadConfig({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' }, env), { logger: false });
    const a = await start(dirs[0]!);
    const b = await start(dirs[1]!);
    const c = await start(dirs[2]!);
    try {
      const { token } = await b.store.tokens.create({ kind: 'operator', role: 'viewer', name: 'pg3' }, Date.now());
      const client = await connectWs(await b.listen(), { token, query: { rolloutId: 'r-late' } });
      await client.waitFor((m) => m.type === 'subscribed');
      let late: EventRecord[] = [];
      await a.store.transaction(async (tx) => {
        late = await a.events.append(execEvents('r-late', 1), tx);
        // Another server commits a higher id while A's transaction is still open; B reads past it.
        const early = await c.events.append(execEvents('r-late', 1));
        await client.waitFor(() => client.eventIds().includes(early[0]!.id), 'the higher id');
      });
      a.events.publish(late);
      await client.waitFor(() => client.eventIds().includes(late[0]!.id), 'the late-committed lower id');
      expect(late[0]!.id).toBeLessThan(Math.max(...client.eventIds()));
      await client.close();
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
      await db.drop();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('GET /ws with two servers on PostgreSQL', () => {
  it('delivers events appended by the other server (LISTEN/NOTIFY, then read from the store)', async (ctx) => {
    const reason = await postgresUnavailable();
    if (reason) return ctx.skip(reason);
    const db = await createTestDatabase();
    const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'uo-ws-')));
    const env = { ...process.env, ORCHESTRATOR_DATABASE_URL: db.url };
    const start = (dataDir: string) => createApp(loadConfig({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' }, env), { logger: false });
    const a = await start(dirs[0]!);
    const b = await start(dirs[1]!);
    try {
      const urlB = await b.listen();
      const { token } = await a.store.tokens.create({ kind: 'operator', role: 'viewer', name: 'pg-viewer' }, Date.now());
      const client = await connectWs(urlB, { token, query: { rolloutId: 'r-pg' } });
      await client.waitFor((m) => m.type === 'subscribed');
      const records = await a.events.append(execEvents('r-pg', 25));
      const local = await b.events.append(execEvents('r-pg', 2));
      const expected = [...records, ...local].map((e) => e.id).sort((x, y) => x - y);
      await client.waitFor(() => client.eventIds().length >= expected.length, 'all events');
      expect([...client.eventIds()].sort((x, y) => x - y)).toEqual(expected);
      await client.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

