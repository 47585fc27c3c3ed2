// Two servers on one PostgreSQL database: a device's cached target state (its ETag) on server B is
// invalidated when a rollout created through server A targets it (the engine's NOTIFY), and a
// report through B moves the execution A sees.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../app.js';
import { loadConfig } from '../config.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../testing/postgres.js';

describe.skipIf((await postgresUnavailable()) !== null)('device API across two servers (PostgreSQL)', () => {
  let db: TestDatabase;
  const apps: { app: App; url: string; dir: string }[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-multi-'));
      const config = loadConfig({ dataDir: dir, host: '127.0.0.1', port: 0 }, { ...process.env, ORCHESTRATOR_DATABASE_URL: db.url });
      const app = await createApp(config, { logger: false });
      apps.push({ app, url: await app.listen(), dir });
    }
  });
  afterAll(async () => {
    for (const a of apps) {
      await a.app.close();
      fs.rmSync(a.dir, { recursive: true, force: true });
    }
    await db.drop();
  });

  it('a rollout created on server A changes the ETag server B serves', async () => {
    const [a, b] = apps as [(typeof apps)[0], (typeof apps)[0]];
    await a.app.devices.create({ id: 'multi-1', mode: 'pull', tags: { ring: 'multi' } }, 'test');
    const { token } = await a.app.enrollment.issueToken('multi-1', 'test');
    const poll = (etag?: string) => fetch(`${b.url}/api/v1/device/multi-1/state`, { headers: { authorization: `Bearer ${token}`, ...(etag ? { 'if-none-match': etag } : {}) } });
    const first = await poll();
    const etag = first.headers.get('etag')!;
    expect(((await first.json()) as { update: unknown }).update).toBeNull();
    expect((await poll(etag)).status).toBe(304);

    // The artifact's bytes live in A's data directory; B serves the state, A the download.
    const { artifact } = await a.app.artifacts.upload(Readable.from([Buffer.from('multi server firmware')]), { name: 'multi', version: '1.0.0' }, 'test');
    const { token: operator } = await a.app.store.tokens.create({ kind: 'operator', role: 'operator', name: 'op' }, Date.now());
    const created = await fetch(`${a.url}/api/v1/rollouts`, { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'multi', artifactId: artifact.id, filter: { tag: 'ring:multi' } }) });
    expect(created.status).toBe(201);

    let changed: Response | null = null;
    for (let i = 0; i < 100 && !changed; i++) {
      const answer = await poll(etag);
      if (answer.status === 200) changed = answer;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(changed?.status).toBe(200);
    const state = (await changed!.json()) as { update: { executionId: string; artifactId: string } };
    expect(state.update.artifactId).toBe(artifact.id);

    const report = await fetch(`${b.url}/api/v1/device/state`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ version: '1.0.0', execution: { id: state.update.executionId, state: 'succeeded' } }) });
    expect(report.status).toBe(200);
    expect((await a.app.store.executions.get(state.update.executionId))?.state).toBe('succeeded');

    // B has the device token cached; a new token issued on A revokes the old one on B too.
    expect((await poll()).status).toBe(200);
    await a.app.enrollment.issueToken('multi-1', 'test');
    let status = 200;
    for (let i = 0; i < 100 && status !== 401; i++) {
      status = (await poll()).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
  });
});
