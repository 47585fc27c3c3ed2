// Push over SSH/SFTP: address ssh://user@host:port/remote/dir. Uploads to a temporary name, runs an
// optional verify command, then renames atomically to <dir>/<name>-<version>. Host keys are checked
// against known_hosts; connections are pooled per user@host:port. Trust on first use learns keys
// into the server's own known_hosts only, and device addresses pass the outbound deny list.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2, { type Client, type SFTPWrapper } from 'ssh2';
import { OutboundGuard } from '../../outbound/index.js';
import { DELIVERY_ANSWER_CHARS, DeliveryError, type DeliveryRequest, type DeliveryResult, type Transport } from '../transport.js';
import { SshConnectionPool, type PoolOptions, type SshEndpoint } from './connection-pool.js';
import { call, exec, mkdirp, putFile, remoteSize, renameOver, shellQuote } from './sftp-ops.js';

/**
 * Per-device SSH settings in device.metadata: `auth: { privateKey? (PEM/OpenSSH text), privateKeyFile?,
 * passphrase?, password?, knownHostsFile? }` overrides the server's key and known_hosts (stored
 * encrypted, opened only for the push: src/core/device-secrets.ts); `verifyCommand` runs on the
 * device after upload with {file}, {sha256}, {name}, {version} replaced (shell-quoted).
 */
export interface SshDeviceSettings {
  privateKey?: string;
  privateKeyFile?: string;
  passphrase?: string;
  password?: string;
  knownHostsFile?: string;
  verifyCommand?: string;
}

export interface SftpTransportOptions {
  /** Default private key file (ORCHESTRATOR_SSH_KEY). */
  keyPath?: string;
  keyPassphrase?: string;
  /** Default known_hosts (ORCHESTRATOR_SSH_KNOWN_HOSTS), else ~/.ssh/known_hosts. */
  knownHostsPath?: string;
  /** Learn unknown host keys into the default known_hosts (never into a device's own file). */
  trustOnFirstUse?: boolean;
  /** Addresses deliveries may not reach (default: link-local and cloud metadata). */
  outbound?: OutboundGuard;
  /** ssh-agent socket; defaults to SSH_AUTH_SOCK. */
  agentSocket?: string;
  pool?: PoolOptions;
  /** SFTP write requests in flight per upload (default 32) and their size (default 128 KiB). */
  concurrency?: number;
  chunkSize?: number;
  now?: () => number;
}

function parseAddress(device: DeliveryRequest['device']): { user: string; host: string; port: number; dir: string; password?: string } {
  let url: URL;
  try {
    url = new URL(device.address ?? '');
  } catch {
    throw new DeliveryError('bad_address', `device '${device.id}' address '${device.address ?? ''}' is not ssh://user@host:port/dir`, false);
  }
  const dir = decodeURIComponent(url.pathname);
  if (url.protocol !== 'ssh:' || !url.username || !url.hostname || !dir || dir === '/') throw new DeliveryError('bad_address', `device '${device.id}' address '${device.address ?? ''}' must be ssh://user@host[:port]/remote/dir`, false);
  return { user: decodeURIComponent(url.username), host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : 22, dir, password: url.password ? decodeURIComponent(url.password) : undefined };
}

function settingsOf(metadata: Record<string, unknown>): SshDeviceSettings {
  const auth = (metadata.auth ?? {}) as Record<string, unknown>;
  if (typeof auth !== 'object' || Array.isArray(auth)) throw new DeliveryError('bad_credentials', 'device metadata.auth must be an object', false);
  const out: SshDeviceSettings = {};
  for (const key of ['privateKey', 'privateKeyFile', 'passphrase', 'password', 'knownHostsFile'] as const) {
    const value = auth[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new DeliveryError('bad_credentials', `device metadata.auth.${key} must be a string`, false);
    out[key] = value;
  }
  if (metadata.verifyCommand !== undefined) {
    if (typeof metadata.verifyCommand !== 'string') throw new DeliveryError('bad_credentials', 'device metadata.verifyCommand must be a string', false);
    out.verifyCommand = metadata.verifyCommand;
  }
  return out;
}

export class SftpTransport implements Transport {
  readonly name = 'ssh';
  readonly pool: SshConnectionPool;
  private readonly now: () => number;

  constructor(private readonly options: SftpTransportOptions = {}) {
    this.pool = new SshConnectionPool({ ...options.pool, outbound: options.outbound ?? OutboundGuard.fromEntries() });
    this.now = options.now ?? Date.now;
  }

  private endpoint(req: DeliveryRequest, address: ReturnType<typeof parseAddress>, settings: SshDeviceSettings): SshEndpoint {
    const ownKey = settings.privateKey !== undefined || settings.privateKeyFile !== undefined;
    const keyFile = settings.privateKey !== undefined ? undefined : (settings.privateKeyFile ?? this.options.keyPath);
    const passphrase = settings.passphrase ?? (ownKey ? undefined : this.options.keyPassphrase);
    let privateKey: Buffer | undefined;
    if (settings.privateKey !== undefined) {
      privateKey = Buffer.from(settings.privateKey, 'utf8');
      const parsed = ssh2.utils.parseKey(privateKey, passphrase);
      if (parsed instanceof Error) throw new DeliveryError('bad_credentials', `cannot use metadata.auth.privateKey of device '${req.device.id}': ${parsed.message}${/encrypt|passphrase/i.test(parsed.message) ? ' (set metadata.auth.passphrase)' : ''}`, false);
    } else if (keyFile) {
      // A device's own key file is one of its write-only credentials: named by field, not shown.
      const keyName = settings.privateKeyFile !== undefined ? 'metadata.auth.privateKeyFile' : `'${keyFile}'`;
      try {
        privateKey = fs.readFileSync(keyFile);
      } catch (error) {
        throw new DeliveryError('bad_credentials', `cannot read the SSH key ${keyName}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, false);
      }
      const parsed = ssh2.utils.parseKey(privateKey, passphrase);
      if (parsed instanceof Error) throw new DeliveryError('bad_credentials', `cannot use the SSH key ${keyName}: ${parsed.message}${/encrypt|passphrase/i.test(parsed.message) ? ' (set the passphrase: ORCHESTRATOR_SSH_KEY_PASSPHRASE or metadata.auth.passphrase)' : ''}`, false);
    }
    const password = settings.password ?? address.password;
    const agent = this.options.agentSocket ?? process.env.SSH_AUTH_SOCK;
    if (!privateKey && !password && !agent) throw new DeliveryError('bad_credentials', `no SSH credentials for device '${req.device.id}': set ORCHESTRATOR_SSH_KEY, run an ssh-agent (SSH_AUTH_SOCK), or give metadata.auth`, false);
    const serverKnownHosts = this.options.knownHostsPath ?? path.join(os.homedir(), '.ssh', 'known_hosts');
    const knownHostsFile = settings.knownHostsFile ?? serverKnownHosts;
    const credentialId = createHash('sha256').update(`${keyFile ?? ''}\0${settings.privateKey ?? ''}\0${password ?? ''}\0${agent ?? ''}\0${knownHostsFile}`).digest('hex').slice(0, 16);
    return { user: address.user, host: address.host, port: address.port, privateKey, passphrase, password, agent, knownHostsFile, learnInto: this.options.trustOnFirstUse ? serverKnownHosts : null, credentialId };
  }

  async deliver(req: DeliveryRequest): Promise<DeliveryResult> {
    const { artifact } = req;
    if (!req.filePath || artifact.kind !== 'file' || !artifact.sha256) throw new DeliveryError('unsupported', `artifact '${artifact.name}' is an image reference; SSH push sends files`, false);
    const address = parseAddress(req.device);
    const settings = settingsOf(req.device.metadata);
    const endpoint = this.endpoint(req, address, settings);

    const controller = new AbortController();
    const onAbort = () => controller.abort(new DeliveryError('aborted', 'the delivery was aborted', true));
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const remaining = req.deadline === undefined ? undefined : req.deadline - this.now();
    const timer = remaining === undefined ? undefined : setTimeout(() => controller.abort(new DeliveryError('timeout', `delivery to ${address.host} did not finish before the deadline`, true)), Math.max(0, remaining));
    const signal = controller.signal;
    try {
      const lease = await this.pool.acquire(endpoint, signal);
      let broken = false;
      try {
        return await this.upload(lease.client, await lease.sftp(signal), req, address.dir, settings, signal);
      } catch (error) {
        broken = error instanceof DeliveryError && error.code === 'connection';
        throw error;
      } finally {
        lease.release(broken);
      }
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async upload(client: Client, sftp: SFTPWrapper, req: DeliveryRequest, dir: string, settings: SshDeviceSettings, signal: AbortSignal): Promise<DeliveryResult> {
    const { artifact } = req;
    const final = path.posix.join(dir, `${artifact.name}-${artifact.version}`);
    const temp = path.posix.join(dir, `.${artifact.name}-${artifact.version}.${randomUUID().slice(0, 8)}.part`);
    let uploaded = false;
    try {
      // Directory and final file are looked up in one round trip (SFTP requests pipeline).
      const [dirSize, finalSize] = await Promise.all([remoteSize(sftp, dir, signal), remoteSize(sftp, final, signal)]);
      if (dirSize === null) await mkdirp(sftp, dir, signal, true);
      else if (finalSize === artifact.size && (await this.sameHash(client, final, artifact.sha256!, signal))) return { outcome: 'already-installed', bytes: 0 };
      uploaded = true; // from here on a .part file may exist: remove it unless it is renamed into place
      const closed = await this.put(sftp, req, temp, signal);
      if (settings.verifyCommand) {
        await closed;
        const command = settings.verifyCommand.replace(/\{(file|sha256|name|version)\}/g, (_m, key: string) => shellQuote(key === 'file' ? temp : key === 'sha256' ? artifact.sha256! : key === 'name' ? artifact.name : artifact.version));
        const result = await exec(client, command, signal);
        if (result.code !== 0) throw new DeliveryError('verify_failed', `the verify command on '${req.device.id}' exited ${result.code ?? 'by signal'}: ${(result.stderr || result.stdout.trim() || '(no output)').slice(0, DELIVERY_ANSWER_CHARS)}`, false);
      }
      await Promise.all([closed, renameOver(sftp, temp, final, signal)]);
      uploaded = false;
      return { outcome: 'delivered', bytes: artifact.size };
    } finally {
      if (uploaded) await this.cleanup(sftp, temp);
    }
  }

  /** The device's `sha256sum` of the file equals `sha256` (same size was checked already). */
  private async sameHash(client: Client, final: string, sha256: string, signal: AbortSignal): Promise<boolean> {
    const result = await exec(client, `sha256sum -- ${shellQuote(final)}`, signal);
    return result.code === 0 && result.stdout.split(/\s+/)[0] === sha256;
  }

  /** Uploads to `temp`; answers the pending close of the remote file. */
  private async put(sftp: SFTPWrapper, req: DeliveryRequest, temp: string, signal: AbortSignal): Promise<Promise<unknown>> {
    const total = req.artifact.size;
    const { bytes, closed } = await putFile(sftp, req.filePath!, temp, { signal, onProgress: req.onProgress && ((n) => req.onProgress!(n, total)), requestSize: this.options.chunkSize, inFlight: this.options.concurrency });
    if (bytes !== total) throw new DeliveryError('artifact_changed', `the artifact file has ${bytes} bytes, the artifact record says ${total}`, false);
    return closed;
  }

  /** Best effort, bounded to 2 s: removes a temporary upload that was not renamed into place. */
  private async cleanup(sftp: SFTPWrapper, temp: string): Promise<void> {
    const bounded = AbortSignal.timeout(2000);
    await call(sftp, `unlink ${temp}`, (cb) => sftp.unlink(temp, cb), bounded).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

