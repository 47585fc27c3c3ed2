// A small pool of SSH connections keyed by user@host:port (and credentials): deliveries to the same
// device reuse one authenticated connection, each on its own channels, a bounded number at a time.
// A new connection goes to the address the outbound guard resolved and allowed, never to a name
// ssh2 would resolve again by itself.
import ssh2, { type Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { OutboundDeniedError, type OutboundGuard } from '../../outbound/index.js';
import { DeliveryError } from '../transport.js';
import { keyTypeOf, KnownHosts } from './known-hosts.js';

/** Where to connect and how to authenticate and check the host. */
export interface SshEndpoint {
  user: string;
  host: string;
  port: number;
  privateKey?: Buffer;
  passphrase?: string;
  password?: string;
  /** ssh-agent socket (SSH_AUTH_SOCK). */
  agent?: string;
  knownHostsFile: string;
  /**
   * With trust on first use: the file an unknown host key is learned into (the server's own
   * known_hosts, never one a device's metadata names); null: unknown keys are refused.
   */
  learnInto: string | null;
  /** Distinguishes credentials so different ones never share a connection. */
  credentialId: string;
}

export interface PoolOptions {
  /** Close a connection after this long without deliveries. */
  idleMs?: number;
  readyTimeoutMs?: number;
  /** Deliveries sharing one connection at once (each uses up to two session channels). */
  maxDeliveriesPerConnection?: number;
  /** Resolves and checks a device's host (ORCHESTRATOR_OUTBOUND_DENY); absent: ssh2 resolves it. */
  outbound?: OutboundGuard;
}

/** A connection lent to one delivery; release it when done (broken: it failed at the connection level). */
export interface SshLease {
  client: Client;
  /** The connection's shared SFTP session, opened on first use (one round trip saved per delivery). */
  sftp(signal?: AbortSignal): Promise<SFTPWrapper>;
  release(broken?: boolean): void;
}

interface Entry {
  key: string;
  ready: Promise<Client>;
  active: number;
  waiters: (() => void)[];
  idle: NodeJS.Timeout | null;
  dead: boolean;
  client: Client;
  sftp: Promise<SFTPWrapper> | null;
}

/** Turns a failed connect into a DeliveryError that says what to fix. */
function connectError(endpoint: SshEndpoint, error: Error & { level?: string; code?: string }, hostProblem: string | null): DeliveryError {
  const where = `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
  if (hostProblem) return new DeliveryError('host_key', hostProblem, false, { cause: error });
  if (error.level === 'client-authentication') return new DeliveryError('auth', `SSH authentication as '${endpoint.user}' to ${where} failed: none of the configured methods (key, agent, password) was accepted`, false, { cause: error });
  if (error.level === 'client-timeout') return new DeliveryError('timeout', `SSH handshake with ${where} timed out`, true, { cause: error });
  return new DeliveryError('connection', `SSH connection to ${where} failed (${error.code ?? error.level ?? 'error'}): ${error.message}`, true, { cause: error });
}

export class SshConnectionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly idleMs: number;
  private readonly readyTimeoutMs: number;
  private readonly maxPerConnection: number;
  private readonly outbound: OutboundGuard | undefined;

  constructor(options: PoolOptions = {}) {
    this.outbound = options.outbound;
    this.idleMs = options.idleMs ?? 30_000;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
    this.maxPerConnection = options.maxDeliveriesPerConnection ?? 4;
  }

  /** Number of open (or opening) connections, for tests and metrics. */
  get size(): number {
    return this.entries.size;
  }

  private connect(endpoint: SshEndpoint, key: string): Entry {
    const client = new ssh2.Client();
    const knownHosts = new KnownHosts(endpoint.knownHostsFile);
    const learned = endpoint.learnInto === null ? null : endpoint.learnInto === endpoint.knownHostsFile ? knownHosts : new KnownHosts(endpoint.learnInto);
    let hostProblem: string | null = null;
    const where = `${endpoint.host}:${endpoint.port}`;
    const config: ConnectConfig = {
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      privateKey: endpoint.privateKey,
      passphrase: endpoint.passphrase,
      password: endpoint.password,
      agent: endpoint.agent,
      readyTimeout: this.readyTimeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier: (blob: Buffer) => {
        let verdict = knownHosts.check(endpoint.host, endpoint.port, blob);
        // A key learned earlier lives in the server's own file, whichever file the device names.
        if (verdict === 'unknown' && learned && learned !== knownHosts) verdict = learned.check(endpoint.host, endpoint.port, blob);
        if (verdict === 'known') return true;
        if (verdict === 'unknown' && learned) {
          learned.add(endpoint.host, endpoint.port, blob);
          return true;
        }
        hostProblem =
          verdict === 'changed'
            ? `the SSH host key of ${where} (${keyTypeOf(blob)}) differs from the one in ${endpoint.knownHostsFile}: refusing to connect (a changed key may mean an attack; if the device was reinstalled, remove its old line)`
            : verdict === 'revoked'
              ? `the SSH host key of ${where} is marked @revoked in ${endpoint.knownHostsFile}`
              : `the SSH host ${where} is not in ${endpoint.knownHostsFile}: add its key (ssh-keyscan -p ${endpoint.port} ${endpoint.host} >> ${endpoint.knownHostsFile}) or enable trust on first use (ORCHESTRATOR_SSH_TOFU=1)`;
        return false;
      },
    };
    const entry: Entry = { key, active: 0, waiters: [], idle: null, dead: false, client, ready: Promise.resolve(client), sftp: null };
    const forget = () => {
      entry.dead = true;
      if (entry.idle) clearTimeout(entry.idle);
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    let fail: (error: DeliveryError) => void = () => undefined;
    entry.ready = new Promise<Client>((resolve, reject) => {
      fail = reject;
      client.once('ready', () => {
        // Without TCP_NODELAY, Nagle holds back each SSH packet until the previous one is
        // acknowledged: SFTP uploads ran at a third of OpenSSH's speed, the process mostly idle.
        client.setNoDelay(true);
        resolve(client);
      });
      client.once('error', (error: Error & { level?: string }) => {
        forget();
        reject(connectError(endpoint, error, hostProblem));
      });
      client.once('close', () => {
        forget();
        reject(new DeliveryError('connection', `SSH connection to ${where} closed before it was ready`, true));
      });
    });
    entry.ready.catch(() => undefined);
    const address = this.outbound ? this.outbound.resolve(endpoint.host) : Promise.resolve(endpoint.host);
    address.then(
      (host) => {
        try {
          client.connect({ ...config, host });
        } catch (error) {
          forget();
          fail(new DeliveryError('bad_credentials', `cannot use the SSH credentials for ${where}: ${(error as Error).message}`, false, { cause: error }));
        }
      },
      (error: Error & { code?: string }) => {
        forget();
        fail(
          error instanceof OutboundDeniedError
            ? new DeliveryError('denied_address', `not delivered to ${where}: ${error.message}`, false, { cause: error })
            : new DeliveryError('connection', `cannot resolve ${endpoint.host} (${error.code ?? 'error'}): ${error.message}`, true, { cause: error }),
        );
      },
    );
    return entry;
  }

  /** Lends a ready connection to the endpoint, opening one if needed; waits while it is busy. */
  async acquire(endpoint: SshEndpoint, signal?: AbortSignal): Promise<SshLease> {
    if (signal?.aborted) return abortable(new Promise<never>(() => undefined), signal);
    const key = `${endpoint.user}@${endpoint.host}:${endpoint.port}#${endpoint.credentialId}`;
    let entry = this.entries.get(key);
    if (!entry || entry.dead) {
      entry = this.connect(endpoint, key);
      this.entries.set(key, entry);
    }
    const e = entry;
    while (e.active >= this.maxPerConnection) await this.wait(e, signal);
    e.active++;
    if (e.idle) {
      clearTimeout(e.idle);
      e.idle = null;
    }
    let released = false;
    const release = (broken = false) => {
      if (released) return;
      released = true;
      e.active--;
      e.waiters.shift()?.();
      if (broken) {
        this.drop(e);
        return;
      }
      if (e.active === 0 && !e.dead) {
        e.idle = setTimeout(() => this.drop(e), this.idleMs);
        e.idle.unref();
      }
    };
    try {
      const client = await abortable(e.ready, signal);
      return { client, release, sftp: (s) => abortable(this.sftpOf(e), s) };
    } catch (error) {
      release(!(error instanceof DeliveryError && error.code === 'aborted'));
      throw error;
    }
  }

  /** One SFTP session per connection, shared by its deliveries; reopened if it closes. */
  private sftpOf(entry: Entry): Promise<SFTPWrapper> {
    if (!entry.sftp) {
      const opening = new Promise<SFTPWrapper>((resolve, reject) => {
        entry.client.sftp((error, sftp) => {
          if (error) return reject(new DeliveryError('connection', `cannot open an SFTP session: ${error.message}`, true, { cause: error }));
          sftp.once('close', () => {
            if (entry.sftp === opening) entry.sftp = null;
          });
          resolve(sftp);
        });
      });
      opening.catch(() => {
        if (entry.sftp === opening) entry.sftp = null;
      });
      entry.sftp = opening;
    }
    return entry.sftp;
  }

  private wait(entry: Entry, signal?: AbortSignal): Promise<void> {
    return abortable(new Promise<void>((resolve) => entry.waiters.push(resolve)), signal);
  }

  private drop(entry: Entry): void {
    entry.dead = true;
    if (entry.idle) clearTimeout(entry.idle);
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    if (entry.active === 0) entry.client.end();
  }

  async close(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      entries.map(async (entry) => {
        entry.dead = true;
        if (entry.idle) clearTimeout(entry.idle);
        const closed = new Promise<void>((resolve) => entry.client.once('close', () => resolve()));
        entry.client.end();
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      }),
    );
  }
}

/** Rejects with an 'aborted' DeliveryError as soon as the signal fires. */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  const reason = () => (signal.reason instanceof DeliveryError ? signal.reason : new DeliveryError('aborted', 'the delivery was aborted', true));
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
