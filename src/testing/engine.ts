// Test and benchmark support for the engine: transports that answer without a network, seeded
// devices and artifacts, and a way to await events instead of sleeping.
import { randomUUID } from 'node:crypto';
import type { DeviceInput, EventRecord } from '../core/index.js';
import { DeliveryError, type DeliveryRequest, type DeliveryResult, type Transport } from '../delivery/transport.js';
import type { EventLog, Store, StoredArtifact } from '../store/index.js';

/** A transport whose answer per request comes from `answer` (default: installed at once). */
export class ScriptedTransport implements Transport {
  readonly deliveries: DeliveryRequest[] = [];
  constructor(
    readonly name: string,
    private readonly answer: (request: DeliveryRequest, attempt: number) => Promise<DeliveryResult> | DeliveryResult = (r) => ({ outcome: 'delivered', bytes: r.artifact.size }),
  ) {}

  private waiters: { n: number; resolve: () => void }[] = [];

  /** Resolves once `n` deliveries have started. */
  started(n: number): Promise<void> {
    if (this.deliveries.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async deliver(request: DeliveryRequest): Promise<DeliveryResult> {
    this.deliveries.push(request);
    this.waiters = this.waiters.filter((w) => (w.n <= this.deliveries.length ? (w.resolve(), false) : true));
    const attempt = this.deliveries.filter((d) => d.device.id === request.device.id).length;
    return this.answer(request, attempt);
  }

  async close(): Promise<void> {}
}

/** Waits until aborted, then fails like a cut connection (for cancel tests). */
export function hangUntilAborted(request: DeliveryRequest): Promise<DeliveryResult> {
  return new Promise((_, reject) => {
    const fail = () => reject(new DeliveryError('aborted', 'delivery aborted', true));
    if (request.signal?.aborted) fail();
    request.signal?.addEventListener('abort', fail, { once: true });
  });
}

export async function seedArtifact(store: Store, version = '2.0.0', name = 'firmware'): Promise<StoredArtifact> {
  return store.artifacts.create(
    { id: randomUUID(), name, version, kind: 'file', sha256: 'a'.repeat(64), size: 1024, contentType: 'application/octet-stream', signature: null, imageRef: null, storageKey: null, metadata: {} },
    Date.now(),
  );
}

export function deviceInput(id: string, over: Partial<DeviceInput> = {}): DeviceInput {
  return { id, name: id, address: `http://127.0.0.1:1/${id}`, mode: 'http', status: 'online', lastSeen: null, version: '1.0.0', location: null, timezone: 'UTC', tags: {}, metadata: {}, ...over };
}

export async function seedDevices(store: Store, count: number, over: Partial<DeviceInput> = {}, prefix = 'dev'): Promise<string[]> {
  const devices = Array.from({ length: count }, (_, i) => deviceInput(`${prefix}-${String(i).padStart(6, '0')}`, over));
  for (let i = 0; i < devices.length; i += 5000) await store.devices.upsertMany(devices.slice(i, i + 5000), Date.now());
  return devices.map((d) => d.id);
}

/** Resolves with the first published event matching `match` (rejects after `timeoutMs`). */
export function nextEvent(events: EventLog, match: (e: EventRecord) => boolean, timeoutMs = 20_000): Promise<EventRecord> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = events.subscribe((records) => {
      const hit = records.find(match);
      if (hit) {
        clearTimeout(timer);
        stop();
        resolve(hit);
      }
    });
  });
}

/** A deterministic uniform random source (mulberry32). */
export function seededRandom(seed = 42): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
