// Delta downloads end to end: the real agent against the real server and engine, release 1 then
// release 2 of a tar in which one file changed. The agent fetches only the chunks it lacks (the
// server's own count of bytes served says how many), survives a cut connection, catches a
// corrupted chunk and still installs the right file, and downloads whole when a delta cannot help.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkIndexDigest, encodeChunkIndex, generateSigningKeyPair, indexBytes, signArtifact, signArtifactIndex, type EventRecord, type Execution } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { startCutProxy, type CutProxy } from '../testing/cut-proxy.js';
import { deltaCase, generatedBytes } from '../testing/delta-fixtures.js';
import { createDeviceAgent } from './device-agent.js';
import { silentLog } from './log.js';

const SIZE = 8 * 1024 * 1024;

describe('delta downloads (agent against a real server)', () => {
  let t: TestApp;
  let proxy: CutProxy;
  let home: string;
  const keys = generateSigningKeyPair();
  const tar = deltaCase('tar-one-file', SIZE);
  beforeAll(async () => {
    t = await startTestApp({ config: { artifactMaxBytes: 64 << 20 } });
    proxy = await startCutProxy(t.url);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-delta-'));
    fs.writeFileSync(path.join(home, 'release.pub'), keys.publicKeyPem);
  });
  afterAll(async () => {
    await proxy.close();
    await t.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** Uploads bytes signed (artifact and chunk index) as the CLI does. */
  async function upload(bytes: Buffer, version: string, signIndex = true) {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const fields = { name: 'rootfs', version, sha256 };
    const indexSha256 = chunkIndexDigest(encodeChunkIndex(indexBytes(bytes)));
    const input = { ...fields, signature: signArtifact(fields, keys.privateKeyPem), publicKey: keys.publicKeyPem, ...(signIndex ? { indexSignature: signArtifactIndex({ ...fields, indexSha256 }, keys.privateKeyPem) } : {}) };
    return (await t.app.artifacts.upload(Readable.from([bytes]), input, 'test')).artifact;
  }

  async function device(id: string) {
    await t.app.devices.create({ id, mode: 'pull' }, 'test');
    const { token } = await t.app.enrollment.issueToken(id, 'test');
    const dir = path.join(home, id);
    const agent = createDeviceAgent({ server: proxy.url, deviceId: id, token, dir, trustedKeyFile: path.join(home, 'release.pub'), healthDeadlineSeconds: 1 }, silentLog);
    await agent.init();
    return { agent, dir, current: () => fs.readFileSync(path.join(dir, 'current')) };
  }

  /** Creates a rollout of the artifact to one device; resolves once the engine released it to the device. */
  async function rollout(artifactId: string, deviceId: string): Promise<{ rolloutId: string; executionId: string }> {
    const released = new Promise<EventRecord>((resolve) => {
      const stop = t.app.events.subscribe((events) => {
        const hit = events.find((e) => e.type === 'execution.queued' && e.deviceId === deviceId);
        if (hit) {
          stop();
          resolve(hit);
        }
      });
    });
    const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId, filter: { ids: [deviceId] } } });
    expect(created.status, created.text).toBe(201);
    return { rolloutId: (created.json() as { id: string }).id, executionId: (await released).executionId! };
  }

  async function execution(rolloutId: string): Promise<Execution> {
    const page = (await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices`)).json() as { items: Execution[] };
    return page.items[0]!;
  }

  /** What the server counted as served for a rollout (artifact bytes and indexes), and saved. */
  async function served(rolloutId: string): Promise<{ served: number; saved: number }> {
    const text = (await t.request('GET', '/metrics', { token: null })).text;
    const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
    return {
      served: sum(new RegExp(`^orchestrator_rollout_bytes_served_total\\{rollout="${rolloutId}",kind="[a-z]+"\\} (\\d+)$`, 'gm')),
      saved: sum(new RegExp(`^orchestrator_delta_bytes_saved_total\\{rollout="${rolloutId}"\\} (\\d+)$`, 'gm')),
    };
  }

  it('updates release 1 to release 2 fetching at most 15% of it, as the server counted', async () => {
    const d = await device('delta-a');
    const v1 = await upload(tar.v1, '1');
    const r1 = await rollout(v1.id, 'delta-a');
    await d.agent.round();
    const first = await execution(r1.rolloutId);
    expect(first).toMatchObject({ state: 'succeeded', bytesReused: 0 });
    // No earlier release: the whole file, nothing else.
    expect(first.bytesFetched).toBe(tar.v1.length);
    expect((await served(r1.rolloutId)).served).toBe(tar.v1.length);

    const v2 = await upload(tar.v2, '2');
    const r2 = await rollout(v2.id, 'delta-a');
    proxy.ranges.length = 0;
    await d.agent.round();
    const second = await execution(r2.rolloutId);
    expect(second.state).toBe('succeeded');
    expect(d.current().equals(tar.v2)).toBe(true);
    const counted = await served(r2.rolloutId);
    expect(second.bytesFetched).toBe(counted.served);
    expect(counted.served).toBeLessThanOrEqual(0.15 * tar.v2.length);
    expect(counted.served).toBeGreaterThanOrEqual(tar.changedBytes);
    expect(second.bytesReused).toBe(counted.saved);
    expect(second.bytesReused! + tar.changedBytes).toBeLessThanOrEqual(tar.v2.length);
    expect(second.bytesReused).toBeGreaterThan(0.8 * tar.v2.length);
    // Ranged requests only, several ranges per request where there were several.
    expect(proxy.ranges.length).toBeGreaterThan(0);
    expect(proxy.ranges.every((r) => r?.startsWith('bytes='))).toBe(true);
    // The chunk index of what runs now is cached for the next update.
    expect(fs.readdirSync(path.join(d.dir, '.chunks')).some((f) => f.startsWith(v2.sha256!))).toBe(true);
    const status = (await t.request('GET', `/api/v1/rollouts/${r2.rolloutId}`)).json() as { progress: { bytesFetched: number; bytesReused: number } };
    expect(status.progress).toMatchObject({ bytesFetched: second.bytesFetched, bytesReused: second.bytesReused });
  });

  it('catches a corrupted chunk, falls back to a full download and installs the right file', async () => {
    const d = await device('delta-b');
    const v1 = await upload(tar.v1, '1-b');
    await rollout(v1.id, 'delta-b');
    await d.agent.round();
    const v2 = await upload(tar.v2, '2-b');
    const r2 = await rollout(v2.id, 'delta-b');
    // One byte of the first ranged answer is flipped on the way.
    proxy.corruptNext((range) => range !== null, 64);
    proxy.ranges.length = 0;
    for (let i = 0; i < 3 && (await execution(r2.rolloutId)).state !== 'succeeded'; i++) await d.agent.round();
    const done = await execution(r2.rolloutId);
    expect(done.state).toBe('succeeded');
    expect(d.current().equals(tar.v2)).toBe(true);
    // The fallback fetched the whole file (after the delta's ranges): nothing reused.
    expect(done.bytesReused).toBe(0);
    expect(done.bytesFetched).toBeGreaterThan(tar.v2.length);
    expect(proxy.ranges.at(-1)).toBeNull();
    expect(done.bytesFetched).toBe((await served(r2.rolloutId)).served);
  });

  it('resumes a delta whose connection was cut, fetching the cut batch again', async () => {
    const d = await device('delta-c');
    const v1 = await upload(tar.v1, '1-c');
    await rollout(v1.id, 'delta-c');
    await d.agent.round();
    const v2 = await upload(tar.v2, '2-c');
    const r2 = await rollout(v2.id, 'delta-c');
    proxy.ranges.length = 0;
    proxy.cutNextAfter(50_000);
    await d.agent.round();
    expect(d.agent.stats.applyErrors).toBe(1);
    expect(d.agent.current.job?.transfer).toMatchObject({ mode: 'delta', next: 0 });
    await d.agent.round();
    const done = await execution(r2.rolloutId);
    expect(done.state).toBe('succeeded');
    expect(d.current().equals(tar.v2)).toBe(true);
    expect(proxy.ranges[1]).toBe(proxy.ranges[0]);
    expect(done.bytesReused).toBeGreaterThan(0);
  });

  it('downloads whole when too little is shared, or the index is not signed by the trusted key', async () => {
    const d = await device('delta-d');
    const v1 = await upload(tar.v1, '1-d');
    await rollout(v1.id, 'delta-d');
    await d.agent.round();
    const unrelated = generatedBytes('unrelated', SIZE);
    const v2 = await upload(unrelated, '2-d');
    const r2 = await rollout(v2.id, 'delta-d');
    await d.agent.round();
    expect(await execution(r2.rolloutId)).toMatchObject({ state: 'succeeded', bytesReused: 0 });
    expect(d.current().equals(unrelated)).toBe(true);

    const v3 = await upload(tar.v2, '3-d', false);
    const r3 = await rollout(v3.id, 'delta-d');
    proxy.ranges.length = 0;
    await d.agent.round();
    const third = await execution(r3.rolloutId);
    expect(third).toMatchObject({ state: 'succeeded', bytesReused: 0, bytesFetched: tar.v2.length });
    expect(proxy.ranges).toEqual([null]);
  });
});
