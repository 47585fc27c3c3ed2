// A light fleet of pull devices for scale runs: up to millions in one process, each speaking the
// device API's protocol (its own bearer token, If-None-Match with the ETag it holds, a report when
// its target carries an update) without the full agent's per-device objects. All per-device state
// lives in typed arrays (token bytes, ETag bytes, flags, a timer-wheel link); polls are due from a
// timer wheel and go through one keep-alive undici Pool per server. Images only: a device "installs" a
// target by reporting it succeeded, downloading nothing; a download-ahead target that says
// `download` (window closed) is reported `downloaded` (pulled, ready) and installed once it says `install`.
import { createHistogram, performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface LightFleetOptions {
  /**
   * The server's base URL, or several servers' (sharing one PostgreSQL database): device i talks
   * to server i mod n, as behind a load balancer that keeps a device on one server.
   */
  url: string | readonly string[];
  devices: number;
  /** The id of device i (the sim keeps no id strings). */
  idOf(i: number): string;
  /** 32 raw bytes per device: device i's token is 'uo_dev_' + base64url of bytes [32i, 32i + 32). */
  tokens: Uint8Array;
  /** Mean time between two polls of one device. */
  intervalMs: number;
  /** Each wait is the interval times 1 +- jitter (uniform), so polls spread out. */
  jitter: number;
  /** Keep-alive connections in all (shared out among the servers). */
  connections: number;
  random?: () => number;
  /** A poll or report taking longer counts as an error. */
  timeoutMs?: number;
  /** Requests in flight at most (default: twice the connections); due devices wait their turn in a queue. */
  maxInflight?: number;
}

/**
 * What the fleet saw so far. Latencies are the devices' own: from the moment a poll was due (a
 * device waiting for a free connection waits as it would for a slow server) to its last byte.
 */
export interface LightFleetStats {
  devices: number;
  /** Devices that polled at least once. */
  polled: number;
  polls: number;
  notModified: number;
  changed: number;
  reports: number;
  errors: number;
  /** Devices due now but waiting for a request in flight to end (the server is behind). */
  waiting: number;
  /** Requests answered with something else than expected, by status ("timeout", "ECONNRESET", ...). */
  errorKinds: Record<string, number>;
  pollP50Ms: number;
  pollP99Ms: number;
  pollMaxMs: number;
  seconds: number;
}

/** Device ids of a light fleet: the prefix and a 7-digit number. */
export function fleetDeviceId(prefix: string, i: number): string {
  return prefix + String(i).padStart(7, '0');
}

const ETAG_BYTES = 32;
const SLOT_MS = 20;
const POLLED = 1;
const BUSY = 2;

export class LightFleet {
  private readonly etags: Uint8Array;
  private readonly etagLength: Uint8Array;
  private readonly flags: Uint8Array;
  /** Timer wheel: head of each slot's list, and each device's successor in its slot. */
  private readonly heads: Int32Array;
  private readonly next: Int32Array;
  /** Devices due while `maxInflight` requests were out, oldest first (a ring), and when each was due. */
  private readonly waiting: Int32Array;
  private waitingHead = 0;
  private waitingCount = 0;
  private readonly dueAt: Float64Array;
  private readonly maxInflight: number;
  private readonly pools: Pool[];
  private readonly random: () => number;
  private readonly latency = createHistogram({ lowest: 1, highest: 600_000_000, figures: 3 });
  private readonly counts = { polled: 0, polls: 0, notModified: 0, changed: 0, reports: 0, errors: 0 };
  private readonly errorKinds: Record<string, number> = {};
  private startedAt = 0;
  private slot = 0;
  private timer: NodeJS.Timeout | undefined;
  private inflight = 0;
  private drained: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly o: LightFleetOptions) {
    if (o.tokens.length < o.devices * 32) throw new Error(`need ${o.devices * 32} token bytes, got ${o.tokens.length}`);
    this.etags = new Uint8Array(o.devices * ETAG_BYTES);
    this.etagLength = new Uint8Array(o.devices);
    this.flags = new Uint8Array(o.devices);
    // Slots enough for the longest wait, plus a lap's margin.
    this.heads = new Int32Array(Math.ceil((o.intervalMs * (1 + o.jitter)) / SLOT_MS) + 64).fill(-1);
    this.next = new Int32Array(o.devices).fill(-1);
    this.waiting = new Int32Array(o.devices);
    this.dueAt = new Float64Array(o.devices);
    this.maxInflight = o.maxInflight ?? o.connections * 2;
    this.random = o.random ?? Math.random;
    const timeout = o.timeoutMs ?? 30_000;
    const urls = typeof o.url === 'string' ? [o.url] : [...o.url];
    if (urls.length === 0) throw new Error('LightFleet needs at least one server URL');
    const connections = Math.max(1, Math.ceil(o.connections / urls.length));
    this.pools = urls.map((url) => new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 120_000, headersTimeout: timeout, bodyTimeout: timeout }));
  }

  /** Every device polls first at a random moment of the first interval, then every interval +- jitter. */
  start(): void {
    this.startedAt = performance.now();
    for (let i = 0; i < this.o.devices; i++) this.schedule(i, this.random() * this.o.intervalMs);
    this.timer = setInterval(() => this.tick(), SLOT_MS);
  }

  stats(): LightFleetStats {
    const ms = (v: number) => Math.round(v / 10) / 100;
    return {
      devices: this.o.devices,
      ...this.counts,
      waiting: this.waitingCount,
      errorKinds: { ...this.errorKinds },
      pollP50Ms: this.latency.count ? ms(this.latency.percentile(50)) : 0,
      pollP99Ms: this.latency.count ? ms(this.latency.percentile(99)) : 0,
      pollMaxMs: this.latency.count ? ms(this.latency.max) : 0,
      seconds: Math.round((performance.now() - this.startedAt) / 100) / 10,
    };
  }

  /** Stops polling, waits for the requests in flight and closes the connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await Promise.all(this.pools.map((pool) => pool.close()));
  }

  private schedule(i: number, delayMs: number): void {
    const due = Math.floor((performance.now() - this.startedAt + delayMs) / SLOT_MS);
    const slot = Math.max(due, this.slot + 1) % this.heads.length;
    this.next[i] = this.heads[slot]!;
    this.heads[slot] = i;
  }

  private tick(): void {
    const now = Math.floor((performance.now() - this.startedAt) / SLOT_MS);
    while (this.slot < now && !this.stopped) {
      this.slot++;
      const slot = this.slot % this.heads.length;
      let i = this.heads[slot]!;
      this.heads[slot] = -1;
      while (i >= 0) {
        const following = this.next[i]!;
        this.next[i] = -1;
        this.due(i);
        i = following;
      }
    }
  }

  /** Device i's poll is due now: sent at once, or queued until a request in flight ends. */
  private due(i: number): void {
    if (this.flags[i]! & BUSY) return;
    this.flags[i]! |= BUSY;
    this.dueAt[i] = performance.now();
    if (this.inflight < this.maxInflight) {
      void this.poll(i);
      return;
    }
    this.waiting[(this.waitingHead + this.waitingCount) % this.waiting.length] = i;
    this.waitingCount++;
  }

  private token(i: number): string {
    return 'Bearer uo_dev_' + Buffer.from(this.o.tokens.buffer, this.o.tokens.byteOffset + i * 32, 32).toString('base64url');
  }

  private wait(): number {
    return this.o.intervalMs * (1 + this.o.jitter * (2 * this.random() - 1));
  }

  private error(kind: string): void {
    this.counts.errors++;
    this.errorKinds[kind] = (this.errorKinds[kind] ?? 0) + 1;
  }

  private async poll(i: number): Promise<void> {
    this.inflight++;
    const headers: Record<string, string> = { authorization: this.token(i) };
    const etagLength = this.etagLength[i]!;
    if (etagLength) headers['if-none-match'] = Buffer.from(this.etags.buffer, i * ETAG_BYTES, etagLength).toString('latin1');
    const started = this.dueAt[i]!;
    try {
      const response = await this.pools[i % this.pools.length]!.request({ method: 'GET', path: `/api/v1/device/${encodeURIComponent(this.o.idOf(i))}/state`, headers });
      if (response.statusCode === 304) {
        await response.body.dump();
        this.counts.notModified++;
      } else if (response.statusCode === 200) {
        const body = (await response.body.json()) as { update: { executionId: string; version: string; action?: string } | null };
        this.counts.changed++;
        const etag = response.headers.etag;
        if (typeof etag === 'string' && etag.length <= ETAG_BYTES) {
          this.etagLength[i] = Buffer.from(this.etags.buffer, i * ETAG_BYTES, ETAG_BYTES).write(etag, 'latin1');
        } else this.etagLength[i] = 0;
        this.latency.record(Math.max(1, Math.round((performance.now() - started) * 1000)));
        if (body.update) await this.report(i, body.update);
      } else {
        await response.body.dump();
        this.error(String(response.statusCode));
      }
      if (response.statusCode === 304) this.latency.record(Math.max(1, Math.round((performance.now() - started) * 1000)));
      this.counts.polls++;
      if (!(this.flags[i]! & POLLED)) {
        this.flags[i]! |= POLLED;
        this.counts.polled++;
      }
    } catch (error) {
      this.error((error as { code?: string }).code ?? (error as Error).name);
    } finally {
      this.flags[i]! &= ~BUSY;
      if (!this.stopped) this.schedule(i, this.wait());
      this.inflight--;
      if (this.stopped) this.waitingCount = 0;
      while (this.waitingCount > 0 && this.inflight < this.maxInflight) {
        const j = this.waiting[this.waitingHead]!;
        this.waitingHead = (this.waitingHead + 1) % this.waiting.length;
        this.waitingCount--;
        void this.poll(j);
      }
      if (this.inflight === 0 && this.drained) this.drained();
    }
  }

  /**
   * The device installed its image: it reports success with the version it now runs. Told to
   * download only (download ahead), it pulled the image and reports it ready, running what it ran.
   */
  private async report(i: number, update: { executionId: string; version: string; action?: string }): Promise<void> {
    const ahead = update.action === 'download';
    const response = await this.pools[i % this.pools.length]!.request({
      method: 'PATCH',
      path: '/api/v1/device/state',
      headers: { authorization: this.token(i), 'content-type': 'application/json' },
      body: JSON.stringify(ahead ? { execution: { id: update.executionId, state: 'downloaded' } } : { version: update.version, execution: { id: update.executionId, state: 'succeeded' } }),
    });
    await response.body.dump();
    if (response.statusCode === 200) this.counts.reports++;
    else this.error(`report ${response.statusCode}`);
  }
}
