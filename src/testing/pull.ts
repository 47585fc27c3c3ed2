// Test support for the pull protocol: a DeviceSync whose targets a test sets by hand (the engine's
// boundary, for testing the device API and the agent on their own), and artifact helpers.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { isForward, NotFoundError, ConflictError, systemClock, type Artifact, type Execution, type ExecutionState, type Rollout } from '../core/index.js';
import type { DeviceStateReport, DeviceSync, DeviceTarget, ExecutionReport, TargetChangedListener } from '../engine/device-sync.js';
import type { Store } from '../store/index.js';
import { DeviceVersions } from '../registry/device-versions.js';
import type { App } from '../app.js';

/** Targets set by the test; reports move the stored execution forward like the engine does. */
export class ManualTargets implements DeviceSync {
  private readonly targets = new Map<string, DeviceTarget>();
  private readonly listeners = new Set<TargetChangedListener>();
  readonly reports: { deviceId: string; report: ExecutionReport }[] = [];
  readonly seen: string[] = [];
  /** Resolvers waiting for an execution to reach a state. */
  private readonly waiters: { id: string; states: string[]; resolve: (e: Execution) => void }[] = [];
  /** The app's store, for a report's version and other writes (startTestApp sets it). */
  private store: Store | null = null;

  useStore(store: Store): void {
    this.store = store;
  }

  /** Targets `deviceId` with `artifact`; answers the execution. */
  target(deviceId: string, artifact: Artifact): Execution {
    const now = new Date().toISOString();
    const execution: Execution = {
      id: randomUUID(), rolloutId: 'test-rollout', deviceId, artifactId: artifact.id, phase: 0, state: 'queued', attempts: 1, nextAttemptAt: null, leaseOwner: null, leaseExpiresAt: null,
      pull: true, bytes: 0, bytesFetched: null, bytesReused: null, error: null, note: null, installedAfterCancel: false, previousArtifactId: null, previousVersion: null, createdAt: now, updatedAt: now, stateSince: now, startedAt: now, finishedAt: null,
    };
    this.targets.set(deviceId, { execution, rollout: { id: 'test-rollout' } as Rollout, artifact, gate: { action: 'install', installAfter: null } });
    this.changed([deviceId]);
    return execution;
  }

  clear(deviceId: string): void {
    this.targets.delete(deviceId);
    this.changed([deviceId]);
  }

  execution(deviceId: string): Execution | null {
    return this.targets.get(deviceId)?.execution ?? null;
  }

  /** Resolves when the execution reaches one of `states`. */
  until(executionId: string, ...states: string[]): Promise<Execution> {
    for (const t of this.targets.values()) if (t.execution.id === executionId && states.includes(t.execution.state)) return Promise.resolve(t.execution);
    return new Promise((resolve) => this.waiters.push({ id: executionId, states, resolve }));
  }

  private changed(ids: string[]): void {
    for (const listener of this.listeners) listener(ids);
  }

  async currentTarget(deviceId: string): Promise<DeviceTarget | null> {
    const target = this.targets.get(deviceId);
    return target && !['succeeded', 'failed', 'rolled-back', 'cancelled'].includes(target.execution.state) ? target : null;
  }

  async applyReport(deviceId: string, report: ExecutionReport): Promise<Execution> {
    this.reports.push({ deviceId, report });
    const target = this.targets.get(deviceId);
    if (!target || target.execution.id !== report.id) throw new NotFoundError('execution', report.id);
    const execution = target.execution;
    if (execution.state === 'cancelled') throw new ConflictError('cancelled');
    if (isForward(execution.state, report.state)) {
      execution.state = report.state;
      execution.bytes = report.bytes ?? execution.bytes;
      execution.bytesFetched = report.bytesFetched ?? execution.bytesFetched;
      execution.bytesReused = report.bytesReused ?? execution.bytesReused;
      execution.error = report.error ?? execution.error;
    }
    for (const w of [...this.waiters]) {
      if (w.id === execution.id && w.states.includes(execution.state)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(execution);
      }
    }
    return execution;
  }

  /** The version first (kept when the execution refuses the report), then the execution, then the report's other writes. */
  async reportState(deviceId: string, report: DeviceStateReport): Promise<{ id: string; state: ExecutionState } | null> {
    const store = this.store;
    if (!store) throw new Error('ManualTargets: call useStore(app.store) first (startTestApp does)');
    // The one version rule (its bound on length, an empty version ignored), as the engine's sync records it.
    if (report.version) await new DeviceVersions(store, systemClock).recordOne(deviceId, report.version);
    const execution = report.execution ? await this.applyReport(deviceId, report.execution) : null;
    if (report.alongside) await store.transaction(report.alongside);
    return execution ? { id: execution.id, state: execution.state } : null;
  }

  async openDownload(deviceId: string, artifactId: string): Promise<string | null> {
    const target = await this.currentTarget(deviceId);
    return target?.artifact.id === artifactId ? target.execution.rolloutId : null;
  }

  onTargetChanged(listener: TargetChangedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async deviceSeen(deviceIds: string[]): Promise<void> {
    this.seen.push(...deviceIds);
  }
}

/** Uploads bytes as an artifact through the app's artifact service. */
export async function uploadArtifact(app: App, bytes: Buffer, input: { name: string; version: string; signature?: string; publicKey?: string; metadata?: Record<string, unknown> }): Promise<Artifact> {
  return (await app.artifacts.upload(Readable.from([bytes]), input, 'test')).artifact;
}

/** Registers a pull device and issues its token. */
export async function addPullDevice(app: App, id: string): Promise<string> {
  await app.devices.create({ id, mode: 'pull' }, 'test');
  return (await app.enrollment.issueToken(id, 'test')).token;
}
