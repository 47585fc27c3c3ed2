// Simulated pull devices whose registry records the caller chooses (ids, tags, time zones), each
// running the real agent code through the simulator's VirtualDevice; devices are started when the
// story wants them to connect. Used by the POS demo and the chaos suite.
import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, fetch as undiciFetch } from 'undici';
import { VirtualDevice } from '../sim/index.js';

/** One device to simulate: its id, its own bearer token and what it runs now. */
export interface VirtualSpec {
  id: string;
  token: string;
  version: string;
}

export interface VirtualFleetOptions {
  /** Base URL the devices poll (a server or a load balancer in front of several). */
  server: string;
  pollSeconds: number;
  /** HTTP connections shared by the fleet. */
  connections?: number;
  /** Share of health checks that fail after an install (the device rolls back). */
  healthFailRate?: number;
  seed?: number;
}

export class VirtualFleet {
  private readonly devices = new Map<string, VirtualDevice>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly controller = new AbortController();
  private readonly dispatcher: HttpAgent;
  private readonly fetchImpl: typeof fetch;
  private seq = 0;

  constructor(private readonly o: VirtualFleetOptions) {
    // Every agent listens on the one stop signal.
    setMaxListeners(0, this.controller.signal);
    this.dispatcher = new HttpAgent({ connections: o.connections ?? 64, keepAliveTimeout: 10_000, pipelining: 1 });
    this.fetchImpl = ((input: string | URL | Request, init?: RequestInit) => undiciFetch(input as string, { ...(init as object), dispatcher: this.dispatcher }) as unknown as Promise<Response>) as typeof fetch;
  }

  /** Prepares devices (not yet connected). */
  async add(specs: VirtualSpec[]): Promise<void> {
    for (const s of specs) {
      const device = new VirtualDevice(
        {
          id: s.id,
          token: s.token,
          version: s.version,
          pollSeconds: this.o.pollSeconds,
          healthFailRate: this.o.healthFailRate ?? 0,
          seed: (this.o.seed ?? 7) * 1_000_003 + this.seq++,
          faults: { downloadDropRate: 0, badHashRate: 0, offline: () => false },
        },
        this.o.server,
        this.fetchImpl,
      );
      await device.init();
      this.devices.set(s.id, device);
    }
  }

  /** Connects devices: their agents start polling (first polls spread over a poll interval). */
  connect(ids: Iterable<string>): void {
    for (const id of ids) {
      const device = this.devices.get(id);
      if (!device || this.running.has(id)) continue;
      const delay = Math.random() * this.o.pollSeconds * 1000;
      this.running.set(
        id,
        new Promise<void>((r) => setTimeout(r, delay)).then(() => (this.controller.signal.aborted ? undefined : device.agent.run(this.controller.signal))),
      );
    }
  }

  /** Makes every connected device poll now instead of at its next interval. */
  wakeAll(): void {
    for (const id of this.running.keys()) this.devices.get(id)!.agent.pollNow();
  }

  connected(id: string): boolean {
    return this.running.has(id);
  }

  /** The version a device runs now (its own state). */
  versionOf(id: string): string | null {
    return this.devices.get(id)?.version ?? null;
  }

  /** Installs the device did itself (counted on the device side). */
  installsOf(id: string): number {
    return this.devices.get(id)?.stats.installs ?? 0;
  }

  /** True when no connected device is in the middle of a job or has a report waiting. */
  idle(ids: Iterable<string>): boolean {
    for (const id of ids) if (this.devices.get(id)?.phase !== 'idle') return false;
    return true;
  }

  get size(): number {
    return this.devices.size;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.running.values());
    await this.dispatcher.close();
  }
}
