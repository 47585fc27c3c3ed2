// `npm run bench -- download-ahead [--devices 1000] [--interval 5] [--lead 60]`: issue 16's
// download-ahead scenario. A server in this process on a test clock (real time plus an offset)
// whose day puts a download-ahead rollout's maintenance window --lead seconds ahead; a light fleet
// of --devices pull devices (src/sim/light-fleet.ts, image targets) polls every --interval s +-20%.
// Prints the share of the devices that were ready (`downloaded`) when the window opened (target:
// 100% of the online devices, all of them here) and the seconds from the opening to the last
// device installed (the simulated devices have no MQTT: they learn of the opening at their next
// poll, so this is about one interval; agents with --mqtt are woken at once). One JSON line.
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/index.js';
import { fleetDeviceId, LightFleet } from '../sim/light-fleet.js';
import { startTestApp } from '../testing/app.js';

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

/** Real time shifted to a chosen instant: the engine, the window and the device API all read it. */
class TestClock implements Clock {
  constructor(private readonly offset: number) {}
  now(): number {
    return Date.now() + this.offset;
  }
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RolloutJson {
  counts: Record<string, number>;
  progress: { total: number; downloaded: number; succeeded: number };
  waiting: string | null;
}

export async function run(args: string[]): Promise<void> {
  const devices = Number(arg(args, 'devices', '1000'));
  const interval = Number(arg(args, 'interval', '5'));
  const lead = Number(arg(args, 'lead', '60'));
  // The window opens daily at 03:00 UTC; the test clock starts `lead` seconds before one opening.
  const opensAt = Date.UTC(2026, 0, 16, 3, 0, 0);
  const clock = new TestClock(opensAt - lead * 1000 - Date.now());
  const t = await startTestApp({ app: { clock }, config: { pollIntervalSeconds: interval } });
  const log = (msg: string) => process.stderr.write(`[download-ahead] ${msg}\n`);
  const fleetIds = Array.from({ length: devices }, (_, i) => fleetDeviceId('ahead-', i));
  let fleet: LightFleet | undefined;
  try {
    for (const id of fleetIds) await t.app.devices.create({ id, mode: 'pull', tags: { bench: 'ahead' } }, 'bench');
    const tokens = new Uint8Array(devices * 32);
    const issued = await t.app.store.tokens.createDeviceTokens(fleetIds, Date.now());
    issued.forEach((token, k) => tokens.set(Buffer.from(token.slice('uo_dev_'.length), 'base64url'), k * 32));
    const artifact = (await t.request('POST', '/api/v1/artifacts', { token: t.tokens.operator, body: { name: 'edge-app', version: '3.0.0', imageRef: 'registry.example/edge/app:3.0.0' } })).json() as { id: string };
    const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId: artifact.id, filter: { tag: 'bench:ahead' }, window: { daily: '03:00-05:00', timezone: 'UTC' }, downloadAhead: true } });
    if (created.status !== 201) throw new Error(`rollout: ${created.status} ${created.text}`);
    const rolloutId = (created.json() as { id: string }).id;
    const rollout = async () => (await t.request('GET', `/api/v1/rollouts/${rolloutId}`, { token: t.tokens.viewer })).json() as RolloutJson;
    log(`${devices} devices polling every ${interval} s +- 20 %; the window opens in ${lead} s of the test clock`);
    fleet = new LightFleet({ url: t.url, devices, idOf: (i) => fleetIds[i]!, tokens, intervalMs: interval * 1000, jitter: 0.2, connections: 16 });
    fleet.start();

    // The last look before the opening: what was ready when it opened.
    await sleep(Math.max(0, opensAt - clock.now() - 100));
    const before = await rollout();
    const readyShare = before.progress.downloaded / before.progress.total;
    log(`at the opening: ${before.progress.downloaded} of ${before.progress.total} ready (${JSON.stringify(before.counts)}, waiting ${before.waiting})`);
    await sleep(Math.max(0, opensAt - clock.now()));
    const opened = performance.now();
    let last = await rollout();
    const deadline = opened + (interval * 3 + 60) * 1000;
    while (last.progress.succeeded < last.progress.total && performance.now() < deadline) {
      await sleep(100);
      last = await rollout();
    }
    const installedS = (performance.now() - opened) / 1000;
    const stats = fleet.stats();
    const allInstalled = last.progress.succeeded === last.progress.total;
    process.stdout.write(
      JSON.stringify({
        bench: 'download-ahead',
        devices,
        interval_s: interval,
        lead_s: lead,
        ready_at_open: before.progress.downloaded,
        ready_share_pct: round(readyShare * 100, 1),
        target_ready_pct: 100,
        last_installed_s_after_open: allInstalled ? round(installedS, 1) : null,
        installed: last.progress.succeeded,
        polls: stats.polls,
        errors: stats.errors,
        error_kinds: stats.errorKinds,
      }) + '\n',
    );
    if (readyShare < 1 || !allInstalled || stats.errors > 0) process.exitCode = 1;
  } finally {
    await fleet?.stop();
    await t.close();
  }
}
