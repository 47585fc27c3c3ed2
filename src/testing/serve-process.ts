// Test support: the real `orchestrator serve` (dist/cli/main.js) as a child process with the flags
// and environment a test gives, its whole stdout kept (start banner and JSON log lines) and the
// URLs it announced read from the banner.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './cli.js';

export interface ServeProcess {
  /** The URLs of the banner's first line ("listening on URL and URL"). */
  urls: string[];
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches (log lines may follow the banner). */
  logged(pattern: RegExp): Promise<void>;
  stop(): Promise<void>;
}

/** Servers still running; killed when the test process exits. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts `serve --port 0 --data <fresh dir> ...args` and resolves once the banner is out. The
 * environment is the test's, without ORCHESTRATOR_* settings except those in `env`.
 */
export function startServe(args: string[] = [], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ServeProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-serve-'));
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ORCHESTRATOR_')));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir, ...args], { env: { ...base, ORCHESTRATOR_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of [...waiters]) {
      if (!w.pattern.test(out)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    live.delete(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`serve did not start within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening; stdout: ${out}; stderr: ${err}`));
    });
    const onData = () => {
      const line = /listening on ((?:http:\/\/\S+(?: and )?)+)/.exec(out);
      if (!line) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      const logged = (pattern: RegExp) => (pattern.test(out) ? Promise.resolve() : new Promise<void>((done) => waiters.push({ pattern, resolve: done })));
      resolve({ urls: line[1]!.split(' and '), stdout: () => out, stderr: () => err, logged, stop });
    };
    child.stdout!.on('data', onData);
  });
}
