import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentLog } from './log.js';
import { startReceiver, type RunningReceiver } from './receiver.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-length': String(body.length), ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('push receiver', () => {
  let dir: string;
  let running: RunningReceiver;
  const logged: Record<string, unknown>[] = [];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-receiver-'));
    const log = createAgentLog({ json: true, write: (line) => logged.push(JSON.parse(line) as Record<string, unknown>) });
    running = await startReceiver({ dir, port: 0, host: '127.0.0.1', maxBytes: 1024 * 1024, log });
  });
  afterAll(async () => {
    await running.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const headers = (body: Buffer, version: string, extra: Record<string, string> = {}) => ({ 'x-artifact-name': 'app', 'x-artifact-version': version, 'x-artifact-sha256': sha(body), 'x-update-id': 'u1', 'x-device-id': 'd1', ...extra });

  it('installs under DIR/<name>-<version>, points current at it, and answers 208 for a repeat', async () => {
    const v1 = Buffer.from('version one');
    const v2 = Buffer.from('version two');
    expect((await post(running.url, v1, headers(v1, '1'))).status).toBe(201);
    expect((await post(running.url, v2, headers(v2, '2'))).status).toBe(201);
    expect(fs.readlinkSync(path.join(dir, 'current'))).toBe('app-2');
    const again = await post(running.url, v1, headers(v1, '1'));
    expect(again.status).toBe(208);
    expect(JSON.parse(again.body)).toMatchObject({ status: 'already-installed' });
    expect(fs.readlinkSync(path.join(dir, 'current'))).toBe('app-1');
    expect(fs.readFileSync(path.join(dir, 'current'), 'utf8')).toBe('version one');
    const conflict = await post(running.url, v2, headers(v2, '1'));
    expect(conflict.status).toBe(409);
  });

  it('logs each push as one line: update id, artifact, sha256, result, duration', async () => {
    logged.length = 0;
    const body = Buffer.from('logged payload');
    expect((await post(running.url, body, headers(body, '7', { 'x-update-id': 'u-log-1' }))).status).toBe(201);
    expect((await post(running.url, body, headers(body, '7', { 'x-update-id': 'u-log-2' }))).status).toBe(208);
    expect((await post(running.url, body, { ...headers(body, '8', { 'x-update-id': 'u-log-3' }), 'x-artifact-sha256': sha(Buffer.from('other')) })).status).toBe(422);
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({ level: 'info', msg: 'push install', update: 'u-log-1', artifact: 'app-7', sha256: sha(body), result: 'installed', status: 201, bytes: body.length });
    expect(logged[1]).toMatchObject({ level: 'info', update: 'u-log-2', artifact: 'app-7', result: 'already-installed', status: 208 });
    expect(logged[2]).toMatchObject({ level: 'warn', update: 'u-log-3', artifact: 'app-8', result: 'sha256_mismatch', status: 422, reason: expect.stringMatching(/hashes to/) });
    for (const line of logged) expect(line.duration_ms).toEqual(expect.any(Number));
  });

  it('refuses bad headers, a wrong hash and an oversized body, leaving no temporary files', async () => {
    const body = Buffer.from('payload');
    expect((await post(running.url, body, { ...headers(body, '3'), 'x-artifact-name': '../evil' })).status).toBe(400);
    expect((await post(running.url, body, { ...headers(body, '3'), 'x-artifact-sha256': 'nothex' })).status).toBe(400);
    const mismatch = await post(running.url, body, { ...headers(body, '3'), 'x-artifact-sha256': sha(Buffer.from('other')) });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body).toMatch(/hashes to/);
    const big = Buffer.alloc(2 * 1024 * 1024);
    expect((await post(running.url, big, headers(big, '4'))).status).toBe(413);
    expect(fs.existsSync(path.join(dir, 'app-3'))).toBe(false);
    expect(fs.readdirSync(path.join(dir, '.tmp'))).toEqual([]);
  });

  it('removes the partial file when the sender disconnects mid-body', async () => {
    const body = Buffer.alloc(512 * 1024, 7);
    await new Promise<void>((resolve) => {
      const req = http.request(running.url, { method: 'POST', headers: { 'content-length': String(body.length), ...headers(body, '5') } });
      req.on('error', () => resolve());
      req.write(body.subarray(0, 100 * 1024), () => setImmediate(() => req.destroy()));
      req.on('close', () => resolve());
    });
    // The receiver notices the abort asynchronously; poll the directory until the temp file is gone.
    for (let i = 0; i < 200 && fs.readdirSync(path.join(dir, '.tmp')).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fs.readdirSync(path.join(dir, '.tmp'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'app-5'))).toBe(false);
  });
});
