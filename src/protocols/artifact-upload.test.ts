// .swu and .mender bundles through the real upload path (HTTP API, blob store, artifact service).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { buildCpio } from './hawkbit/swu.fixtures.js';
import { buildMenderArtifact } from './mender/mender.fixtures.js';

describe('uploading update bundles', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  const upload = (name: string, version: string, bytes: Buffer) =>
    t.request('POST', `/api/v1/artifacts?name=${name}&version=${version}`, { raw: bytes, headers: { 'content-type': 'application/octet-stream' } });

  it('stores a .mender artifact with its name and device types', async () => {
    const response = await upload('app', '2.0', buildMenderArtifact({ name: 'app-2.0', deviceTypes: ['pos-a'], files: [['app.bin', 'v2']] }));
    expect(response.status).toBe(201);
    expect((response.json() as { metadata: unknown }).metadata).toMatchObject({ format: 'mender', mender: { artifactName: 'app-2.0', deviceTypes: ['pos-a'] } });
  });

  it('stores a .swu with its version', async () => {
    const sha = createHash('sha256').update('fw').digest('hex');
    const response = await upload('fw', '3.0', buildCpio([['sw-description', `software = { version = "3.0"; files: ( { filename = "fw"; path = "/tmp/x"; sha256 = "${sha}"; } ); }`], ['fw', 'fw']]));
    expect(response.status).toBe(201);
    expect((response.json() as { metadata: unknown }).metadata).toMatchObject({ format: 'swu', swu: { version: '3.0' } });
  });

  it('refuses a malformed bundle with a 400 that says what is wrong, and stores nothing', async () => {
    const response = await upload('fw', '4.0', buildCpio([['sw-description', 'software = { version = "4.0"; files: ( { filename = "missing.bin"; } ); }']]));
    expect(response.status).toBe(400);
    expect((response.json() as { error: { message: string } }).error.message).toMatch(/sw-description names 'missing.bin' but the archive does not contain it/);
    const list = (await t.request('GET', '/api/v1/artifacts?name=fw')).json() as { items: Array<{ version: string }> };
    expect(list.items.map((a) => a.version)).toEqual(['3.0']);
  });
});
