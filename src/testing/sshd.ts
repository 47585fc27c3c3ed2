// Test support: a real OpenSSH sshd on a loopback port with a temporary host key, authorized_keys
// and sshd_config (run as root: UsePAM no, StrictModes no, internal-sftp), plus client keys.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rootMissing } from './peers.js';

export const SSHD = '/usr/sbin/sshd';

/** Why sshd tests cannot run here, or null (pass it to `requirePeer('sshd', ...)`). */
export function sshdUnavailable(): string | null {
  if (!fs.existsSync(SSHD)) return `${SSHD} is not installed (apt-get install openssh-server; .ci/run installs it)`;
  return rootMissing('a temporary sshd that logs in as the current user');
}

/** A client key pair made with ssh-keygen (OpenSSH format). */
export interface SshKeyFiles {
  privateKey: string;
  publicKey: string;
}

export function makeSshKey(dir: string, name: string, passphrase = ''): SshKeyFiles {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', file], { stdio: 'pipe' });
  return { privateKey: file, publicKey: `${file}.pub` };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningSshd {
  port: number;
  dir: string;
  user: string;
  /** A known_hosts file listing this server's host key. */
  knownHosts: string;
  /** The host key line ("ssh-ed25519 AAAA...") as in known_hosts. */
  hostKey: string;
  /** Lets another client key log in. */
  authorize(publicKeyFile: string): void;
  close(): Promise<void>;
}

export async function startSshd(options: { authorizedKeys?: string[]; extraConfig?: string[] } = {}): Promise<RunningSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-sshd-'));
  fs.mkdirSync('/run/sshd', { recursive: true });
  const hostKey = path.join(dir, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey], { stdio: 'pipe' });
  const authorizedKeys = path.join(dir, 'authorized_keys');
  fs.writeFileSync(authorizedKeys, (options.authorizedKeys ?? []).map((f) => fs.readFileSync(f, 'utf8').trim()).join('\n') + '\n', { mode: 0o600 });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'MaxSessions 64',
      'MaxStartups 100:30:200',
      'Subsystem sftp internal-sftp',
      'LogLevel INFO',
      ...(options.extraConfig ?? []),
    ].join('\n') + '\n',
  );
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server listening on')) {
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`sshd exited with ${code}: ${log}`)));
  });
  const hostLine = fs.readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostLine}\n`);
  return {
    port,
    dir,
    user: os.userInfo().username,
    knownHosts,
    hostKey: hostLine,
    authorize(publicKeyFile) {
      fs.appendFileSync(authorizedKeys, fs.readFileSync(publicKeyFile, 'utf8').trim() + '\n');
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
