// Test support: runs the real SWUpdate (Debian's `swupdate`, suricatta = hawkBit DDI client) in
// the foreground against a server on 127.0.0.1, in its own mount namespace with a private /tmp
// (SWUpdate keeps its control sockets there), so several clients can run side by side.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { commandMissing, rootMissing, unshareMissing } from './peers.js';
import { buildCpio } from '../protocols/hawkbit/swu.fixtures.js';

/** Why the real client cannot run here, or null when it can. */
export function swupdateUnavailable(): string | null {
  const help = spawnSync('swupdate', ['-h']);
  if (help.error) return 'swupdate is not installed (apt-get install swupdate; .ci/run installs it)';
  if (!help.stdout.toString().includes('--suricatta')) return 'this swupdate build has no suricatta (hawkBit) support';
  return rootMissing('running swupdate side by side (a mount namespace with a private /tmp)') ?? unshareMissing() ?? commandMissing('openssl', ['version'], 'openssl');
}

/** A CMS signing identity for .swu images (self-signed, emailProtection, as SWUpdate expects). */
export interface SwuSigner {
  cert: string;
  key: string;
}

export function createSwuSigner(dir: string): SwuSigner {
  const cert = path.join(dir, 'swu-cert.pem');
  const key = path.join(dir, 'swu-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=update-orchestrator test', '-addext', 'extendedKeyUsage=emailProtection'], { stdio: 'pipe' });
  return { cert, key };
}

/** A signed .swu whose one file is installed as SWU_TARGET_DIR/<name>. */
export function buildSignedSwu(signer: SwuSigner, version: string, files: Record<string, string>, hardware: string[] = ['1.0']): Buffer {
  const entries = Object.entries(files);
  const list = entries.map(([name, content]) => `    { filename = "${name}"; path = "${SWU_TARGET_DIR}/${name}"; sha256 = "${createHash('sha256').update(content).digest('hex')}"; }`).join(',\n');
  const description = Buffer.from(`software = {\n  version = "${version}";\n  hardware-compatibility = [ ${hardware.map((h) => `"${h}"`).join(', ')} ];\n  files: (\n${list}\n  );\n};\n`);
  return buildCpio([['sw-description', description], ['sw-description.sig', signSwDescription(signer, description)], ...entries]);
}

/** The detached CMS signature (DER) of sw-description, as SWUpdate verifies it. */
export function signSwDescription(signer: SwuSigner, description: Buffer): Buffer {
  return execFileSync('openssl', ['cms', '-sign', '-signer', signer.cert, '-inkey', signer.key, '-outform', 'DER', '-nosmimecap', '-binary'], { input: description });
}

export interface SwupdateOptions {
  serverUrl: string;
  tenant: string;
  controllerId: string;
  token: { type: 'target' | 'gateway'; value: string };
  /** Certificate that signs accepted images. */
  cert: string;
  /** Seconds between polls when the server says nothing else. */
  pollSeconds?: number;
  /** Passed as `-c`: '2' confirms the installed update (as after a successful reboot), '3' reports failure. */
  confirm?: '2' | '3';
  /** configData attributes (the `identify` section). */
  identify?: Record<string, string>;
  hardware?: string;
  /** Mounted (in the client's namespace only) at SWU_TARGET_DIR, where test images install files. */
  targetDir?: string;
}

/** Where test images install their files; each client sees its own `targetDir` there. */
export const SWU_TARGET_DIR = '/var/tmp/uo-swu-target';

export interface SwupdateClient {
  output(): string;
  /** Resolves when the output matches `pattern` (from the start of the run). */
  waitForOutput(pattern: RegExp): Promise<void>;
  stop(): Promise<void>;
}

export function startSwupdate(workDir: string, o: SwupdateOptions): SwupdateClient {
  const conf = path.join(workDir, `${o.controllerId}.cfg`);
  const identify = Object.entries(o.identify ?? {}).map(([name, value]) => `{ name = "${name}"; value = "${value}"; }`).join(',\n  ');
  fs.writeFileSync(conf, `globals : { loglevel = 5; };\n${identify ? `identify : (\n  ${identify}\n);\n` : ''}`);
  const suricatta = ['-t', o.tenant, '-u', o.serverUrl, '-i', o.controllerId, o.token.type === 'target' ? '-k' : '-g', o.token.value, '-p', String(o.pollSeconds ?? 1), '-r', '2', '-w', '1', ...(o.confirm ? ['-c', o.confirm] : [])].join(' ');
  const args = ['-v', '-f', conf, '-k', o.cert, '-H', o.hardware ?? 'board:1.0', '-u', suricatta];
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const mounts = ['mount -t tmpfs tmpfs /tmp'];
  if (o.targetDir) {
    fs.mkdirSync(SWU_TARGET_DIR, { recursive: true });
    mounts.push(`mount --bind '${o.targetDir}' ${SWU_TARGET_DIR}`);
  }
  const child: ChildProcess = spawn('unshare', ['-m', 'sh', '-c', `${mounts.join(' && ')} && exec swupdate ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const onData = (d: Buffer) => {
    log += d.toString();
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(log)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    output: () => log,
    waitForOutput(pattern) {
      if (pattern.test(log)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        child.once('exit', (code) => reject(new Error(`swupdate exited (${code}) before printing ${pattern}:\n${log.slice(-3000)}`)));
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
