// Errors raised before any route runs (router, HTTP parser) and refused device reports: the
// fuzz suite found each of these; they are pinned here so `npm test` keeps them fixed.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';

/** Sends raw bytes and answers the raw response (the server closes the connection after it). */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

const errorOf = (text: string) => (JSON.parse(text) as { error: { code: string; message: string; details: unknown[] } }).error;

describe('errors outside the routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  test('a broken %-escape in the path is a 400 in the error shape', async () => {
    const response = await t.request('GET', '/api/v1/devices/%zz');
    expect(response.status).toBe(400);
    expect(errorOf(response.text)).toMatchObject({ code: 'bad_url', details: [] });
  });

  test('a path parameter over the length limit is a 414 in the error shape', async () => {
    const response = await t.request('GET', `/api/v1/devices/${'a'.repeat(600)}`);
    expect(response.status).toBe(414);
    expect(errorOf(response.text).code).toBe('uri_too_long');
  });

  test('headers over 16 KiB get a 431 in the error shape, then the connection closes', async () => {
    const answer = await rawRequest(t.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(errorOf(body!).code).toBe('headers_too_large');
  });

  test('a device report refused for its execution stores nothing of it but the version the device says it runs', async () => {
    expect((await t.request('POST', '/api/v1/devices', { body: { id: 'rep-1', name: 'rep-1', version: '1.0.0' } })).status).toBe(201);
    const { token } = (await t.request('POST', '/api/v1/devices/rep-1/token')).json() as { token: string };
    const refused = await t.request('PATCH', '/api/v1/device/state', { token, body: { version: '9.9.9', inventory: { disk: 'full' }, execution: { id: 'no-such-execution', state: 'failed' } } });
    expect(refused.status).toBe(404);
    // What the device runs is a fact whatever becomes of the report (DeviceVersions); its inventory is not stored.
    expect(((await t.request('GET', '/api/v1/devices/rep-1')).json() as { version: string }).version).toBe('9.9.9');
    expect((await t.request('GET', '/api/v1/devices/rep-1/report')).status).toBe(404);
    const accepted = await t.request('PATCH', '/api/v1/device/state', { token, body: { version: '9.9.10', inventory: { disk: 'ok' } } });
    expect(accepted.status).toBe(200);
    expect(((await t.request('GET', '/api/v1/devices/rep-1')).json() as { version: string }).version).toBe('9.9.10');
    expect(((await t.request('GET', '/api/v1/devices/rep-1/report')).json() as { inventory: unknown }).inventory).toEqual({ disk: 'ok' });
  });
});

describe('numbers that are not finite', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  // Ajv coerces "1e309" to Infinity after its type check; in JSON bodies it refuses it by itself.
  test('are refused with a 400 naming the field, in a query string or a JSON body', async () => {
    for (const path of ['/api/v1/devices?limit=1e309', '/api/v1/artifacts?limit=-1e309', '/api/v1/fleet/summary?top=1e309']) {
      const response = await t.request('GET', path);
      expect(response.status, path).toBe(400);
      expect(errorOf(response.text).message, path).toMatch(/must be a finite number/);
    }
    const body = await t.request('POST', '/api/v1/enrollment-keys', { raw: '{"name":"k","maxUses":1e309}', headers: { 'content-type': 'application/json' } });
    expect(body.status).toBe(400);
    expect(errorOf(body.text).details).toContainEqual(expect.objectContaining({ path: 'body.maxUses' }));
    // Whole numbers too large to make a date or a count (found by the fuzzer: the key was written, then its answer failed).
    for (const [raw, path] of [['{"name":"k","expiresInSeconds":1e308}', 'body.expiresInSeconds'], ['{"name":"k","maxUses":1e308}', 'body.maxUses'], ['{"name":"  "}', 'body.name']]) {
      const refused = await t.request('POST', '/api/v1/enrollment-keys', { raw, headers: { 'content-type': 'application/json' } });
      expect(refused.status, raw).toBe(400);
      expect(errorOf(refused.text).details, raw).toContainEqual(expect.objectContaining({ path }));
    }
    const keys = await t.request('GET', '/api/v1/enrollment-keys');
    expect(keys.status).toBe(200);
    expect((keys.json() as { items: unknown[] }).items).toEqual([]);
    const percent = await t.request('POST', '/api/v1/rollouts', { raw: '{"artifactId":"a","errorThreshold":{"percent":1e309}}', headers: { 'content-type': 'application/json' } });
    expect(percent.status).toBe(400);
    expect(errorOf(percent.text).details).toContainEqual(expect.objectContaining({ path: 'body.errorThreshold.percent' }));
  });
});

describe('streamed content types', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  test('are refused with a 415 by routes that take JSON, and still reach the routes that stream', async () => {
    const wrong = await t.request('POST', '/api/v1/policies', { raw: 'id,name\n', headers: { 'content-type': 'text/csv' } });
    expect(wrong.status).toBe(415);
    expect(errorOf(wrong.text).code).toBe('unsupported_media_type');
    const imported = await t.request('POST', '/api/v1/devices/import', { raw: 'id,name\ncsv-1,one\n', headers: { 'content-type': 'text/csv' } });
    expect(imported.status).toBe(200);
  });

  test('a CSV import that cannot be parsed, even in its header, is a 400 saying where', async () => {
    for (const [raw, line] of [['{"a":""}', 'line 1'], ['id,name\n"x"y,z\n', 'line 2']] as const) {
      const response = await t.request('POST', '/api/v1/devices/import', { raw, headers: { 'content-type': 'text/csv' } });
      expect(response.status, raw).toBe(400);
      expect(errorOf(response.text).details, raw).toContainEqual(expect.objectContaining({ path: line }));
    }
  });
});
