// The push receiver's delta protocol spoken by hand (OPTIONS, chunk query, ranges), a corrupted
// range refused before anything is installed, and the HTTP transport pushing whole when a delta
// falls through (a lost session).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeChunkIndex, indexBytes, rangeBytes, type ByteRange } from '../core/index.js';
import { HttpTransport } from '../delivery/http/http.transport.js';
import { makeDevice } from '../testing/delivery.js';
import { deltaCase } from '../testing/delta-fixtures.js';
import { Receiver } from './receiver.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tar = deltaCase('tar-one-file', 4 * 1024 * 1024);

describe('push receiver deltas', () => {
  let dir: string;
  let url: string;
  let server: http.Server;
  /** Rewrites X-Chunk-Session to one the receiver never gave out, while set. */
  let loseSessions = false;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-recv-delta-'));
    const receiver = new Receiver({ dir });
    server = http.createServer((req, res) => {
      if (loseSessions && req.headers['x-chunk-session']) req.headers['x-chunk-session'] = 'lost';
      receiver.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // Release 1 is installed the ordinary way.
    const first = await fetch(url, { method: 'POST', headers: { 'x-artifact-name': 'fw', 'x-artifact-version': '1', 'x-artifact-sha256': sha(tar.v1) }, body: new Uint8Array(tar.v1) });
    expect(first.status).toBe(201);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const headers = (version: string, bytes: Buffer) => ({ 'x-artifact-name': 'fw', 'x-artifact-version': version, 'x-artifact-sha256': sha(bytes) });
  const query = async (version: string, bytes: Buffer) => {
    const response = await fetch(url, { method: 'POST', headers: { ...headers(version, bytes), 'x-chunk-query': '1', 'content-encoding': 'gzip', 'x-artifact-size': String(bytes.length) }, body: new Uint8Array(gzipSync(encodeChunkIndex(indexBytes(bytes)))) });
    expect(response.status).toBe(200);
    return (await response.json()) as { mode: string; session: string; missing: ByteRange[]; reusedBytes: number; missingBytes: number };
  };
  const ranges = (bytes: Buffer, missing: ByteRange[]) => Buffer.concat(missing.map(([o, l]) => bytes.subarray(o, o + l)));

  it('says it takes deltas, and answers only the ranges it lacks', async () => {
    const options = await fetch(url, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('x-update-deltas')).toBe('uo-chunks/1');
    const answer = await query('2', tar.v2);
    expect(answer.mode).toBe('delta');
    expect(answer.missingBytes).toBe(rangeBytes(answer.missing));
    expect(answer.missingBytes).toBeLessThan(0.25 * tar.v2.length);
    expect(answer.reusedBytes + answer.missingBytes).toBe(tar.v2.length);
    const data = await fetch(url, { method: 'POST', headers: { ...headers('2', tar.v2), 'x-chunk-session': answer.session }, body: new Uint8Array(ranges(tar.v2, answer.missing)) });
    expect(data.status).toBe(201);
    expect(await data.json()).toMatchObject({ status: 'installed', bytes: answer.missingBytes, reusedBytes: answer.reusedBytes });
    expect(fs.readFileSync(path.join(dir, 'current')).equals(tar.v2)).toBe(true);
  });

  it('refuses a corrupted range and installs nothing', async () => {
    const v3 = Buffer.from(tar.v2);
    v3.write('release three', 100_000);
    const answer = await query('3', v3);
    const body = ranges(v3, answer.missing);
    body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
    const data = await fetch(url, { method: 'POST', headers: { ...headers('3', v3), 'x-chunk-session': answer.session }, body: new Uint8Array(body) });
    expect(data.status).toBe(422);
    expect(await data.json()).toMatchObject({ error: { code: 'chunk_mismatch' } });
    expect(fs.existsSync(path.join(dir, 'fw-3'))).toBe(false);
    // The session is gone with the failure.
    const again = await fetch(url, { method: 'POST', headers: { ...headers('3', v3), 'x-chunk-session': answer.session }, body: new Uint8Array(ranges(v3, answer.missing)) });
    expect(again.status).toBe(404);
  });

  it('the HTTP transport pushes whole when the delta falls through', async () => {
    const file = path.join(dir, '..', `uo-recv-delta-${process.pid}.bin`);
    const v4 = Buffer.from(tar.v2);
    v4.write('release four', 2_000_000);
    fs.writeFileSync(file, v4);
    const indexFile = `${file}.cidx.gz`;
    fs.writeFileSync(indexFile, gzipSync(encodeChunkIndex(indexBytes(v4))));
    const transport = new HttpTransport();
    loseSessions = true;
    try {
      const artifact = { id: 'a4', name: 'fw', version: '4', kind: 'file' as const, sha256: sha(v4), size: v4.length, contentType: 'application/octet-stream', signature: null, imageRef: null, metadata: {}, chunkIndex: null, createdAt: new Date().toISOString() };
      const result = await transport.deliver({ updateId: 'u4', device: makeDevice('d4', 'http', url), artifact, filePath: file, chunkIndex: { file: indexFile, sha256: 'unused', signature: null } });
      expect(result).toMatchObject({ outcome: 'delivered', bytesReused: 0 });
      expect(result.bytesSent).toBeGreaterThan(v4.length);
      expect(fs.readFileSync(path.join(dir, 'current')).equals(v4)).toBe(true);
    } finally {
      loseSessions = false;
      await transport.close();
      fs.rmSync(file, { force: true });
      fs.rmSync(indexFile, { force: true });
    }
  });
});
