// Test support: the real peers a test talks to (sshd, SWUpdate, mender-client, mender-artifact,
// cpio, `unshare -m`, Mosquitto, Chromium, PostgreSQL, the built CLI). `requirePeer` is the one
// gate: on a developer machine a missing peer skips its tests with the reason printed; with
// CI=true it fails the run, so a suite cannot pass quietly by skipping what it was meant to test.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** True when CI=true (or any CI value but "false"/"0"): every real peer must be present. */
export function peersRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/** Raised when CI=true and a peer a test needs is missing. */
export class MissingPeerError extends Error {
  constructor(peer: string, reason: string) {
    super(`CI=true requires ${peer}, but ${reason}`);
    this.name = 'MissingPeerError';
  }
}

/**
 * Null when the peer is there (`missing` is null). Otherwise prints why the tests that need
 * `peer` skip and answers that reason (use it with `describe.skipIf` / `ctx.skip`); with CI=true
 * it throws instead, which fails the test file.
 */
export function requirePeer(peer: string, missing: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  if (missing === null) return null;
  if (peersRequired(env)) throw new MissingPeerError(peer, missing);
  console.warn(`SKIPPING tests that need ${peer}: ${missing}`);
  return missing;
}

/** Why `command args...` cannot run here (not installed, or it fails), or null. */
export function commandMissing(command: string, args: string[], debianPackage: string): string | null {
  const probe = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return `${command} is not installed (apt-get install ${debianPackage}; .ci/run installs it)`;
  if (probe.error) return `${command} ${args.join(' ')} did not run: ${probe.error.message}`;
  if (probe.status !== 0) return `${command} ${args.join(' ')} exited with ${probe.status ?? probe.signal}`;
  return null;
}

/** Why this process cannot do what needs root, or null. */
export function rootMissing(what: string): string | null {
  return process.getuid?.() === 0 ? null : `${what} needs root (running as uid ${process.getuid?.() ?? 'unknown'})`;
}

/** Why `unshare -m` (a private mount namespace) does not work here, or null. */
export function unshareMissing(): string | null {
  const probe = spawnSync('unshare', ['-m', 'true'], { timeout: 10_000 });
  if (probe.error) return `unshare is not available: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare -m does not work here: ${probe.stderr.toString().trim() || `exit ${probe.status}`}`;
  return null;
}

/** The machine's MQTT broker for wake-up tests (Mosquitto, which .ci/run starts). */
export const MQTT_URL = process.env.ORCHESTRATOR_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/** Why nothing accepts TCP connections at the broker's address, or null. */
export function mqttBrokerMissing(url = MQTT_URL, timeoutMs = 3000): Promise<string | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 1883), timeout: timeoutMs });
    const done = (reason: string | null) => {
      socket.destroy();
      resolve(reason);
    };
    socket.once('connect', () => done(null));
    socket.once('timeout', () => done(`no MQTT broker answers at ${url} within ${timeoutMs} ms (.ci/run starts Mosquitto)`));
    socket.once('error', (error) => done(`no MQTT broker at ${url} (${error.message}; .ci/run starts Mosquitto)`));
  });
}

/** The built CLI that child-process tests run (`npm test` builds it first). */
export const BUILT_CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

/** Why dist/ cannot be run, or null. */
export function builtCliMissing(): string | null {
  return fs.existsSync(BUILT_CLI) ? null : `${BUILT_CLI} does not exist (run npm run build; npm test builds first)`;
}
