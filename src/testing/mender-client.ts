// Test support: runs the real mender-client (Debian's `mender` 3.x) as a foreground daemon against
// a server on 127.0.0.1, in its own mount namespace so its fixed paths (identity script,
// /etc/mender/artifact_info) come from a temporary directory.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandMissing, rootMissing, unshareMissing } from './peers.js';

/** Why the real client cannot run here, or null when it can. */
export function menderClientUnavailable(): string | null {
  const missing = commandMissing('mender', ['--version'], 'mender-client') ?? rootMissing('running mender-client (a mount namespace for its fixed paths)') ?? unshareMissing();
  if (missing) return missing;
  if (!fs.existsSync('/usr/share/mender/identity') || !fs.existsSync('/etc/mender')) return 'mender-client directories are missing (/usr/share/mender/identity, /etc/mender)';
  return null;
}

export interface MenderClientOptions {
  serverUrl: string;
  /** Identity attributes the identity script prints. */
  identity: Record<string, string>;
  deviceType: string;
  artifactName: string;
}

export interface MenderClient {
  dir: string;
  process: ChildProcess;
  /** Everything the client logged so far. */
  output(): string;
  stop(): Promise<void>;
}

export function startMenderClient(options: MenderClientOptions): MenderClient {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mender-client-'));
  for (const sub of ['identity', 'etc', 'data']) fs.mkdirSync(path.join(dir, sub));
  const script = Object.entries(options.identity).map(([k, v]) => `echo '${k}=${v}'`).join('\n');
  fs.writeFileSync(path.join(dir, 'identity', 'mender-device-identity'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'etc', 'artifact_info'), `artifact_name=${options.artifactName}\n`);
  fs.writeFileSync(path.join(dir, 'data', 'device_type'), `device_type=${options.deviceType}\n`);
  const conf = { ServerURL: options.serverUrl, UpdatePollIntervalSeconds: 1, InventoryPollIntervalSeconds: 1, RetryPollIntervalSeconds: 1 };
  fs.writeFileSync(path.join(dir, 'mender.conf'), JSON.stringify(conf));
  const command = [
    `mount --bind ${dir}/identity /usr/share/mender/identity`,
    `mount --bind ${dir}/etc /etc/mender`,
    `exec mender --no-syslog -c ${dir}/mender.conf -b ${dir}/no-fallback.conf -d ${dir}/data -l info daemon`,
  ].join(' && ');
  const child = spawn('unshare', ['-m', 'sh', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  return {
    dir,
    process: child,
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it answers a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
