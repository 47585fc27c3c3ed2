// `orchestrator serve` as a child process for the chaos suite: started from dist/, its URL read
// from the start banner, killed with SIGKILL (no goodbye) or stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

/** A running server process. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** The last lines it wrote to stderr (for a failure message). */
  stderr(): string;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a clean shutdown), then wait for the exit. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  dataDir: string;
  /** postgres://...; unset: SQLite under dataDir. */
  databaseUrl?: string;
  /** Extra ORCHESTRATOR_* settings. */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/** Servers still running; killed when the test process exits (a timed-out test leaves none behind). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

export function spawnServer(o: ServerProcessOptions): Promise<ServerProcess> {
  const env = { ...process.env, ORCHESTRATOR_LOG_LEVEL: 'warn', ...o.env, ORCHESTRATOR_DATABASE_URL: o.databaseUrl ?? '' };
  const child = spawn(process.execPath, [MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data', o.dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${o.startTimeoutMs ?? 120_000} ms; stderr: ${err}`));
    }, o.startTimeoutMs ?? 120_000);
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening; stderr: ${err}`));
    };
    child.once('exit', early);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (!match || out === '') return;
      clearTimeout(timer);
      child.off('exit', early);
      out = '';
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      resolve({
        url: match[1]!,
        pid: child.pid!,
        stderr: () => err,
        async kill() {
          child.kill('SIGKILL');
          await exited(child);
        },
        async stop() {
          child.kill('SIGTERM');
          await exited(child);
        },
      });
    });
  });
}
