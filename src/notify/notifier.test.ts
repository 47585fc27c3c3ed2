// Outbound notifications against a real HTTP receiver on 127.0.0.1: signed JSON, retries with
// backoff after 5xx answers, no retry after a 4xx, Slack-compatible messages.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../app.js';
import { loadConfig } from '../config.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createTestDatabase, postgresUnavailable } from '../testing/postgres.js';

interface Received {
  status: number;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver that answers each path with a scripted list of statuses (then 200). */
async function receiver(script: Record<string, number[]>) {
  const received: Received[] = [];
  const waiters: { predicate: () => boolean; resolve: () => void }[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const status = script[request.url ?? '']?.shift() ?? 200;
      received.push({ status, path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString() });
      response.writeHead(status).end();
      for (const w of [...waiters]) {
        if (!w.predicate()) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    until: (predicate: () => boolean) => (predicate() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ predicate, resolve }))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('notifications', () => {
  let t: TestApp;
  let r: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    r = await receiver({ '/flaky': [503, 500], '/gone': [410, 410] });
    t = await startTestApp({ app: { notifyOptions: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 4 } } });
  });
  afterAll(async () => {
    await t.close();
    await r.close();
  });

  const subscribe = async (body: Record<string, unknown>) => {
    const response = await t.request('POST', '/api/v1/subscriptions', { body });
    expect(response.status).toBe(201);
    return response.json() as { id: string; hasSecret: boolean };
  };

  it('validates subscriptions, hides the secret and refuses non-admins', async () => {
    expect((await t.request('POST', '/api/v1/subscriptions', { body: { url: 'ftp://x' } })).status).toBe(400);
    expect((await t.request('POST', '/api/v1/subscriptions', { token: t.tokens.operator, body: { url: `${r.url}/x` } })).status).toBe(403);
    const created = await subscribe({ url: `${r.url}/listed`, secret: 'abcdefgh12', events: ['nothing.ever'] });
    expect(created.hasSecret).toBe(true);
    const listed = await t.request('GET', '/api/v1/subscriptions', { token: t.tokens.operator });
    expect(listed.text).not.toContain('abcdefgh12');
    expect((await t.request('DELETE', `/api/v1/subscriptions/${created.id}`)).status).toBe(204);
  });

  it('signs JSON deliveries and retries a failing receiver until it answers 2xx', async () => {
    const secret = 'hook-secret-1';
    await subscribe({ url: `${r.url}/flaky`, secret, events: ['rollout.paused'] });
    const [event] = await t.app.events.append([{ type: 'rollout.paused', rolloutId: 'r1', data: { name: 'west stores', reason: 'failures above 2%' } }, { type: 'rollout.started', rolloutId: 'r1' }]);
    await r.until(() => r.received.filter((x) => x.path === '/flaky').length === 3);
    const attempts = r.received.filter((x) => x.path === '/flaky');
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    const body = JSON.parse(attempts[0]!.body) as { id: number; type: string; data: unknown };
    expect(body).toMatchObject({ id: event!.id, type: 'rollout.paused', data: { reason: 'failures above 2%' } });
    expect(attempts[0]!.headers['x-orchestrator-signature-256']).toBe(`sha256=${createHmac('sha256', secret).update(attempts[0]!.body).digest('hex')}`);
    expect(attempts[0]!.headers['x-orchestrator-event']).toBe('rollout.paused');
  });

  it('does not retry a 4xx answer and sends Slack-compatible text for rollout status changes', async () => {
    await subscribe({ url: `${r.url}/gone`, events: ['rollout.failed'] });
    await subscribe({ url: `${r.url}/slack`, format: 'slack' });
    await t.app.events.append([{ type: 'rollout.failed', rolloutId: 'r2', data: { name: 'kiosks', reason: 'health checks failed' } }, { type: 'rollout.completed', rolloutId: 'r3', data: { name: 'vans' } }, { type: 'execution.succeeded', rolloutId: 'r3' }]);
    await r.until(() => r.received.filter((x) => x.path === '/slack').length === 2);
    const slack = r.received.filter((x) => x.path === '/slack').map((x) => JSON.parse(x.body) as { text: string });
    expect(slack[0]!.text).toMatch(/Rollout \*kiosks\* \(r2\) failed/);
    expect(slack[0]!.text).toMatch(/health checks failed/);
    expect(slack[1]!.text).toMatch(/vans.*completed/);
    // The 4xx delivery was made once; a later event on the same lane proves the lane moved on.
    await t.app.events.append([{ type: 'rollout.failed', rolloutId: 'r4' }]);
    await r.until(() => r.received.filter((x) => x.path === '/gone').length === 2);
    const gone = r.received.filter((x) => x.path === '/gone').map((x) => (JSON.parse(x.body) as { rolloutId: string }).rolloutId);
    expect(gone).toEqual(['r2', 'r4']);
  });

  it('tells Slack when an operator pauses a real rollout, by its name', async () => {
    await subscribe({ url: `${r.url}/slack-live`, format: 'slack', events: ['rollout.paused'] });
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'k1', mode: 'pull' } })).status).toBe(201);
    const artifact = (await t.request('POST', '/api/v1/artifacts?name=kiosk-app&version=3.1.0', { raw: 'bytes', headers: { 'content-type': 'application/octet-stream' } })).json() as { id: string };
    const created = await t.request('POST', '/api/v1/rollouts', { body: { name: 'Kiosk fleet 3.1', artifactId: artifact.id, strategy: 'immediate' } });
    expect(created.status, created.text).toBe(201);
    const rollout = created.json() as { id: string };
    expect((await t.request('POST', `/api/v1/rollouts/${rollout.id}/pause`, { token: t.tokens.operator, body: {} })).status).toBe(200);
    await r.until(() => r.received.some((x) => x.path === '/slack-live'));
    const text = (JSON.parse(r.received.find((x) => x.path === '/slack-live')!.body) as { text: string }).text;
    expect(text).toContain(`Rollout *Kiosk fleet 3.1* (${rollout.id}) paused`);
  });
});

const fast = { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 1000, refreshMs: 100 };
const idsOf = (list: Received[], where: string) => list.filter((x) => x.path === where && x.status === 200).map((x) => (JSON.parse(x.body) as { id: number }).id);

async function openApp(dataDir: string, databaseUrl = ''): Promise<{ app: App; url: string; admin: string }> {
  const app = await createApp(loadConfig({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' }, { ...process.env, ORCHESTRATOR_DATABASE_URL: databaseUrl }), { logger: false, notifyOptions: fast });
  const url = await app.listen();
  const { token } = await app.store.tokens.create({ kind: 'operator', role: 'admin', name: `admin-${Math.random()}` }, Date.now());
  return { app, url, admin: token };
}

const subscribeTo = async (base: string, admin: string, body: Record<string, unknown>) => {
  const response = await fetch(`${base}/api/v1/subscriptions`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(201);
};

describe('durable notifications', () => {
  it('resume after a restart from the last event handled, in order, none lost', async () => {
    const r = await receiver({ '/resume': [503, 503, 503] });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-notify-'));
    try {
      const first = await openApp(dataDir);
      await subscribeTo(first.url, first.admin, { url: `${r.url}/resume`, events: ['rollout.paused'] });
      const appended = await first.app.events.append([1, 2, 3].map((n) => ({ type: 'rollout.paused', rolloutId: `r${n}` })));
      // Stop while the receiver is still refusing the first event.
      await r.until(() => r.received.filter((x) => x.path === '/resume').length >= 2);
      await first.app.close();
      const second = await openApp(dataDir);
      try {
        await r.until(() => idsOf(r.received, '/resume').length >= 3);
        expect(idsOf(r.received, '/resume')).toEqual(appended.map((e) => e.id));
      } finally {
        await second.app.close();
      }
    } finally {
      await r.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('with two servers on PostgreSQL, sends each event once, whichever server appended it', async (ctx) => {
    const reason = await postgresUnavailable();
    if (reason) return ctx.skip(reason);
    const r = await receiver({});
    const db = await createTestDatabase();
    const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'uo-notify-pg-')));
    const a = await openApp(dirs[0]!, db.url);
    const b = await openApp(dirs[1]!, db.url);
    try {
      await subscribeTo(a.url, a.admin, { url: `${r.url}/pg`, events: ['rollout.*'] });
      await b.app.events.append([{ type: 'rollout.paused', rolloutId: 'warm-up' }]);
      await r.until(() => idsOf(r.received, '/pg').length === 1);
      const appended = [];
      for (let i = 0; i < 10; i++) {
        appended.push(...(await a.app.events.append([{ type: 'rollout.paused', rolloutId: `a${i}` }])));
        appended.push(...(await b.app.events.append([{ type: 'rollout.resumed', rolloutId: `b${i}` }])));
      }
      const sentinel = await a.app.events.append([{ type: 'rollout.completed', rolloutId: 'last' }]);
      await r.until(() => idsOf(r.received, '/pg').includes(sentinel[0]!.id));
      const got = idsOf(r.received, '/pg');
      expect(got.length).toBe(new Set(got).size);
      expect(got.slice(1)).toEqual([...appended, ...sentinel].map((e) => e.id).sort((x, y) => x - y));
    } finally {
      await a.app.close();
      await b.app.close();
      await db.drop();
      await r.close();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
