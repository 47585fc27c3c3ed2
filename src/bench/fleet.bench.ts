// `npm run bench -- fleet [--devices 10000] [--poll 10] [--size 65536]`: N simulated pull agents
// (src/sim, in this process) enroll into a server running in a child process; one rollout goes
// through all of them. Prints completion time, errors (target 0), server peak RSS, p99 poll latency.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Fleet } from '../sim/index.js';
import { api, startServerProcess } from './bench-process.js';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

export async function run(args: string[]): Promise<void> {
  const devices = arg(args, 'devices', 10_000);
  const pollSeconds = arg(args, 'poll', 10);
  const size = arg(args, 'size', 64 * 1024);
  const server = await startServerProcess({ ORCHESTRATOR_AUTH_RATE_LIMIT: '100000000', ORCHESTRATOR_POLL_INTERVAL: String(pollSeconds) });
  let fleet: Fleet | null = null;
  try {
    let started = performance.now();
    fleet = await Fleet.create({ server: server.url, token: server.adminToken, devices, pollSeconds, tags: { fleet: 'bench' }, connections: 64, versions: ['1.0.0'] });
    const setupS = (performance.now() - started) / 1000;
    fleet.start();
    await fleet.waitUntil((s) => s.polls >= devices, { timeoutMs: (pollSeconds + 120) * 1000, everyMs: 500 });

    const bytes = randomBytes(size);
    const upload = await fetch(`${server.url}/api/v1/artifacts?name=bench-firmware&version=2.0.0`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' }, body: bytes });
    if (!upload.ok) throw new Error(`upload failed: ${upload.status} ${await upload.text()}`);
    const artifact = (await upload.json()) as { id: string };
    started = performance.now();
    const rollout = await api<{ id: string }>(server.url, server.adminToken, 'POST', '/api/v1/rollouts', { name: 'fleet bench', artifactId: artifact.id, filter: { tag: 'fleet:bench' } });
    let last = '';
    const done = await fleet.waitUntil((s) => s.versions['2.0.0'] === devices && (s.phases.idle ?? 0) === devices, {
      timeoutMs: 1_800_000,
      everyMs: 1000,
      onTick: (s) => {
        const line = `${Math.round(s.elapsedS)}s: 2.0.0 on ${s.versions['2.0.0'] ?? 0}/${devices}, errors ${s.errors}, poll p99 ${s.pollP99Ms} ms`;
        if (line !== last) process.stderr.write(`${line}\n`);
        last = line;
      },
    });
    const devicesDoneS = (performance.now() - started) / 1000;
    let status = await api<{ status: string; counts: Record<string, number> }>(server.url, server.adminToken, 'GET', `/api/v1/rollouts/${rollout.id}`);
    while (status.status === 'running' && performance.now() - started < 1_900_000) {
      await new Promise((r) => setTimeout(r, 500));
      status = await api(server.url, server.adminToken, 'GET', `/api/v1/rollouts/${rollout.id}`);
    }
    const completionS = (performance.now() - started) / 1000;
    const summary = await fleet.stop();
    fleet = null;
    process.stdout.write(
      JSON.stringify({
        bench: 'fleet',
        variant: 'sqlite',
        devices,
        poll_s: pollSeconds,
        artifact_bytes: size,
        setup_s: Math.round(setupS * 10) / 10,
        devices_updated_s: Math.round(devicesDoneS * 10) / 10,
        completion_s: Math.round(completionS * 10) / 10,
        rollout_status: status.status,
        succeeded: status.counts.succeeded ?? 0,
        errors: summary.errors,
        requests: summary.requests,
        poll_p50_ms: summary.pollP50Ms,
        poll_p99_ms: summary.pollP99Ms,
        server_peak_rss_mb: server.peakRssMb(),
        sim_peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        not_modified: done.notModified,
      }) + '\n',
    );
  } finally {
    await fleet?.stop();
    await server.stop();
  }
}
