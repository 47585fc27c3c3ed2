// Attacker-side tests of the delta surface, over real HTTP on SQLite and PostgreSQL: the chunk
// index route is authorized exactly like the artifact download (the targeted device, an operator,
// or a signed link for that artifact, unexpired), multi-range requests cannot be turned into a
// denial of service, and the new upload and report fields are bounded.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../core/index.js';
import { DownloadSigner } from '../pull/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { addPullDevice, ManualTargets, uploadArtifact } from '../testing/pull.js';

for (const db of ['sqlite', 'postgres'] as const) {
  describe.skipIf(db === 'postgres' && (await postgresUnavailable()) !== null)(`chunk index and ranges, attacker side (${db})`, () => {
    let t: TestApp;
    const targets = new ManualTargets();
    let targeted: string;
    let bystander: string;
    let artifact: Artifact;
    let other: Artifact;
    const indexPath = (a: Artifact) => `/api/v1/device/artifacts/${a.id}/index`;
    beforeAll(async () => {
      t = await startTestApp({ db, app: { deviceSync: targets } });
      targeted = await addPullDevice(t.app, 'sec-ix-1');
      bystander = await addPullDevice(t.app, 'sec-ix-2');
      artifact = await uploadArtifact(t.app, randomBytes(300_000), { name: 'sec', version: '1' });
      other = await uploadArtifact(t.app, randomBytes(300_000), { name: 'sec', version: '2' });
      targets.target('sec-ix-1', artifact);
    });
    afterAll(async () => t.close());

    it('refuses the index without a token, with a bad token, and to a device not targeted with it', async () => {
      expect((await t.request('GET', indexPath(artifact), { token: null })).status).toBe(401);
      expect((await t.request('GET', indexPath(artifact), { token: 'uo_dev_forged' })).status).toBe(401);
      const notTargeted = await t.request('GET', indexPath(artifact), { token: bystander });
      expect(notTargeted.status).toBe(403);
      expect(notTargeted.json()).toMatchObject({ error: { code: 'forbidden' } });
      // The targeted device, for its artifact only.
      expect((await t.request('GET', indexPath(artifact), { token: targeted })).status).toBe(200);
      expect((await t.request('GET', indexPath(other), { token: targeted })).status).toBe(403);
      // A device token never reads the operator API's artifacts.
      expect((await t.request('GET', `/api/v1/artifacts/${artifact.id}`, { token: targeted })).status).toBe(403);
    });

    it('takes a signed link only for its own artifact, unexpired and unforged', async () => {
      const { indexUrl } = (await t.request('POST', `/api/v1/device/artifacts/${artifact.id}/signed-url`, { token: targeted })).json() as { indexUrl: string };
      expect((await t.request('GET', indexUrl, { token: null })).status).toBe(200);
      expect((await t.request('GET', indexUrl.replace(artifact.id, other.id), { token: null })).status).toBe(403);
      expect((await t.request('GET', indexUrl.replace(/sig=[^&]+/, 'sig=' + 'A'.repeat(43)), { token: null })).status).toBe(403);
      expect((await t.request('GET', indexUrl.replace(/device=[^&]+/, 'device=sec-ix-2'), { token: null })).status).toBe(403);
      const expired = DownloadSigner.fromDataDir(t.dataDir).sign(artifact.id, 'sec-ix-1', Date.now() - 3_600_000);
      expect((await t.request('GET', `${indexPath(artifact)}?${expired}`, { token: null })).status).toBe(403);
      // A bystander cannot mint a link for an artifact it is not targeted with.
      expect((await t.request('POST', `/api/v1/device/artifacts/${artifact.id}/signed-url`, { token: bystander })).status).toBe(403);
    });

    it('bounds multi-range requests: too many ranges are refused with 416, overlapping ones merged', async () => {
      const download = `/api/v1/device/artifacts/${artifact.id}`;
      const many = 'bytes=' + Array.from({ length: 300 }, (_, i) => `${i * 100}-${i * 100 + 10}`).join(',');
      const refused = await t.request('GET', download, { token: targeted, headers: { range: many } });
      expect(refused.status).toBe(416);
      expect(refused.json()).toMatchObject({ error: { code: 'too_many_ranges' } });
      // Past Node's header limit the request never reaches a route.
      const huge = 'bytes=' + Array.from({ length: 5000 }, (_, i) => `${i * 100}-${i * 100 + 10}`).join(',');
      expect((await t.request('GET', download, { token: targeted, headers: { range: huge } })).status).toBe(431);
      // Overlapping ranges are merged, not served twice over.
      const overlapping = 'bytes=' + Array.from({ length: 200 }, () => '0-299999').join(',');
      const merged = await t.request('GET', download, { token: targeted, headers: { range: overlapping } });
      expect(merged.status).toBe(206);
      expect(Number(merged.headers.get('content-length'))).toBe(300_000);
      // Nothing of this reaches an unauthenticated caller.
      expect((await t.request('GET', download, { token: null, headers: { range: 'bytes=0-1,5-6' } })).status).toBe(401);
    });

    it('bounds the new upload and report fields', async () => {
      const upload = (query: string) => t.request('POST', `/api/v1/artifacts?name=sec&version=9&${query}`, { token: t.tokens.operator, headers: { 'content-type': 'application/octet-stream' }, raw: 'x' });
      expect((await upload('chunkAvg=1000')).status).toBe(400);
      expect((await upload('indexSha256=nothex')).status).toBe(400);
      expect((await upload(`indexSignature=${'A'.repeat(300)}`)).status).toBe(400);
      // An index signature without the artifact's signature is refused, nothing stored.
      expect((await upload(`indexSignature=${'A'.repeat(88)}`)).status).toBe(400);
      expect((await t.request('GET', '/api/v1/artifacts?name=sec')).json()).toMatchObject({ total: 2 });
      // Viewers cannot upload at all.
      expect((await t.request('POST', '/api/v1/artifacts?name=sec&version=10', { token: t.tokens.viewer, headers: { 'content-type': 'application/octet-stream' }, raw: 'x' })).status).toBe(403);
      const execution = targets.execution('sec-ix-1')!;
      for (const bad of [{ bytesFetched: -1 }, { bytesReused: 1e300 }, { bytesFetched: 'many' }]) {
        const report = await t.request('PATCH', '/api/v1/device/state', { token: targeted, body: { execution: { id: execution.id, state: 'downloading', ...bad } } });
        expect(report.status).toBe(400);
      }
    });
  });
}
