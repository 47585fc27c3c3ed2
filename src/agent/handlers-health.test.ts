// The container handler through a real command template, and the http/tcp/command health checks
// against real peers on 127.0.0.1 (retried until the deadline).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetUpdate } from '../core/index.js';
import { ContainerHandler } from './handlers/container.handler.js';
import { InstallError } from './handlers/handler.js';
import { HealthChecker } from './health.js';
import { silentLog } from './log.js';

const update = (over: Partial<TargetUpdate> = {}): TargetUpdate => ({
  executionId: 'e1', rolloutId: 'r1', artifactId: 'a1', name: 'web', version: '2.0.0', sha256: null, size: 0, signature: null, imageRef: 'registry.local/web:2.0.0',
  downloadUrl: null, install: { handler: 'container', settings: {} }, healthChecks: [], ...over,
});

describe('container handler', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-container-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the template with the image and container name, and again with the previous image on rollback', async () => {
    const log = path.join(dir, 'runtime.log');
    const handler = new ContainerHandler({ command: `echo run {name} {image} >> ${log}`, allowServerCommands: false });
    const release = await handler.install({ update: update({ install: { handler: 'container', settings: { container: 'frontend' } } }), file: null, current: null, log: silentLog });
    expect(release).toMatchObject({ handler: 'container', imageRef: 'registry.local/web:2.0.0', version: '2.0.0' });
    const previous = { ...release, version: '1.0.0', imageRef: 'registry.local/web:1.0.0' };
    await handler.rollback(previous, release, silentLog);
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toEqual(['run frontend registry.local/web:2.0.0', 'run web registry.local/web:1.0.0']);
  });

  it('fails with the command output, and refuses server-sent commands unless allowed', async () => {
    const failing = new ContainerHandler({ command: 'echo pull denied for {image} >&2; exit 3', allowServerCommands: false });
    await expect(failing.install({ update: update(), file: null, current: null, log: silentLog })).rejects.toThrow(/exited with 3: pull denied for registry.local\/web:2.0.0/);
    const strict = new ContainerHandler({ allowServerCommands: false });
    const marker = path.join(dir, 'server-command-ran');
    await expect(strict.install({ update: update({ install: { handler: 'container', settings: { command: `touch ${marker}` } } }), file: null, current: null, log: silentLog })).rejects.toBeInstanceOf(InstallError);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('health checks', () => {
  let server: http.Server;
  let url: string;
  let healthyAfter = 0;
  let requests = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests++;
      res.writeHead(requests > healthyAfter ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('retries until the checks pass within the deadline', async () => {
    healthyAfter = 2;
    requests = 0;
    let now = 0;
    const checker = new HealthChecker({ allowServerCommands: true, now: () => now, sleep: async (ms) => void (now += ms), retryEveryMs: 1000 });
    const result = await checker.check(update({ healthChecks: [{ type: 'http', target: url }, { type: 'command', target: 'test 1 -eq 1' }], healthDeadlineSeconds: 10 }));
    expect(result).toBeNull();
    expect(requests).toBe(3);
  });

  it('fails with every problem once the deadline passes', async () => {
    healthyAfter = 1000;
    let now = 0;
    const checker = new HealthChecker({ allowServerCommands: false, now: () => now, sleep: async (ms) => void (now += ms), retryEveryMs: 1000 });
    const result = await checker.check(update({ healthChecks: [{ type: 'http', target: url }, { type: 'command', target: 'true' }], healthDeadlineSeconds: 3 }));
    expect(result).toMatch(/answered 503, expected 200/);
    expect(result).toMatch(/command health checks from the server need --allow-server-commands/);
    expect(now).toBeGreaterThanOrEqual(3000);
  });
});
