// Benchmark support: run `orchestrator serve` in a child process on a free port with a fresh data
// directory (so its CPU and memory are its own), read its admin token, sample its peak RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

export interface ServerProcess {
  url: string;
  adminToken: string;
  child: ChildProcess;
  /** The server's data directory (its SQLite database is orchestrator.db there). */
  dataDir: string;
  /** Peak resident set of the server process so far, MiB (VmHWM). */
  peakRssMb(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bench-server-'));
  const port = await freePort();
  // With the V8 flag the `orchestrator` command's first line and `npm start` give it (src/cli/main.ts).
  // BENCH_SERVER_NODE_ARGS adds node flags to the server only, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'
  // (NODE_OPTIONS refuses --cpu-prof, and would profile every process of the bench).
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, ['--min-semi-space-size=16', ...extra, MAIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data', dataDir], {
    env: { ...process.env, ORCHESTRATOR_LOG_LEVEL: 'warn', ORCHESTRATOR_DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  child.stdout!.resume();
  // Only the first server of a database creates an admin token; the others answer with ''.
  const tokenFile = path.join(dataDir, 'admin.token');
  const adminToken = fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : '';
  return {
    url: `http://127.0.0.1:${port}`,
    adminToken,
    child,
    dataDir,
    peakRssMb() {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      } catch {
        return 0;
      }
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A JSON API call with a bearer token; throws on non-2xx. */
export async function api<T>(base: string, token: string, method: string, urlPath: string, body?: unknown): Promise<T> {
  const response = await fetch(base + urlPath, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN when unknown. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 counted from field 3), in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}
