// Device presence from heartbeats: every poll and report marks the device seen in memory; once a
// second the seen ids are flushed in one UPDATE. A periodic job (run by one server at a time, under
// a store lock) marks devices offline after missed polls. Both emit device.online / device.offline.
import { randomUUID } from 'node:crypto';
import type { Clock, EventRecord } from '../core/index.js';
import type { EventLog, Store } from '../store/index.js';

export interface PresenceOptions {
  store: Pick<Store, 'deviceReports' | 'locks'>;
  events: EventLog;
  clock: Clock;
  pollIntervalSeconds: number;
  offlineAfterMissedPolls: number;
  /** Told about every flushed batch of seen devices (the engine's on-connect rollouts). */
  onSeen?: (deviceIds: string[]) => Promise<void>;
  flushEveryMs?: number;
  /** How often the offline sweep runs (default: the poll interval, at most 30 s). */
  sweepEveryMs?: number;
  onError?: (error: unknown) => void;
}

const LOCK = 'presence.offline-sweep';
/** Devices marked offline per transaction (see DeviceReportRepository.markOffline). */
const SWEEP_BATCH = 2_000;

export class PresenceService {
  private seen = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly owner = `presence-${randomUUID()}`;

  constructor(private readonly options: PresenceOptions) {}

  /** Records a heartbeat; costs a Set insert. */
  seenNow(deviceId: string): void {
    this.seen.add(deviceId);
  }

  start(): void {
    const flushEvery = this.options.flushEveryMs ?? 1000;
    const sweepEvery = this.options.sweepEveryMs ?? Math.min(this.options.pollIntervalSeconds * 1000, 30_000);
    this.flushTimer = setInterval(() => void this.flush().catch((e) => this.options.onError?.(e)), flushEvery);
    this.sweepTimer = setInterval(() => void this.sweep().catch((e) => this.options.onError?.(e)), sweepEvery);
    this.flushTimer.unref();
    this.sweepTimer.unref();
  }

  /** Writes the heartbeats collected so far (one statement per few thousand devices). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.seen.size === 0) return;
      const ids = [...this.seen];
      this.seen = new Set();
      const now = this.options.clock.now();
      let records: EventRecord[] = [];
      await this.options.store.deviceReports.touchMany(ids, now, async (cameOnline, tx) => {
        records = records.concat(await this.options.events.append(cameOnline.map((deviceId) => ({ type: 'device.online', actor: 'system', deviceId })), tx));
      });
      this.options.events.publish(records);
      await this.options.onSeen?.(ids);
    });
    return this.flushing;
  }

  /** Marks devices offline that missed too many polls; only the lock holder does it. */
  async sweep(now = this.options.clock.now()): Promise<string[]> {
    const intervalMs = this.options.pollIntervalSeconds * 1000;
    if (!(await this.options.store.locks.acquire(LOCK, this.owner, now, Math.max(intervalMs * 2, 10_000)))) return [];
    const cutoff = now - intervalMs * this.options.offlineAfterMissedPolls;
    const all: string[] = [];
    for (;;) {
      let records: EventRecord[] = [];
      // The status change and its events commit together: readers never see one without the other.
      const ids = await this.options.store.deviceReports.markOffline(
        cutoff,
        now,
        async (marked, tx) => {
          records = await this.options.events.append(marked.map((deviceId) => ({ type: 'device.offline', actor: 'system', deviceId, data: { lastSeenBefore: new Date(cutoff).toISOString() } })), tx);
        },
        SWEEP_BATCH,
      );
      this.options.events.publish(records);
      all.push(...ids);
      if (ids.length < SWEEP_BATCH) return all;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.sweepTimer);
    await this.flush().catch((e) => this.options.onError?.(e));
    await this.options.store.locks.release(LOCK, this.owner).catch(() => {});
  }
}
