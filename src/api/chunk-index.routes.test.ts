// The chunk index on the device API: in the target state, served gzip or plain with per-encoding
// ETags and 304s, as a signed URL, and counted per rollout in /metrics.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkIndexDigest, decodeChunkIndex, type TargetState } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { addPullDevice, ManualTargets, uploadArtifact } from '../testing/pull.js';
import { forgetChunkIndexes } from '../testing/raw-sql.js';

describe('chunk index on the device API', () => {
  let t: TestApp;
  const targets = new ManualTargets();
  beforeAll(async () => {
    t = await startTestApp({ app: { deviceSync: targets } });
  });
  afterAll(async () => t.close());

  it('is announced in the target state and served compressed or plain, each with its ETag', async () => {
    const bytes = randomBytes(1 << 20);
    const token = await addPullDevice(t.app, 'ix-1');
    const artifact = await uploadArtifact(t.app, bytes, { name: 'ix', version: '1' });
    targets.target('ix-1', artifact);
    const state = (await t.request('GET', '/api/v1/device/ix-1/state', { token })).json() as TargetState;
    const index = state.update!.index!;
    expect(index).toEqual({ url: `/api/v1/device/artifacts/${artifact.id}/index`, sha256: artifact.chunkIndex!.sha256, signature: null, chunks: artifact.chunkIndex!.chunks, bytes: artifact.chunkIndex!.bytes });

    // undici's fetch asks for gzip and decodes it.
    const gz = await fetch(t.url + index.url, { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' } });
    expect(gz.status).toBe(200);
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('etag')).toBe(`"${index.sha256}.gz"`);
    const decoded = Buffer.from(await gz.arrayBuffer());
    expect(chunkIndexDigest(decoded)).toBe(index.sha256);
    expect(decodeChunkIndex(decoded)).toMatchObject({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });

    const plain = await t.request('GET', index.url, { token, headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('etag')).toBe(`"${index.sha256}"`);
    expect(plain.headers.get('x-chunk-index-sha256')).toBe(index.sha256);

    const cached = await t.request('GET', index.url, { token, headers: { 'accept-encoding': 'gzip', 'if-none-match': `"${index.sha256}.gz"` } });
    expect(cached.status).toBe(304);
  });

  it('works as a signed URL and counts what it serves per rollout', async () => {
    const bytes = randomBytes(200_000);
    const token = await addPullDevice(t.app, 'ix-2');
    const artifact = await uploadArtifact(t.app, bytes, { name: 'ix', version: '2' });
    const execution = targets.target('ix-2', artifact);
    // One line read with a regex: two scrapes in quick succession make prom-client print the event-loop lag as "Nan".
    const served = async (kind: string) => {
      const text = (await t.request('GET', '/metrics', { token: null })).text;
      return Number(new RegExp(`^orchestrator_rollout_bytes_served_total\\{rollout="${execution.rolloutId}",kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    const before = { index: await served('index'), artifact: await served('artifact') };
    const { url, indexUrl } = (await t.request('POST', `/api/v1/device/artifacts/${artifact.id}/signed-url`, { token })).json() as { url: string; indexUrl: string };
    expect(indexUrl).toBe(url.replace('?', '/index?'));
    const viaLink = await fetch(t.url + indexUrl, { headers: { 'accept-encoding': 'identity' } });
    expect(viaLink.status).toBe(200);
    const indexBytes = Buffer.from(await viaLink.arrayBuffer()).length;
    expect((await fetch(t.url + indexUrl.replace(/sig=[^&]+/, 'sig=forged'))).status).toBe(403);
    const ranged = await fetch(`${t.url}${url}`, { headers: { range: 'bytes=0-999,5000-5999' } });
    const rangedBytes = Number(ranged.headers.get('content-length'));
    await ranged.arrayBuffer();
    expect((await served('index')) - before.index).toBe(indexBytes);
    expect((await served('artifact')) - before.artifact).toBe(rangedBytes);
  });

  it('answers 404 no_chunk_index for an artifact without one', async () => {
    const token = await addPullDevice(t.app, 'ix-3');
    const artifact = await uploadArtifact(t.app, randomBytes(1000), { name: 'ix', version: '3' });
    await forgetChunkIndexes(t.app.store, artifact.id);
    targets.target('ix-3', (await t.app.artifacts.get(artifact.id)));
    const state = (await t.request('GET', '/api/v1/device/ix-3/state', { token })).json() as TargetState;
    expect(state.update!.index).toBeNull();
    const answer = await t.request('GET', `/api/v1/device/artifacts/${artifact.id}/index`, { token });
    expect(answer.status).toBe(404);
    expect(answer.json()).toMatchObject({ error: { code: 'no_chunk_index' } });
  });
});
