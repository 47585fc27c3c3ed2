// The poll hot path: each device's target state, serialized once with its strong ETag and kept in
// memory until the engine says the device's target changed (onTargetChanged, which also crosses
// servers on PostgreSQL via NOTIFY). A poll that hits the cache costs no database query.
import type { Artifact, HealthCheck, InstallSpec, TargetChunkIndex, TargetState, TargetUpdate } from '../core/index.js';
import type { DeviceSync, DeviceTarget } from '../engine/device-sync.js';
import { strongEtag } from '../http/index.js';
import type { EnrollmentState } from '../store/index.js';

/** A serialized target state ready to send. */
export interface CachedTarget {
  etag: string;
  body: string;
  state: TargetState;
}

export interface TargetCacheDeps {
  sync: Pick<DeviceSync, 'currentTarget' | 'onTargetChanged'>;
  /** The device's enrollment state; null when it does not exist. */
  enrollmentOf(deviceId: string): Promise<EnrollmentState | null>;
  /** The download URL (path) to put in the target for this device and artifact. */
  downloadUrl(deviceId: string, artifact: Artifact): string | null;
  pollIntervalSeconds: number;
  /** Most entries kept; the cache is cleared when it would grow past this. */
  maxEntries?: number;
}

/** Install handler and health checks come from the artifact's metadata (`install`, `healthChecks`). */
export function installOf(artifact: Artifact): { install: InstallSpec; healthChecks: HealthCheck[]; healthDeadlineSeconds?: number } {
  const meta = artifact.metadata ?? {};
  const raw = meta.install as Partial<InstallSpec> | undefined;
  const handler = raw?.handler === 'script' || raw?.handler === 'container' || raw?.handler === 'file' ? raw.handler : artifact.kind === 'image' ? 'container' : 'file';
  const settings = raw?.settings && typeof raw.settings === 'object' ? raw.settings : {};
  const healthChecks = Array.isArray(meta.healthChecks) ? (meta.healthChecks as HealthCheck[]) : [];
  const deadline = typeof meta.healthDeadlineSeconds === 'number' ? meta.healthDeadlineSeconds : undefined;
  return { install: { handler, settings }, healthChecks, ...(deadline !== undefined ? { healthDeadlineSeconds: deadline } : {}) };
}

function chunkIndexOf(artifact: Artifact, downloadUrl: string | null): TargetChunkIndex | null {
  return artifact.kind === 'file' && downloadUrl && artifact.chunkIndex ? { url: `${downloadUrl}/index`, sha256: artifact.chunkIndex.sha256, signature: artifact.chunkIndex.signature, chunks: artifact.chunkIndex.chunks, bytes: artifact.chunkIndex.bytes } : null;
}

/** A multi-component target: each component on its own, the top level the release (see TargetUpdate.components). */
function multiComponentUpdate(target: DeviceTarget, components: NonNullable<DeviceTarget['components']>, urlOf: (artifact: Artifact) => string | null): TargetUpdate {
  const parts = components.items.map(({ component, artifact }) => {
    const url = artifact.kind === 'file' ? urlOf(artifact) : null;
    return {
      component,
      artifactId: artifact.id,
      name: artifact.name,
      version: artifact.version,
      sha256: artifact.sha256,
      size: artifact.size,
      signature: artifact.signature,
      imageRef: artifact.imageRef,
      downloadUrl: url,
      index: chunkIndexOf(artifact, url),
      install: installOf(artifact).install,
    };
  });
  const installs = components.items.map(({ artifact }) => installOf(artifact));
  const deadlines = installs.flatMap((i) => (i.healthDeadlineSeconds === undefined ? [] : [i.healthDeadlineSeconds]));
  return {
    executionId: target.execution.id,
    rolloutId: target.execution.rolloutId,
    artifactId: target.artifact.id,
    name: components.release.name,
    version: components.release.version,
    sha256: null,
    size: parts.reduce((sum, p) => sum + p.size, 0),
    signature: null,
    imageRef: null,
    downloadUrl: null,
    install: parts[0]!.install,
    healthChecks: installs.flatMap((i) => i.healthChecks),
    ...(deadlines.length ? { healthDeadlineSeconds: Math.max(...deadlines) } : {}),
    components: parts,
    ...(target.rollout.downloadAhead ? { action: target.gate.action, installAfter: target.gate.installAfter === null ? null : new Date(target.gate.installAfter).toISOString() } : {}),
  };
}

export function toTargetUpdate(target: DeviceTarget, downloadUrl: string | null, urlOf: (artifact: Artifact) => string | null = () => null): TargetUpdate {
  const { execution, artifact } = target;
  if (target.components && !target.rollout.revert) return multiComponentUpdate(target, target.components, urlOf);
  if (target.rollout.revert) {
    return {
      executionId: execution.id,
      rolloutId: execution.rolloutId,
      artifactId: artifact.id,
      name: artifact.name,
      version: artifact.version,
      sha256: null,
      size: 0,
      signature: null,
      imageRef: null,
      downloadUrl: null,
      install: installOf(artifact).install,
      healthChecks: [],
      revert: { sha256: artifact.sha256, imageRef: artifact.imageRef },
    };
  }
  return {
    executionId: execution.id,
    rolloutId: execution.rolloutId,
    artifactId: artifact.id,
    name: artifact.name,
    version: artifact.version,
    sha256: artifact.sha256,
    size: artifact.size,
    signature: artifact.signature,
    imageRef: artifact.imageRef,
    downloadUrl: artifact.kind === 'file' ? downloadUrl : null,
    index: chunkIndexOf(artifact, downloadUrl),
    ...installOf(artifact),
    // Only download-ahead targets say what to do, so every other target (and its ETag) stays as it was.
    ...(target.rollout.downloadAhead ? { action: target.gate.action, installAfter: target.gate.installAfter === null ? null : new Date(target.gate.installAfter).toISOString() } : {}),
  };
}

/**
 * What the cache keeps per device: the whole entry, or for the common state without an update
 * (accepted, nothing to do) only its ETag, since its body follows from the device id. At a
 * million devices that is about 60 bytes a device instead of about 400.
 */
type Kept = CachedTarget | string;

export class TargetCache {
  private readonly entries = new Map<string, Kept>();
  /** Computations in flight; `stale` is set when the device's target changed meanwhile, so it is not cached. */
  private readonly inflight = new Map<string, { promise: Promise<CachedTarget>; stale: boolean }>();
  private readonly unsubscribe: () => void;
  hits = 0;
  misses = 0;

  constructor(private readonly deps: TargetCacheDeps) {
    this.unsubscribe = deps.sync.onTargetChanged((ids) => this.invalidate(ids));
  }

  /** The cached ETag, if there is one (no computation, no promise, no allocation: the fast poll path). */
  etagOf(deviceId: string): string | undefined {
    const hit = this.entries.get(deviceId);
    if (hit === undefined) return undefined;
    this.hits++;
    return typeof hit === 'string' ? hit : hit.etag;
  }

  /** The device's current target state; null when the device does not exist. */
  async get(deviceId: string): Promise<CachedTarget | null> {
    const hit = this.entries.get(deviceId);
    if (hit !== undefined) {
      this.hits++;
      return typeof hit === 'string' ? this.idle(deviceId, hit) : hit;
    }
    this.misses++;
    let pending = this.inflight.get(deviceId);
    if (!pending) {
      const flight: { promise: Promise<CachedTarget>; stale: boolean } = { promise: Promise.resolve(null as unknown as CachedTarget), stale: false };
      flight.promise = this.compute(deviceId, flight).finally(() => {
        if (this.inflight.get(deviceId) === flight) this.inflight.delete(deviceId);
      });
      this.inflight.set(deviceId, (pending = flight));
    }
    const entry = await pending.promise;
    return entry.state.deviceId ? entry : null;
  }

  /** Forgets these devices' entries (their target may have changed). */
  invalidate(deviceIds: string[]): void {
    for (const id of deviceIds) {
      this.entries.delete(id);
      const flight = this.inflight.get(id);
      if (flight) {
        flight.stale = true;
        this.inflight.delete(id);
      }
    }
  }

  /** Forgets everything (e.g. after a reconnect of the change feed). */
  clear(): void {
    this.entries.clear();
    for (const flight of this.inflight.values()) flight.stale = true;
    this.inflight.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  close(): void {
    this.unsubscribe();
  }

  /** The accepted state without an update, rebuilt from what the cache kept of it. */
  private idle(deviceId: string, etag: string): CachedTarget {
    const state: TargetState = { deviceId, enrollment: 'accepted', pollIntervalSeconds: this.deps.pollIntervalSeconds, update: null };
    return { etag, body: JSON.stringify(state), state };
  }

  private async compute(deviceId: string, flight: { stale: boolean }): Promise<CachedTarget> {
    const enrollment = await this.deps.enrollmentOf(deviceId);
    if (enrollment === null || enrollment === 'rejected') return { etag: '', body: '', state: { deviceId: '', enrollment: 'pending', pollIntervalSeconds: 0, update: null } };
    let update: TargetUpdate | null = null;
    if (enrollment === 'accepted') {
      const target = await this.deps.sync.currentTarget(deviceId);
      if (target) update = toTargetUpdate(target, this.deps.downloadUrl(deviceId, target.artifact), (artifact) => this.deps.downloadUrl(deviceId, artifact));
    }
    const state: TargetState = { deviceId, enrollment, pollIntervalSeconds: this.deps.pollIntervalSeconds, update };
    const body = JSON.stringify(state);
    const entry = { etag: strongEtag(body), body, state };
    // Pending devices are not cached: their acceptance may happen on another server.
    if (!flight.stale && enrollment === 'accepted') {
      if (this.entries.size >= (this.deps.maxEntries ?? 1_000_000)) this.entries.clear();
      this.entries.set(deviceId, update === null ? entry.etag : entry);
    }
    return entry;
  }
}
