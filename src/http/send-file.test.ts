// sendFile on its own Fastify instance: whole file, ranges, If-Range, If-None-Match, HEAD, and the
// bytes it counts and paces.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_RANGES_PER_REQUEST } from './byte-ranges.js';
import { sendFile } from './send-file.js';

const ETAG = '"abc123"';
const bytes = randomBytes(1000);

describe('sendFile', () => {
  let app: FastifyInstance;
  let dir: string;
  let counted = 0;
  let paced = 0;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'send-file-'));
    const file = path.join(dir, 'blob');
    fs.writeFileSync(file, bytes);
    app = Fastify();
    app.get('/plain', (request, reply) => sendFile(request, reply, file, { etag: ETAG }));
    app.get('/named', (request, reply) =>
      sendFile(request, reply, file, {
        etag: ETAG,
        contentType: 'application/x-fw',
        attachmentName: 'fw-1.0',
        onBytes: (n) => void (counted += n),
        pace: (n) => {
          paced += n;
          return 0;
        },
      }),
    );
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    counted = 0;
    paced = 0;
  });

  const get = (url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => app.inject({ method, url, headers });

  it('sends the whole file with its ETag, Accept-Ranges, type and length, counting and pacing every byte', async () => {
    const r = await get('/named');
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(bytes)).toBe(true);
    expect(r.headers).toMatchObject({ etag: ETAG, 'accept-ranges': 'bytes', 'content-length': '1000', 'content-disposition': 'attachment; filename="fw-1.0"' });
    expect(r.headers['content-type']).toMatch(/^application\/x-fw/);
    expect(counted).toBe(1000);
    expect(paced).toBe(1000);
    const plain = await get('/plain');
    expect(plain.headers['content-type']).toBe('application/octet-stream');
    expect(plain.headers['content-disposition']).toBeUndefined();
  });

  it('answers one range 206 with Content-Range and only those bytes', async () => {
    const r = await get('/named', { range: 'bytes=100-199' });
    expect(r.statusCode).toBe(206);
    expect(r.headers).toMatchObject({ 'content-range': 'bytes 100-199/1000', 'content-length': '100', etag: ETAG });
    expect(r.rawPayload.equals(bytes.subarray(100, 200))).toBe(true);
    expect(counted).toBe(100);
    const suffix = await get('/plain', { range: 'bytes=-10' });
    expect(suffix.headers['content-range']).toBe('bytes 990-999/1000');
    expect(suffix.rawPayload.equals(bytes.subarray(990))).toBe(true);
  });

  it('answers several ranges as multipart/byteranges whose length is what it writes', async () => {
    const r = await get('/named', { range: 'bytes=0-9,500-509' });
    expect(r.statusCode).toBe(206);
    const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(String(r.headers['content-type']))?.[1];
    expect(boundary).toBeDefined();
    expect(Number(r.headers['content-length'])).toBe(r.rawPayload.length);
    expect(counted).toBe(r.rawPayload.length);
    const text = r.rawPayload.toString('latin1');
    expect(text).toContain(`--${boundary}\r\ncontent-type: application/x-fw\r\ncontent-range: bytes 0-9/1000\r\n\r\n${bytes.subarray(0, 10).toString('latin1')}`);
    expect(text).toContain(`content-range: bytes 500-509/1000\r\n\r\n${bytes.subarray(500, 510).toString('latin1')}\r\n--${boundary}--\r\n`);
  });

  it('answers 416 with bytes */size for an unsatisfiable range, and for too many ranges with the error shape', async () => {
    const r = await get('/named', { range: 'bytes=1000-' });
    expect(r.statusCode).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */1000');
    expect(r.rawPayload.length).toBe(0);
    expect(counted).toBe(0);
    const many = 'bytes=' + Array.from({ length: MAX_RANGES_PER_REQUEST + 1 }, (_, i) => `${i * 3}-${i * 3}`).join(',');
    const refused = await get('/plain', { range: many });
    expect(refused.statusCode).toBe(416);
    expect(refused.json()).toMatchObject({ error: { code: 'too_many_ranges', details: [] } });
  });

  it('ignores a malformed Range and sends the whole file', async () => {
    const r = await get('/plain', { range: 'items=0-1' });
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.length).toBe(1000);
  });

  it('honours a range under a matching If-Range, and sends the whole file when it does not match', async () => {
    const match = await get('/plain', { range: 'bytes=0-4', 'if-range': ETAG });
    expect(match.statusCode).toBe(206);
    expect(match.rawPayload.equals(bytes.subarray(0, 5))).toBe(true);
    for (const other of ['"other"', `W/${ETAG}`, 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      const mismatch = await get('/plain', { range: 'bytes=0-4', 'if-range': other });
      expect(mismatch.statusCode, other).toBe(200);
      expect(mismatch.rawPayload.equals(bytes)).toBe(true);
      expect(mismatch.headers['content-range']).toBeUndefined();
    }
    // An unsatisfiable range behind a stale If-Range is not asked for: the whole file comes back.
    expect((await get('/plain', { range: 'bytes=5000-', 'if-range': '"other"' })).statusCode).toBe(200);
  });

  it('answers 304 with no body when If-None-Match names the ETag, before looking at Range', async () => {
    for (const inm of [ETAG, `W/${ETAG}`, `"x", ${ETAG}`, '*']) {
      const r = await get('/named', { 'if-none-match': inm, range: 'bytes=0-4' });
      expect(r.statusCode, inm).toBe(304);
      expect(r.rawPayload.length).toBe(0);
      expect(r.headers.etag).toBe(ETAG);
    }
    expect(counted).toBe(0);
    expect((await get('/named', { 'if-none-match': '"other"' })).statusCode).toBe(200);
  });

  it('answers HEAD with the headers of the GET, no body, and no file opened, counted or paced', async () => {
    // Fastify's HEAD route reads a body stream through to drop it: the file must not be opened at all.
    const opened = vi.spyOn(fs, 'createReadStream');
    const whole = await get('/named', {}, 'HEAD');
    expect(whole.statusCode).toBe(200);
    expect(whole.headers).toMatchObject({ 'content-length': '1000', etag: ETAG, 'accept-ranges': 'bytes' });
    expect(whole.rawPayload.length).toBe(0);
    const part = await get('/named', { range: 'bytes=10-19' }, 'HEAD');
    expect(part.statusCode).toBe(206);
    expect(part.headers).toMatchObject({ 'content-length': '10', 'content-range': 'bytes 10-19/1000' });
    expect(part.rawPayload.length).toBe(0);
    expect((await get('/named', { range: 'bytes=0-1,5-6' }, 'HEAD')).rawPayload.length).toBe(0);
    expect(opened).not.toHaveBeenCalled();
    expect(counted).toBe(0);
    expect(paced).toBe(0);
    opened.mockRestore();
    await get('/named');
    expect(counted).toBe(1000);
  });
});
