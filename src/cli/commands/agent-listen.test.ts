// `orchestrator agent --listen` as a device runs it: the built CLI's push receiver logs one line
// per push (update id, artifact, sha256, result, duration) on stderr.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../../testing/cli.js';

describe('orchestrator agent --listen', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-listen-'));
  const child = spawn(process.execPath, [CLI, 'agent', '--listen', '0', '--dir', dir, '--json-logs'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  const lines = () => stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const until = async <T>(pick: () => T | undefined): Promise<T> => {
    for (;;) {
      const found = pick();
      if (found !== undefined) return found;
      if (child.exitCode !== null) throw new Error(`the receiver exited: ${stderr}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  afterAll(async () => {
    if (child.exitCode === null) await new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('logs each push install with its update id, artifact, sha256, result and duration', { timeout: 60_000 }, async () => {
    const url = await until(() => lines().find((l) => l.msg === 'push receiver listening')?.url as string | undefined);
    const body = Buffer.from('firmware 4.2.0');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const push = (version: string, sha: string) => fetch(url, { method: 'POST', body, headers: { 'x-update-id': 'upd-42', 'x-artifact-name': 'fw', 'x-artifact-version': version, 'x-artifact-sha256': sha } });
    expect((await push('4.2.0', sha256)).status).toBe(201);
    expect((await push('4.2.1', '0'.repeat(64))).status).toBe(422);
    const installs = await until(() => {
      const found = lines().filter((l) => l.msg === 'push install');
      return found.length >= 2 ? found : undefined;
    });
    expect(installs[0]).toMatchObject({ level: 'info', update: 'upd-42', artifact: 'fw-4.2.0', sha256, result: 'installed', status: 201, bytes: body.length, duration_ms: expect.any(Number) });
    expect(installs[1]).toMatchObject({ level: 'warn', update: 'upd-42', artifact: 'fw-4.2.1', result: 'sha256_mismatch', status: 422 });
    expect(fs.readFileSync(path.join(dir, 'current'), 'utf8')).toBe('firmware 4.2.0');
  });
});
