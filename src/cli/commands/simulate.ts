// `orchestrator simulate`: N virtual pull agents in this process, enrolled into a running server,
// with a live status line and a summary at the end (JSON with --json).
import type { Command } from 'commander';
import { Fleet, type FleetSummary } from '../../sim/index.js';
import { CliError, DEFAULT_SERVER, serverUrl } from '../client.js';
import { printJson } from '../output.js';

interface SimulateFlags {
  server?: string;
  token?: string;
  devices: string;
  prefix: string;
  enroll: string;
  poll: string;
  versions: string;
  timezones?: string;
  locations?: string;
  offlineRate: string;
  offlineSeconds: string;
  dropRate: string;
  badHashRate: string;
  healthFailRate: string;
  seed: string;
  duration?: string;
  untilVersion?: string;
  connections: string;
  json?: boolean;
}

const rate = (name: string, value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new CliError(`${name} must be a number from 0 to 1 (got '${value}')`, 2);
  return n;
};
const positive = (name: string, value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name} must be a positive number (got '${value}')`, 2);
  return n;
};

function statusLine(s: FleetSummary): string {
  const phases = Object.entries(s.phases).map(([k, v]) => `${k} ${v}`).join(', ');
  const versions = Object.entries(s.versions).map(([k, v]) => `${k}:${v}`).join(' ');
  return `[${s.elapsedS.toFixed(0)}s] ${s.devices} devices | ${s.polls} polls (${s.notModified} unchanged) p99 ${s.pollP99Ms} ms | ${phases} | versions ${versions} | installs ${s.installs} rollbacks ${s.rollbacks} | errors ${s.errors}`;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('run N simulated pull agents (the real agent code, in-memory installs) against a server')
    .option('--server <url>', `server URL (env ORCHESTRATOR_URL, default ${DEFAULT_SERVER})`)
    .option('--token <token>', 'admin token (enrollment key mode) or operator token (--enroll token) (env ORCHESTRATOR_TOKEN)')
    .option('-n, --devices <n>', 'number of devices', '100')
    .option('--prefix <prefix>', 'device id prefix', 'sim-')
    .option('--enroll <mode>', "'key' (devices enroll with an auto-accept key) or 'token' (import + per-device tokens)", 'key')
    .option('--poll <seconds>', 'poll interval of every device', '5')
    .option('--versions <list>', 'comma-separated versions devices start with', '1.0.0')
    .option('--timezones <list>', 'comma-separated IANA time zones, spread over devices')
    .option('--locations <list>', 'comma-separated locations, spread over devices')
    .option('--offline-rate <0..1>', 'share of devices offline at the start', '0')
    .option('--offline-seconds <s>', 'how long they stay offline', '30')
    .option('--drop-rate <0..1>', 'chance a download drops half-way (the agent resumes)', '0')
    .option('--bad-hash-rate <0..1>', 'chance a download is corrupted (the agent refuses it)', '0')
    .option('--health-fail-rate <0..1>', 'chance health checks fail after install (the agent rolls back)', '0')
    .option('--seed <n>', 'random seed', '1')
    .option('--duration <seconds>', 'stop after this long (default: until Ctrl-C or --until-version)')
    .option('--until-version <v>', 'stop once every device runs this version or finished its update otherwise')
    .option('--connections <n>', 'HTTP connections shared by the fleet', '64')
    .option('--json', 'print the summary as JSON')
    .action(async (flags: SimulateFlags) => {
      const server = serverUrl(flags.server);
      const token = flags.token ?? process.env.ORCHESTRATOR_TOKEN;
      if (!token) throw new CliError('--token T is required (or ORCHESTRATOR_TOKEN): an admin token to create an enrollment key', 2);
      if (flags.enroll !== 'key' && flags.enroll !== 'token') throw new CliError("--enroll must be 'key' or 'token'", 2);
      const list = (v?: string) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
      const devices = positive('--devices', flags.devices);
      const fleet = await Fleet.create({
        server,
        token,
        devices: Math.floor(devices),
        idPrefix: flags.prefix,
        enroll: flags.enroll,
        pollSeconds: positive('--poll', flags.poll),
        versions: list(flags.versions),
        timezones: list(flags.timezones),
        locations: list(flags.locations),
        offlineRate: rate('--offline-rate', flags.offlineRate),
        offlineSeconds: positive('--offline-seconds', flags.offlineSeconds),
        downloadDropRate: rate('--drop-rate', flags.dropRate),
        badHashRate: rate('--bad-hash-rate', flags.badHashRate),
        healthFailRate: rate('--health-fail-rate', flags.healthFailRate),
        seed: Number(flags.seed) || 1,
        connections: Math.floor(positive('--connections', flags.connections)),
      }).catch((error: Error) => {
        throw new CliError(`could not enroll the fleet at ${server}: ${error.message}${/429/.test(error.message) ? ' (raise ORCHESTRATOR_AUTH_RATE_LIMIT on the server, or use --enroll token)' : ''}`);
      });
      process.stderr.write(`enrolled ${fleet.devices.length} devices into ${server}\n`);
      fleet.start();
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      const deadline = flags.duration ? Date.now() + positive('--duration', flags.duration) * 1000 : Infinity;
      const live = process.stderr.isTTY;
      await fleet
        .waitUntil(
          (s) => {
            if (stop.signal.aborted || Date.now() >= deadline) return true;
            if (!flags.untilVersion) return false;
            return (s.versions[flags.untilVersion] ?? 0) === s.devices || (s.finished === s.devices && (s.phases.idle ?? 0) === s.devices);
          },
          {
            timeoutMs: 10 * 365 * 86_400_000,
            everyMs: 1000,
            onTick: (s) => process.stderr.write(live ? `\r\x1b[K${statusLine(s)}` : `${statusLine(s)}\n`),
          },
        );
      const summary = await fleet.stop();
      if (live) process.stderr.write('\n');
      if (flags.json) printJson(summary);
      else process.stdout.write(`${statusLine(summary)}\n`);
      if (summary.errors > 0) {
        process.stderr.write(`${summary.errors} requests failed; last: ${fleet.lastError}\n`);
        process.exitCode = 1;
      }
    });
}
