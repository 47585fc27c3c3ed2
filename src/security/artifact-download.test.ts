// Attacker-side tests of the artifact byte routes' HEAD and conditional requests (http/send-file.ts),
// over real HTTP on SQLite and PostgreSQL: HEAD, If-None-Match (304), Range (206) and If-Range are
// answered only after authorization, so an unauthenticated client, a device not targeted with the
// artifact or a forged signed link learns nothing of the file (no 304, 206 or 416, no ETag, no
// length), and a HEAD counts no served bytes.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { addPullDevice, ManualTargets, uploadArtifact } from '../testing/pull.js';

const CONDITIONAL: Record<string, string>[] = [{}, { 'if-none-match': '*' }, { range: 'bytes=0-0' }, { range: 'bytes=999999-' }, { range: 'bytes=0-0', 'if-range': 'W/"x"' }];

for (const db of ['sqlite', 'postgres'] as const) {
  describe.skipIf(db === 'postgres' && (await postgresUnavailable()) !== null)(`artifact downloads: HEAD and conditional requests, attacker side (${db})`, () => {
    let t: TestApp;
    const targets = new ManualTargets();
    let targeted: string;
    let bystander: string;
    let artifact: Artifact;
    const device = (a: Artifact) => `/api/v1/device/artifacts/${a.id}`;
    beforeAll(async () => {
      t = await startTestApp({ db, app: { deviceSync: targets } });
      targeted = await addPullDevice(t.app, 'sec-dl-1');
      bystander = await addPullDevice(t.app, 'sec-dl-2');
      artifact = await uploadArtifact(t.app, randomBytes(4096), { name: 'sec-dl', version: '1' });
      targets.target('sec-dl-1', artifact);
    });
    afterAll(async () => t.close());

    it('refuses HEAD and conditional downloads without a token, with a forged one, to a bystander and on a forged link', async () => {
      const etag = `"${artifact.sha256}"`;
      for (const method of ['GET', 'HEAD']) {
        for (const headers of [...CONDITIONAL, { 'if-none-match': etag }]) {
          const tries: [string, string | null, number][] = [
            [device(artifact), null, 401],
            [device(artifact), 'uo_dev_forged', 401],
            [device(artifact), bystander, 403],
            [`${device(artifact)}?device=sec-dl-1&expires=${Date.now() + 600_000}&sig=${'A'.repeat(43)}`, null, 403],
            [`/api/v1/artifacts/${artifact.id}/content`, null, 401],
            [`/api/v1/artifacts/${artifact.id}/content`, targeted, 403],
          ];
          for (const [path, token, status] of tries) {
            const answer = await t.request(method, path, { token, headers });
            expect({ method, path, headers, status: answer.status }).toEqual({ method, path, headers, status });
            expect(answer.headers.get('etag')).toBeNull();
            expect(answer.headers.get('content-range')).toBeNull();
          }
        }
      }
    });

    it('answers the targeted device: HEAD with the length and no served bytes, 304 on its ETag, 206 on a range', async () => {
      const before = await servedBytes(t);
      const head = await t.request('HEAD', device(artifact), { token: targeted });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('4096');
      expect(head.text).toBe('');
      expect(await servedBytes(t)).toBe(before);
      expect((await t.request('GET', device(artifact), { token: targeted, headers: { 'if-none-match': `"${artifact.sha256}"` } })).status).toBe(304);
      const part = await t.request('GET', device(artifact), { token: targeted, headers: { range: 'bytes=0-9', 'if-range': `"${artifact.sha256}"` } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe('bytes 0-9/4096');
      expect(await servedBytes(t)).toBe(before + 10);
    });
  });
}

/** The served-bytes counter of the metrics endpoint, summed over its labels. */
async function servedBytes(t: TestApp): Promise<number> {
  const text = (await t.request('GET', '/metrics')).text;
  return text
    .split('\n')
    .filter((line) => /^orchestrator_rollout_bytes_served_total\{[^}]*kind="artifact"[^}]*\}\s/.test(line))
    .reduce((n, line) => n + Number(line.trim().split(/\s+/).pop()), 0);
}
