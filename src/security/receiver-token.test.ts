// Attack: push an artifact to a device's receiver (`orchestrator agent --listen`) without its token,
// or guess the token a piece at a time. The real command runs (dist/cli/main.js). Only the exact
// token in `Authorization: Bearer` is accepted; the comparison is constant-time (both sides are
// hashed, then compared with timingSafeEqual: sameSecret in src/core/token.ts), which a test cannot
// time reliably on a shared machine, so this suite checks what an attacker can see: prefixes,
// extensions, other schemes and cases all get the same 401. A receiver started without a token or
// trusted key says so.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../testing/cli.js';

const TOKEN = 'receiver-token-4f1c2a9e7b';

interface Receiver {
  url: string;
  stderr: () => string;
  /** Resolves once stderr matches. */
  logged(pattern: RegExp): Promise<void>;
  stop(): Promise<void>;
}

/** `orchestrator agent --listen 0 --host 127.0.0.1 --dir D --json-logs`, resolved once it listens. */
function startAgentReceiver(env: Record<string, string>): Promise<Receiver> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-recv-'));
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ORCHESTRATOR_')));
  const child: ChildProcess = spawn(process.execPath, [CLI, 'agent', '--listen', '0', '--host', '127.0.0.1', '--dir', dir, '--json-logs'], { env: { ...base, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`agent exited ${code}: ${err}`)));
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      for (const w of [...waiters]) {
        if (!w.pattern.test(err)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const line = err.split('\n').find((l) => l.includes('push receiver listening'));
      if (!line) return;
      resolve({
        url: (JSON.parse(line) as { url: string }).url,
        stderr: () => err,
        logged: (pattern) => (pattern.test(err) ? Promise.resolve() : new Promise((done) => waiters.push({ pattern, resolve: done }))),
        async stop() {
          child.kill('SIGTERM');
          await exited;
          fs.rmSync(dir, { recursive: true, force: true });
        },
      });
    });
  });
}

const body = Buffer.from('payload of an attacker');
const push = (url: string, authorization: string | undefined) =>
  fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/octet-stream',
      'x-artifact-name': 'app',
      'x-artifact-version': '6.6.6',
      'x-artifact-sha256': createHash('sha256').update(body).digest('hex'),
      ...(authorization === undefined ? {} : { authorization }),
    },
  });

describe('the push receiver with a token', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startAgentReceiver({ ORCHESTRATOR_RECEIVER_TOKEN: TOKEN });
  });
  afterAll(() => receiver?.stop());

  it('refuses every near miss with the same 401', async () => {
    const misses = [undefined, '', 'Bearer', 'Bearer ', `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.toUpperCase()}`, `bearer ${TOKEN}`, `Basic ${TOKEN}`, `Bearer  ${TOKEN}`, `Bearer ${TOKEN.slice(0, 1)}`, `Bearer ${'x'.repeat(10_000)}`];
    for (const authorization of misses) {
      const response = await push(receiver.url, authorization);
      expect(response.status, String(authorization).slice(0, 40)).toBe(401);
      expect(await response.json()).toEqual({ error: { code: 'unauthorized', message: 'a valid bearer token is required' } });
    }
  });

  it('accepts the exact token', async () => {
    const response = await push(receiver.url, `Bearer ${TOKEN}`);
    expect(response.status).toBe(201);
  });

  it('does not warn about a missing token', () => {
    expect(receiver.stderr()).not.toMatch(/no ORCHESTRATOR_RECEIVER_TOKEN/);
  });
});

describe('the push receiver without a token', () => {
  it('says at start that anyone who reaches it may push, and that unsigned artifacts are installed', async () => {
    const receiver = await startAgentReceiver({});
    try {
      await receiver.logged(/unsigned artifacts are installed/);
      const warnings = receiver.stderr().split('\n').filter((l) => l.includes('"level":"warn"'));
      expect(warnings.join('\n')).toMatch(/no ORCHESTRATOR_RECEIVER_TOKEN, so anyone who can reach this port may push/);
      expect(warnings.join('\n')).toMatch(/no --trusted-key, so unsigned artifacts are installed/);
    } finally {
      await receiver.stop();
    }
  });
});
