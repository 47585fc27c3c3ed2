// `npm run bench -- ddi-poll [--connections 64] [--duration 10] [--devices 100]`: hawkBit DDI base
// polls (TargetToken, If-None-Match -> 304) against the native device API poll (bearer token,
// If-None-Match -> 304) on the same server process, same autocannon settings. The DDI poll is not
// cached in memory (it reads the target, recent actions and inventory), so this shows its cost.
import autocannon from 'autocannon';
import { api, startServerProcess } from './bench-process.js';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

type Req = { method: 'GET'; path: string; headers: Record<string, string> };

async function load(url: string, requests: Req[], connections: number, duration: number) {
  const result = await autocannon({ url, connections, duration, pipelining: 1, requests });
  const codes = result.statusCodeStats as unknown as Record<string, { count: number }>;
  const ok304 = codes['304']?.count ?? 0;
  const total = Object.values(codes).reduce((n, c) => n + c.count, 0);
  return { reqPerS: Math.round(ok304 / result.duration), other: total - ok304, errors: result.errors + result.timeouts, p99Ms: result.latency.p99 };
}

async function etagOf(url: string, headers: Record<string, string>): Promise<string> {
  const response = await fetch(url, { headers });
  await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.headers.get('etag')!;
}

export async function run(args: string[]): Promise<void> {
  const connections = arg(args, 'connections', 64);
  const duration = arg(args, 'duration', 10);
  const devices = arg(args, 'devices', 100);
  const server = await startServerProcess();
  try {
    const ddi: Req[] = [];
    const native: Req[] = [];
    for (let i = 0; i < devices; i++) {
      const id = `ddi-${i}`;
      await api(server.url, server.adminToken, 'POST', '/api/v1/devices', { id, mode: 'pull' });
      const { token } = await api<{ token: string }>(server.url, server.adminToken, 'POST', `/api/v1/devices/${id}/token`);
      const ddiHeaders = { authorization: `TargetToken ${token}` };
      ddi.push({ method: 'GET', path: `/DEFAULT/controller/v1/${id}`, headers: { ...ddiHeaders, 'if-none-match': await etagOf(`${server.url}/DEFAULT/controller/v1/${id}`, ddiHeaders) } });
      const nativeHeaders = { authorization: `Bearer ${token}` };
      native.push({ method: 'GET', path: `/api/v1/device/${id}/state`, headers: { ...nativeHeaders, 'if-none-match': await etagOf(`${server.url}/api/v1/device/${id}/state`, nativeHeaders) } });
    }
    await load(server.url, ddi, connections, 2);
    await load(server.url, native, connections, 2);
    const measured = await load(server.url, ddi, connections, duration);
    const baseline = await load(server.url, native, connections, duration);
    process.stdout.write(
      JSON.stringify({
        bench: 'ddi-poll',
        variant: '304',
        devices,
        connections,
        duration_s: duration,
        req_per_s: measured.reqPerS,
        p99_ms: measured.p99Ms,
        errors: measured.errors + measured.other,
        baseline: 'native device API poll',
        baseline_req_per_s: baseline.reqPerS,
        baseline_p99_ms: baseline.p99Ms,
        ratio: Math.round((measured.reqPerS / baseline.reqPerS) * 1000) / 1000,
        server_peak_rss_mb: server.peakRssMb(),
      }) + '\n',
    );
  } finally {
    await server.stop();
  }
}
