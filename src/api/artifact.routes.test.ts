import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, signArtifact } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const octet = { 'content-type': 'application/octet-stream' };

describe('artifact API', () => {
  let t: TestApp;
  const keys = generateSigningKeyPair();
  beforeAll(async () => {
    t = await startTestApp({ config: { artifactMaxBytes: 1000 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('uploads a raw body, deduplicates a repeat, lists, gets and downloads with Range', async () => {
    const data = Buffer.from('0123456789abcdef');
    const created = await t.request('POST', '/api/v1/artifacts?name=fw&version=1.0.0', { headers: octet, raw: data, token: t.tokens.operator });
    expect(created.status).toBe(201);
    const artifact = created.json() as { id: string; sha256: string; size: number };
    expect(artifact).toMatchObject({ sha256: sha(data), size: 16, kind: 'file' });
    expect(created.text).not.toContain('storageKey');

    const repeat = await t.request('POST', '/api/v1/artifacts', { headers: { ...octet, 'x-artifact-name': 'fw', 'x-artifact-version': '1.0.0' }, raw: data });
    expect(repeat.status).toBe(200);
    expect((repeat.json() as { id: string }).id).toBe(artifact.id);

    const list = await t.request('GET', '/api/v1/artifacts', { token: t.tokens.viewer });
    expect(list.json()).toMatchObject({ total: 1, items: [{ id: artifact.id }], nextCursor: null });
    expect((await t.request('GET', `/api/v1/artifacts/${artifact.id}`)).json()).toMatchObject({ name: 'fw' });

    const whole = await t.request('GET', `/api/v1/artifacts/${artifact.id}/content`);
    expect(whole.status).toBe(200);
    expect(whole.text).toBe(data.toString());
    const part = await t.request('GET', `/api/v1/artifacts/${artifact.id}/content`, { headers: { range: 'bytes=4-7' } });
    expect(part.status).toBe(206);
    expect(part.text).toBe('4567');
    expect(part.headers.get('content-range')).toBe('bytes 4-7/16');
    const tail = await t.request('GET', `/api/v1/artifacts/${artifact.id}/content`, { headers: { range: 'bytes=-3' } });
    expect(tail.text).toBe('def');
    const bad = await t.request('GET', `/api/v1/artifacts/${artifact.id}/content`, { headers: { range: 'bytes=99-' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe('bytes */16');
  });

  it('answers 409 for other bytes under the same version, 413 over the limit, 400 for bad input', async () => {
    expect((await t.request('POST', '/api/v1/artifacts?name=fw&version=1.0.0', { headers: octet, raw: 'other' })).status).toBe(409);
    const big = await t.request('POST', '/api/v1/artifacts?name=fw&version=2', { headers: octet, raw: Buffer.alloc(2000) });
    expect(big.status).toBe(413);
    expect(big.text).toMatch(/limit of 1000 bytes/);
    const noName = await t.request('POST', '/api/v1/artifacts?version=2', { headers: octet, raw: 'x' });
    expect(noName.status).toBe(400);
    expect(noName.text).toMatch(/name is required/);
    expect((await t.request('POST', '/api/v1/artifacts?name=../x&version=2', { headers: octet, raw: 'x' })).status).toBe(400);
    expect((await t.request('POST', '/api/v1/artifacts?name=x&version=2', { headers: { 'content-type': 'text/plain' }, raw: 'x' })).status).toBeGreaterThanOrEqual(400);
    expect((await t.request('POST', '/api/v1/artifacts?name=x&version=2', { headers: octet, raw: 'x', token: t.tokens.viewer })).status).toBe(403);
  });

  it('accepts a signature with the signer key and refuses it replayed under another version', async () => {
    const data = 'signed bytes';
    const signature = signArtifact({ name: 'fw', version: '3.0.0', sha256: sha(data) }, keys.privateKeyPem);
    const headers = { ...octet, 'x-artifact-signature': signature, 'x-artifact-public-key': Buffer.from(keys.publicKeyPem).toString('base64') };
    const ok = await t.request('POST', '/api/v1/artifacts?name=fw&version=3.0.0', { headers, raw: data });
    expect(ok.status).toBe(201);
    expect((ok.json() as { signature: string }).signature).toBe(signature);
    const replay = await t.request('POST', '/api/v1/artifacts?name=fw&version=3.0.1', { headers, raw: data });
    expect(replay.status).toBe(400);
    expect(replay.text).toMatch(/signature does not match/);
  });

  it('records image references from JSON and validates them', async () => {
    const created = await t.request('POST', '/api/v1/artifacts', { body: { name: 'kiosk', version: '2.0', imageRef: 'registry.local:5000/acme/kiosk:2.0' } });
    expect(created.status).toBe(201);
    const image = created.json() as { id: string; kind: string; size: number };
    expect(image).toMatchObject({ kind: 'image', size: 0 });
    expect((await t.request('GET', `/api/v1/artifacts/${image.id}/content`)).status).toBe(400);
    const bad = await t.request('POST', '/api/v1/artifacts', { body: { name: 'kiosk', version: '2.1', imageRef: 'no tag' } });
    expect(bad.status).toBe(400);
    expect((await t.request('POST', '/api/v1/artifacts', { body: { name: 'kiosk', version: '2.1', imageRef: 'a/b:1', extra: 1 } })).status).toBe(400);
  });

  it('deletes, then 404s', async () => {
    const created = await t.request('POST', '/api/v1/artifacts?name=tmp&version=1', { headers: octet, raw: 'gone soon' });
    const { id } = created.json() as { id: string };
    expect((await t.request('DELETE', `/api/v1/artifacts/${id}`, { token: t.tokens.operator })).status).toBe(204);
    expect((await t.request('GET', `/api/v1/artifacts/${id}`)).status).toBe(404);
    expect((await t.request('DELETE', `/api/v1/artifacts/${id}`)).status).toBe(404);
  });
});
