// Bounded imports (issue 12 item 6) from the attacker's side, over real HTTP on SQLite and
// PostgreSQL: an operator streams a device import whose one row never ends, a 64+ MiB NDJSON line
// or a 64+ MiB unterminated quoted CSV cell (spanning many physical lines), and keeps sending after
// the answer. The server answers 400 naming the row's line as soon as the row passes
// ORCHESTRATOR_IMPORT_MAX_ROW_BYTES, commits none of the rows before it, discards the rest and
// closes the connection, keeps its heap far below the upload's size, and answers /healthz during
// and after; the next, valid import works.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';

const MiB = 1024 * 1024;
/** What the attacker offers: far more than any row limit, streamed from one reused buffer. */
const OFFERED = 64 * MiB + 1;

interface Upload {
  status: number;
  connection: string | undefined;
  body: string;
  /** Bytes the client had sent when the answer came. */
  sentAtAnswer: number;
  /** Bytes it sent in all before the connection closed (the server discards what follows its answer). */
  sent: number;
  /** Largest heapUsed growth over the baseline seen while the upload ran. */
  heapGrowth: number;
  /** /healthz answers while the upload was in flight (before the server's answer). */
  healthDuring: number[];
}

/**
 * POSTs `head`, then `filler` over and over up to OFFERED bytes, writing only when the socket
 * drains (nothing is allocated per chunk). Goes on writing after the answer, like a client that
 * does not read it, until the offer is sent or the server closes the connection; answers once the
 * socket is closed.
 */
function streamUpload(t: TestApp, contentType: string, head: string, filler: Buffer): Promise<Upload> {
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().heapUsed;
  const url = new URL('/api/v1/devices/import', t.url);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let heapGrowth = 0;
    const healthDuring: number[] = [];
    let healthAsked = false;
    let sentAtAnswer = -1;
    let answer: Omit<Upload, 'sent' | 'sentAtAnswer' | 'heapGrowth' | 'healthDuring'> | null = null;
    const request = http.request(url, { method: 'POST', agent: false, headers: { authorization: `Bearer ${t.tokens.operator}`, 'content-type': contentType, 'transfer-encoding': 'chunked' } });
    request.on('response', (response) => {
      sentAtAnswer = sent;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => (answer = { status: response.statusCode!, connection: response.headers.connection, body }));
      response.on('error', () => {});
    });
    // After the answer the server closes the connection: writes then fail (EPIPE, ECONNRESET).
    request.on('error', () => {});
    request.on('close', () => {
      if (!answer) reject(new Error(`the connection closed without an answer after ${sent} bytes`));
      else resolve({ ...answer, sent, sentAtAnswer, heapGrowth, healthDuring });
    });
    const pump = () => {
      while (sent < OFFERED && !request.destroyed) {
        heapGrowth = Math.max(heapGrowth, process.memoryUsage().heapUsed - baseline);
        if (!healthAsked && sent > MiB / 2) {
          // The upload is in flight: the server must keep answering everything else.
          healthAsked = true;
          void fetch(new URL('/healthz', t.url)).then((r) => healthDuring.push(r.status), () => healthDuring.push(0));
        }
        const piece = sent + filler.length > OFFERED ? filler.subarray(0, OFFERED - sent) : filler;
        sent += piece.length;
        if (!request.write(piece)) {
          request.once('drain', pump);
          return;
        }
      }
      if (!request.destroyed) request.end();
    };
    request.write(head);
    sent = Buffer.byteLength(head);
    pump();
  });
}

/** Text for the filler: long lines of letters, so a quoted cell spans many physical lines. */
const filler = (lineBreaks: boolean) => {
  const buffer = Buffer.alloc(64 * 1024, 'a');
  if (lineBreaks) for (let i = 199; i < buffer.length; i += 200) buffer[i] = 0x0a;
  return buffer;
};

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`bounded imports (${db})`, () => {
    let t: TestApp;
    let skip: string | null = null;
    beforeAll(async () => {
      skip = db === 'postgres' ? await postgresUnavailable() : null;
      if (!skip) t = await startTestApp({ db });
    });
    afterAll(async () => t?.close());

    const total = async () => ((await t.request('GET', '/api/v1/devices/count')).json() as { total: number }).total;

    async function expectRefused(upload: Upload, line: number) {
      expect(upload.status).toBe(400);
      const { error } = JSON.parse(upload.body) as { error: { code: string; message: string; details: { path: string; message: string }[] } };
      expect(error.code).toBe('validation_failed');
      expect(error.message).toBe(`the row at line ${line} is longer than 1 MiB (ORCHESTRATOR_IMPORT_MAX_ROW_BYTES); nothing was imported`);
      expect(error.details).toEqual([{ path: `line ${line}`, message: `is longer than ${MiB} bytes` }]);
      // Answered as soon as the row passed the limit, not at the end of the upload; the connection
      // closed after it (the client went on sending: the server discarded that).
      expect(upload.connection).toBe('close');
      expect(upload.sentAtAnswer).toBeGreaterThan(MiB);
      expect(upload.sentAtAnswer).toBeLessThan(OFFERED / 4);
      // Memory: a few rows' worth (the CSV parser copies the row it is reading once per chunk, garbage
      // until collected), not the upload: readline and papaparse held all of it.
      expect(upload.heapGrowth).toBeLessThan(OFFERED / 2);
      expect(upload.healthDuring).toEqual([200]);
      expect((await t.request('GET', '/healthz', { token: null })).status).toBe(200);
    }

    it('refuses a 64 MiB NDJSON line with 400 naming it, committing nothing of the rows before it', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const before = await total();
      const head = ['{"id":"nd-1"}', '{"id":"nd-2"}', '', '{"id":"nd-3","name":"'].join('\n');
      const upload = await streamUpload(t, 'application/x-ndjson', head, filler(false));
      await expectRefused(upload, 4);
      expect(await total()).toBe(before);
      expect((await t.request('GET', '/api/v1/devices/nd-1')).status).toBe(404);
    });

    it('refuses a 64 MiB unterminated quoted CSV cell over many lines with 400 naming the line it opens on', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const before = await total();
      const head = 'id,name,location\r\ncsv-1,one,\r\ncsv-2,two,\r\ncsv-3,"three';
      const upload = await streamUpload(t, 'text/csv', head, filler(true));
      await expectRefused(upload, 4);
      expect(await total()).toBe(before);
      expect((await t.request('GET', '/api/v1/devices/csv-1')).status).toBe(404);
    });

    it('closes its side after the answer and discards what a raw client goes on sending, without resetting the connection', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const url = new URL(t.url);
      // Half-open allowed: the client goes on writing after the server has ended its side.
      const socket = net.connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      let answer = '';
      let serverEnded = false;
      let resetOrError: Error | null = null;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('end', () => (serverEnded = true));
      socket.on('error', (error) => (resetOrError = error));
      socket.write(`POST /api/v1/devices/import HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${t.tokens.operator}\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${OFFERED}\r\n\r\n{"id":"raw-1","name":"`);
      const piece = filler(false);
      (globalThis as { gc?: () => void }).gc?.();
      const baseline = process.memoryUsage().heapUsed;
      let heapGrowth = 0;
      let sent = 0;
      let sentAfterEnd = 0;
      // Keep sending, answer or not: 16 MiB more once the server has ended its side (within its
      // 5 s linger even on a loaded machine), or the whole offer.
      while (sent < OFFERED - piece.length && sentAfterEnd < 16 * MiB && !socket.destroyed) {
        sent += piece.length;
        if (serverEnded) sentAfterEnd += piece.length;
        if (!socket.write(piece)) await new Promise<void>((resolve) => socket.once('drain', () => resolve()).once('close', () => resolve()));
        heapGrowth = Math.max(heapGrowth, process.memoryUsage().heapUsed - baseline);
      }
      socket.end();
      await new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(answer.toLowerCase()).toContain('\r\nconnection: close\r\n');
      expect(answer).toContain('the row at line 1 is longer than 1 MiB');
      // The server ended its side after the answer, then took the rest of the offer and dropped it:
      // no reset, nothing kept (heap far below what it was sent).
      expect(serverEnded).toBe(true);
      expect(resetOrError).toBeNull();
      expect(sentAfterEnd).toBeGreaterThanOrEqual(16 * MiB);
      expect(heapGrowth).toBeLessThan(OFFERED / 2);
      expect((await t.request('GET', '/api/v1/devices/raw-1')).status).toBe(404);
    });

    it('refuses a long row with skipInvalid too, and the next valid imports work', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const long = await t.request('POST', '/api/v1/devices/import?skipInvalid=true', { headers: { 'content-type': 'application/x-ndjson' }, raw: `{"id":"s-1"}\n{"id":"s-2","name":"${'x'.repeat(MiB)}"}\n{"id":"s-3"}\n` });
      expect(long.status).toBe(400);
      expect((long.json() as { error: { message: string } }).error.message).toMatch(/^the row at line 2 is longer than 1 MiB/);
      expect((await t.request('GET', '/api/v1/devices/s-1')).status).toBe(404);

      const csv = await t.request('POST', '/api/v1/devices/import', { headers: { 'content-type': 'text/csv' }, raw: `id,metadata\nok-1,"{""note"":\n""${'y'.repeat(10_000)}""}"\nok-2,\n` });
      expect(csv.status).toBe(200);
      expect(csv.json()).toMatchObject({ rows: 2, created: 2, skipped: 0, invalid: [] });
      const ndjson = await t.request('POST', '/api/v1/devices/import', { headers: { 'content-type': 'application/x-ndjson' }, raw: '{"id":"ok-2","name":"again"}\n{"id":"ok-3"}\n' });
      expect(ndjson.json()).toMatchObject({ rows: 2, created: 1, updated: 1 });
      expect(((await t.request('GET', '/api/v1/devices/ok-2')).json() as { name: string }).name).toBe('again');
    });
  });
}

describe('ORCHESTRATOR_IMPORT_MAX_ROW_BYTES', () => {
  it('is read at start, 1 MiB by default, and a value that is not a whole number of bytes stops the start naming it', () => {
    expect(loadConfig({}, {}).importMaxRowBytes).toBe(MiB);
    expect(loadConfig({}, { ORCHESTRATOR_IMPORT_MAX_ROW_BYTES: '4096' }).importMaxRowBytes).toBe(4096);
    for (const bad of ['0', '1.5', 'lots', '-1']) expect(() => loadConfig({}, { ORCHESTRATOR_IMPORT_MAX_ROW_BYTES: bad }), bad).toThrow(/ORCHESTRATOR_IMPORT_MAX_ROW_BYTES must be/);
  });

  it('sets the limit the import route applies: a row of exactly that many bytes passes, one more is refused', async () => {
    const t = await startTestApp({ config: { importMaxRowBytes: 64 } });
    try {
      const at = `{"id":"edge-1","name":"${'n'.repeat(64 - 25)}"}`;
      expect(Buffer.byteLength(at)).toBe(64);
      const ok = await t.request('POST', '/api/v1/devices/import', { headers: { 'content-type': 'application/x-ndjson' }, raw: `${at}\r\n` });
      expect(ok.json()).toMatchObject({ rows: 1, created: 1 });
      const refused = await t.request('POST', '/api/v1/devices/import', { headers: { 'content-type': 'application/x-ndjson' }, raw: `${at}\n${at.replace('edge-1', 'edge-2').replace('"n', '"nn')}\n` });
      expect(refused.status).toBe(400);
      expect((refused.json() as { error: { message: string } }).error.message).toBe('the row at line 2 is longer than 64 bytes (ORCHESTRATOR_IMPORT_MAX_ROW_BYTES); nothing was imported');
      expect((await t.request('GET', '/api/v1/devices/edge-2')).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
