// A fleet of simulated pull devices in one process, enrolled into a running server: for demos,
// tests and benchmarks. Each device runs the real agent code (src/agent) with in-memory installs.
import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, fetch as undiciFetch } from 'undici';
import { AgentClient } from '../agent/index.js';
import { seededRandom } from './faults.js';
import { VirtualDevice } from './virtual-agent.js';

export interface FleetOptions {
  server: string;
  /** Admin token (creates an enrollment key) or operator token with enroll: 'token'. */
  token: string;
  devices: number;
  idPrefix?: string;
  /** 'key': each device enrolls itself with an auto-accept enrollment key; 'token': devices are imported and issued tokens. */
  enroll?: 'key' | 'token';
  pollSeconds?: number;
  /** Versions devices start with (spread evenly). */
  versions?: string[];
  timezones?: string[];
  locations?: string[];
  tags?: Record<string, string>;
  /** Share of devices offline for the first `offlineSeconds`. */
  offlineRate?: number;
  offlineSeconds?: number;
  downloadDropRate?: number;
  badHashRate?: number;
  healthFailRate?: number;
  seed?: number;
  /** HTTP connections shared by the whole fleet. */
  connections?: number;
}

export interface FleetSummary {
  devices: number;
  elapsedS: number;
  requests: number;
  polls: number;
  notModified: number;
  /** Requests that failed unexpectedly: HTTP >= 400 or network errors (simulated faults excluded). */
  errors: number;
  versions: Record<string, number>;
  phases: Record<string, number>;
  /** Devices that finished at least one update (any outcome). */
  finished: number;
  installs: number;
  rollbacks: number;
  drops: number;
  corruptions: number;
  pollP50Ms: number;
  pollP99Ms: number;
}

// A uniform reservoir: percentiles stay cheap to compute every second with thousands of devices.
const MAX_SAMPLES = 20_000;

/** Poll latencies and unexpected failures, measured under the fault layer. */
class Meter {
  requests = 0;
  errors = 0;
  lastError: string | null = null;
  private samples: number[] = [];
  private pollsSeen = 0;

  wrap(base: typeof fetch): typeof fetch {
    return async (input, init) => {
      const started = performance.now();
      this.requests++;
      try {
        const response = await base(input, init);
        if (response.status >= 400) {
          this.errors++;
          this.lastError = `${init?.method ?? 'GET'} ${String(input)} -> ${response.status}`;
        }
        if ((init?.method ?? 'GET') === 'GET' && String(input).endsWith('/state')) {
          // Reservoir sampling (algorithm R): every poll has the same chance to be kept.
          const seen = ++this.pollsSeen;
          if (this.samples.length < MAX_SAMPLES) this.samples.push(performance.now() - started);
          else {
            const slot = Math.floor(Math.random() * seen);
            if (slot < MAX_SAMPLES) this.samples[slot] = performance.now() - started;
          }
        }
        return response;
      } catch (error) {
        this.errors++;
        this.lastError = (error as Error).message;
        throw error;
      }
    };
  }

  percentile(p: number): number {
    if (this.samples.length === 0) return 0;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
  }
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export class Fleet {
  readonly devices: VirtualDevice[] = [];
  private readonly meter = new Meter();
  private readonly dispatcher: HttpAgent;
  private readonly fetchImpl: typeof fetch;
  private controller = new AbortController();
  private running: Promise<void>[] = [];
  private startedAt = 0;

  private constructor(readonly options: FleetOptions) {
    this.dispatcher = new HttpAgent({ connections: options.connections ?? 64, keepAliveTimeout: 30_000, pipelining: 1 });
    const base = ((input: string | URL | Request, init?: RequestInit) => undiciFetch(input as string, { ...(init as object), dispatcher: this.dispatcher }) as unknown as Promise<Response>) as typeof fetch;
    this.fetchImpl = this.meter.wrap(base);
  }

  /** Registers the devices with the server (enrollment or issued tokens) and prepares their agents. */
  static async create(options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(options);
    await fleet.register();
    return fleet;
  }

  private async api<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const response = await this.fetchImpl(`${this.options.server.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.options.token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async register(): Promise<void> {
    const o = this.options;
    const random = seededRandom(o.seed ?? 1);
    const prefix = o.idPrefix ?? 'sim-';
    const versions = o.versions ?? ['1.0.0'];
    const width = String(o.devices - 1).length;
    const specs = Array.from({ length: o.devices }, (_, i) => ({
      id: `${prefix}${String(i).padStart(width, '0')}`,
      version: versions[i % versions.length]!,
      timezone: o.timezones?.[i % o.timezones.length] ?? 'UTC',
      location: o.locations?.[i % o.locations.length] ?? null,
      offlineUntil: random() < (o.offlineRate ?? 0) ? (o.offlineSeconds ?? 30) * 1000 : 0,
      token: '',
    }));
    if ((o.enroll ?? 'key') === 'key') {
      const { key } = await this.api<{ key: string }>('POST', '/api/v1/enrollment-keys', { name: `simulator-${Date.now()}`, autoAccept: true, maxUses: o.devices, expiresInSeconds: 3600 });
      await inParallel(specs, 32, async (s) => {
        const enrolled = await AgentClient.enroll(o.server, { enrollmentKey: key, id: s.id, version: s.version, timezone: s.timezone, ...(s.location ? { location: s.location } : {}), ...(o.tags ? { tags: o.tags } : {}) }, this.fetchImpl);
        s.token = enrolled.token;
      });
    } else {
      const lines = specs.map((s) => JSON.stringify({ id: s.id, name: s.id, mode: 'pull', version: s.version, timezone: s.timezone, location: s.location, tags: o.tags ?? {} })).join('\n');
      await this.api('POST', '/api/v1/devices/import?format=ndjson', lines, 'application/x-ndjson');
      await inParallel(specs, 32, async (s) => {
        s.token = (await this.api<{ token: string }>('POST', `/api/v1/devices/${encodeURIComponent(s.id)}/token`)).token;
      });
    }
    for (const [i, s] of specs.entries()) {
      const offlineUntil = s.offlineUntil;
      const device = new VirtualDevice(
        {
          id: s.id,
          token: s.token,
          version: s.version,
          pollSeconds: o.pollSeconds ?? 5,
          healthFailRate: o.healthFailRate ?? 0,
          seed: (o.seed ?? 1) * 1_000_003 + i,
          faults: { downloadDropRate: o.downloadDropRate ?? 0, badHashRate: o.badHashRate ?? 0, offline: () => offlineUntil > 0 && performance.now() - this.startedAt < offlineUntil },
        },
        o.server,
        this.fetchImpl,
      );
      await device.init();
      this.devices.push(device);
    }
  }

  /** Starts every agent, first polls spread over one poll interval. */
  start(): void {
    this.startedAt = performance.now();
    this.controller = new AbortController();
    const signal = this.controller.signal;
    // Every device's agent listens on the one fleet-wide stop signal.
    setMaxListeners(0, signal);
    const spread = (this.options.pollSeconds ?? 5) * 1000;
    const random = seededRandom((this.options.seed ?? 1) + 7);
    this.running = this.devices.map(async (device) => {
      await new Promise((r) => setTimeout(r, random() * spread));
      if (!signal.aborted) await device.agent.run(signal);
    });
  }

  /** Polls every device at once (e.g. right after a rollout started), instead of waiting. */
  wakeAll(): void {
    for (const device of this.devices) device.agent.pollNow();
  }

  summary(): FleetSummary {
    const versions: Record<string, number> = {};
    const phases: Record<string, number> = {};
    const totals = { polls: 0, notModified: 0, finished: 0, installs: 0, rollbacks: 0, drops: 0, corruptions: 0 };
    for (const d of this.devices) {
      const v = d.version ?? 'none';
      versions[v] = (versions[v] ?? 0) + 1;
      phases[d.phase] = (phases[d.phase] ?? 0) + 1;
      totals.polls += d.agent.stats.polls;
      totals.notModified += d.agent.stats.notModified;
      if (d.agent.current.done.length > 0) totals.finished++;
      totals.installs += d.stats.installs;
      totals.rollbacks += d.stats.rollbacks;
      totals.drops += d.stats.drops;
      totals.corruptions += d.stats.corruptions;
    }
    return {
      devices: this.devices.length,
      elapsedS: Math.round((performance.now() - this.startedAt) / 10) / 100,
      requests: this.meter.requests,
      errors: this.meter.errors,
      versions,
      phases,
      ...totals,
      pollP50Ms: this.meter.percentile(50),
      pollP99Ms: this.meter.percentile(99),
    };
  }

  get lastError(): string | null {
    return this.meter.lastError;
  }

  /** Resolves when `done(summary)` holds (checked every `everyMs`), or rejects after `timeoutMs`. */
  async waitUntil(done: (s: FleetSummary) => boolean, options: { timeoutMs: number; everyMs?: number; onTick?: (s: FleetSummary) => void }): Promise<FleetSummary> {
    const until = performance.now() + options.timeoutMs;
    for (;;) {
      const summary = this.summary();
      options.onTick?.(summary);
      if (done(summary)) return summary;
      if (performance.now() > until) throw new Error(`the fleet did not get there in ${options.timeoutMs} ms: ${JSON.stringify(summary)}`);
      await new Promise((r) => setTimeout(r, options.everyMs ?? 200));
    }
  }

  async stop(): Promise<FleetSummary> {
    this.controller.abort();
    await Promise.all(this.running);
    const summary = this.summary();
    await this.dispatcher.close();
    return summary;
  }
}
