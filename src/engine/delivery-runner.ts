// Runs claimed push deliveries in a bounded pool and records their outcomes in batches: the
// outcome of each delivery is buffered and written with many others in one transaction.
import { backoffDelayMs, mayRetry, storableText, type Clock, type Device, type Random, type Rollout } from '../core/index.js';
import { DeliveryError, type Transport } from '../delivery/transport.js';
import type { DeviceVersions } from '../registry/device-versions.js';
import { SecretsKeyError, type ClaimedExecution, type StoredArtifact } from '../store/index.js';
import type { ExecutionChange, Transitions } from './transitions.js';

/** Why an in-flight delivery was aborted. */
type AbortReason = 'cancel' | 'shutdown';

interface Flight {
  execution: ClaimedExecution;
  controller: AbortController;
  reason: AbortReason | null;
  done: Promise<void>;
}

export interface RunnerOptions {
  transitions: Transitions;
  /** Where "this device now runs version X" is written (in the outcomes' transaction, batched). */
  versions: DeviceVersions;
  clock: Clock;
  random: Random;
  transports: ReadonlyMap<string, Transport>;
  artifactFile: (artifact: StoredArtifact) => string | null;
  artifactIndexFile?: (artifact: StoredArtifact) => string | null;
  /** The device with its metadata.auth opened (stored sealed, shown as "[set]" everywhere else). */
  credentials: (device: Device) => Promise<Device>;
  owner: string;
  /** Called after outcomes are durable (there may be room for more work). */
  onFlushed: () => void;
  onError: (error: unknown) => void;
}

/** Outcomes are written once this many are buffered, or a few ms after the first. */
const FLUSH_AT = 500;
const FLUSH_DELAY_MS = 5;

export class DeliveryRunner {
  private readonly flights = new Map<string, Flight>();
  private results: ExecutionChange[] = [];
  private installed: { deviceId: string; version: string }[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly o: RunnerOptions) {}

  get size(): number {
    return this.flights.size;
  }

  /** Nothing in flight and every outcome recorded. */
  isQuiet(): boolean {
    return this.flights.size === 0 && this.results.length === 0 && this.flushTimer === null;
  }

  inFlightIds(): string[] {
    return [...this.flights.keys()];
  }

  /** Starts a delivery; its outcome is recorded later (see flush). */
  start(execution: ClaimedExecution, rollout: Rollout, device: Device | undefined, artifact: StoredArtifact | null): void {
    const controller = new AbortController();
    const flight: Flight = { execution, controller, reason: null, done: Promise.resolve() };
    this.flights.set(execution.id, flight);
    flight.done = this.run(flight, rollout, device, artifact);
  }

  /** Aborts in-flight deliveries of a rollout (cancelled, failed) or all of them (shutdown). */
  abort(filter: (execution: ClaimedExecution) => boolean, reason: AbortReason): void {
    for (const flight of this.flights.values()) {
      if (flight.reason === null && filter(flight.execution)) {
        flight.reason = reason;
        flight.controller.abort(new Error(reason === 'cancel' ? 'rollout stopped' : 'engine stopping'));
      }
    }
  }

  /** Rollouts with deliveries in flight here. */
  rolloutIds(): Set<string> {
    return new Set([...this.flights.values()].map((f) => f.execution.rolloutId));
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.flights.values()].map((f) => f.done));
    await this.flush();
  }

  private async run(flight: Flight, rollout: Rollout, device: Device | undefined, artifact: StoredArtifact | null): Promise<void> {
    const e = flight.execution;
    const base = { id: e.id, rolloutId: e.rolloutId, deviceId: e.deviceId, attempt: e.attempts, from: 'delivering' as const, leaseOwner: this.o.owner };
    let change: ExecutionChange;
    try {
      if (!device) throw new DeliveryError('device_gone', `device '${e.deviceId}' no longer exists`, false);
      if (!artifact) throw new DeliveryError('artifact_gone', `artifact '${e.artifactId}' no longer exists`, false);
      if (rollout.revert) throw new DeliveryError('no_revert', 'a rollback that switches back to the previous slot needs the device\'s agent; a push device has no slot to switch', false);
      const transport = this.o.transports.get(device.mode);
      if (!transport) throw new DeliveryError('no_transport', `this server has no transport for devices of mode '${device.mode}'`, false);
      const indexFile = artifact.chunkIndex ? (this.o.artifactIndexFile?.(artifact) ?? null) : null;
      const chunkIndex = indexFile && artifact.chunkIndex ? { file: indexFile, sha256: artifact.chunkIndex.sha256, signature: artifact.chunkIndex.signature } : null;
      const pushed = await this.o.credentials(device).catch((error: unknown) => {
        throw error instanceof SecretsKeyError ? new DeliveryError('bad_credentials', error.message, false) : error;
      });
      const result = await transport.deliver({ updateId: e.id, device: pushed, artifact, filePath: this.o.artifactFile(artifact), chunkIndex, signal: flight.controller.signal });
      change = { ...base, to: 'succeeded', bytes: result.bytes, bytesFetched: result.bytesSent ?? result.bytes, bytesReused: result.bytesReused ?? 0, error: null };
      this.installed.push({ deviceId: e.deviceId, version: artifact.version });
    } catch (error) {
      // Stored and shown to operators; its text may come from the device.
      const message = storableText(error instanceof Error ? `${error instanceof DeliveryError ? error.code + ': ' : ''}${error.message}` : String(error), 2000);
      const now = this.o.clock.now();
      if (flight.reason === 'cancel') change = { ...base, to: 'cancelled', error: 'rollout stopped while delivering' };
      else if (flight.reason === 'shutdown') change = { ...base, to: 'pending', error: 'engine stopped while delivering', nextAttemptAt: now };
      else if ((!(error instanceof DeliveryError) || error.retryable) && mayRetry(rollout.retry, e.attempts)) {
        change = { ...base, to: 'pending', error: message, nextAttemptAt: now + backoffDelayMs(rollout.retry, e.attempts, this.o.random) };
      } else change = { ...base, to: 'failed', error: message };
    }
    this.flights.delete(e.id);
    this.results.push(change);
    if (this.results.length >= FLUSH_AT) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  /** Writes buffered outcomes (and the versions devices now run) in one transaction. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const batch = this.results;
    const installed = this.installed;
    this.results = [];
    this.installed = [];
    if (batch.length === 0) return;
    try {
      await this.o.transitions.apply(batch, 'engine', async (tx, changed) => {
        const done = new Set(changed.filter((c) => c.to === 'succeeded').map((c) => c.deviceId));
        await this.o.versions.record(installed.filter((i) => done.has(i.deviceId)), { tx });
      });
    } catch (error) {
      // The database is unreachable: keep the outcomes and try again shortly.
      this.o.onError(error);
      this.results.unshift(...batch);
      this.installed.unshift(...installed);
      this.flushTimer ??= setTimeout(() => void this.flush(), 1000);
      return;
    }
    this.o.onFlushed();
  }
}
