// `npm run bench -- poll [--connections 64] [--duration 10] [--devices 100]`: authenticated device
// polls answered 304 by the orchestrator vs a bare node:http server answering 304, both in child
// processes, loaded by the same autocannon client with the same connections in alternating 2 s
// rounds (so load from elsewhere on the machine hits both alike). Target ratio >= 0.8. Beside the
// rates, each server's CPU time per answered request (user + system, from /proc), which other
// work on a loaded machine disturbs less than the rates: `cpu_ratio` is bare / orchestrator.
import { spawn } from 'node:child_process';
import os from 'node:os';
import autocannon from 'autocannon';
import { api, cpuSeconds, freePort, startServerProcess } from './bench-process.js';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

const BARE_SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  res.writeHead(304, { etag: '"abcdefghijklmnopqrstuvwxyz0"', 'cache-control': 'no-cache' });
  res.end();
}).listen(Number(process.argv[1]), '127.0.0.1', () => process.stdout.write('ready\\n'));
`;

async function load(url: string, requests: { method: 'GET'; path: string; headers: Record<string, string> }[], connections: number, duration: number) {
  const result = await autocannon({ url, connections, duration, pipelining: 1, requests });
  const codes = result.statusCodeStats as unknown as Record<string, { count: number }>;
  const ok304 = codes['304']?.count ?? 0;
  const total = Object.values(codes).reduce((n, c) => n + c.count, 0);
  return { reqPerS: Math.round(ok304 / result.duration), answered: ok304, other: total - ok304, errors: result.errors + result.timeouts, p99Ms: result.latency.p99 };
}

/** A round of load on one server, with the CPU time that server spent meanwhile. */
async function measured(pid: number | undefined, ...args: Parameters<typeof load>) {
  const before = cpuSeconds(pid);
  const result = await load(...args);
  return { ...result, cpuS: cpuSeconds(pid) - before };
}

export async function run(args: string[]): Promise<void> {
  const connections = arg(args, 'connections', 64);
  const duration = arg(args, 'duration', 10);
  const devices = arg(args, 'devices', 100);

  const server = await startServerProcess();
  const bare = spawn(process.execPath, ['-e', BARE_SERVER, String(await freePort())], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = Number(bare.spawnargs.at(-1));
    await new Promise<void>((resolve) => bare.stdout!.once('data', () => resolve()));
    const requests: { method: 'GET'; path: string; headers: Record<string, string> }[] = [];
    for (let i = 0; i < devices; i++) {
      const id = `poll-${i}`;
      await api(server.url, server.adminToken, 'POST', '/api/v1/devices', { id, mode: 'pull' });
      const { token } = await api<{ token: string }>(server.url, server.adminToken, 'POST', `/api/v1/devices/${id}/token`);
      const first = await fetch(`${server.url}/api/v1/device/${id}/state`, { headers: { authorization: `Bearer ${token}` } });
      await first.text();
      requests.push({ method: 'GET', path: `/api/v1/device/${id}/state`, headers: { authorization: `Bearer ${token}`, 'if-none-match': first.headers.get('etag')! } });
    }
    // Warm both up (JIT, token cache), then alternate short rounds of each so that load from
    // elsewhere on the machine falls on both alike; rates are summed over all rounds.
    await load(server.url, requests, connections, 2);
    await load(`http://127.0.0.1:${port}`, requests, connections, 2);
    const rounds = Math.max(1, Math.round(duration / 2));
    const sum = { o: 0, b: 0, oErr: 0, bErr: 0, oP99: [] as number[], bP99: [] as number[], oCpu: 0, bCpu: 0, oN: 0, bN: 0 };
    for (let i = 0; i < rounds; i++) {
      const o = await measured(server.child.pid, server.url, requests, connections, 2);
      const b = await measured(bare.pid, `http://127.0.0.1:${port}`, requests, connections, 2);
      sum.o += o.reqPerS;
      sum.b += b.reqPerS;
      sum.oCpu += o.cpuS;
      sum.bCpu += b.cpuS;
      sum.oN += o.answered;
      sum.bN += b.answered;
      sum.oErr += o.errors + o.other;
      sum.bErr += b.errors + b.other;
      sum.oP99.push(o.p99Ms);
      sum.bP99.push(b.p99Ms);
    }
    const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
    const orchestrator = { reqPerS: Math.round(sum.o / rounds), p99Ms: median(sum.oP99), errors: sum.oErr, other: 0 };
    const baseline = { reqPerS: Math.round(sum.b / rounds), p99Ms: median(sum.bP99), errors: sum.bErr, other: 0 };
    process.stdout.write(
      JSON.stringify({
        bench: 'poll',
        variant: '304',
        devices,
        connections,
        duration_s: rounds * 2,
        rounds,
        req_per_s: orchestrator.reqPerS,
        p99_ms: orchestrator.p99Ms,
        errors: orchestrator.errors + orchestrator.other,
        baseline_req_per_s: baseline.reqPerS,
        baseline_p99_ms: baseline.p99Ms,
        baseline_errors: baseline.errors + baseline.other,
        ratio: Math.round((orchestrator.reqPerS / baseline.reqPerS) * 1000) / 1000,
        cpu_us_per_req: Math.round((sum.oCpu / sum.oN) * 1e7) / 10,
        baseline_cpu_us_per_req: Math.round((sum.bCpu / sum.bN) * 1e7) / 10,
        cpu_ratio: Math.round((sum.bCpu / sum.bN / (sum.oCpu / sum.oN)) * 1000) / 1000,
        load_avg_1m: Math.round(os.loadavg()[0]! * 10) / 10,
        server_peak_rss_mb: server.peakRssMb(),
      }) + '\n',
    );
  } finally {
    bare.kill();
    await server.stop();
  }
}
