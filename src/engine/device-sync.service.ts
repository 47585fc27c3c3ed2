// The engine's side of the pull protocol (contract in device-sync.ts): what a device should run,
// its progress reports applied through the state machine, target-change notifications, and
// on-connect releases when a device shows up.
import { ConflictError, NotFoundError, installGate, isForward, isTerminal, type Artifact, type Clock, type Execution, type ExecutionState, type InstallGate, type NewEvent, type Release, type Rollout } from '../core/index.js';
import type { DeviceVersions } from '../registry/device-versions.js';
import type { Repositories, Store, StoreTransaction } from '../store/index.js';
import type { DeviceStateReport, DeviceSync, DeviceTarget, ExecutionReport, TargetChangedListener } from './device-sync.js';
import type { Engine } from './engine.js';
import type { TargetChanges } from '../cluster/target-changes.js';
import { ReportQueue, type Settled } from './report-queue.js';
import type { ExecutionChange, Transitions } from './transitions.js';

/** States before an install starts, and the reports that say it started (download-ahead guard). */
const BEFORE_INSTALL: readonly string[] = ['queued', 'downloading', 'downloaded'];
const INSTALL_ON: readonly string[] = ['installing', 'verifying', 'succeeded', 'rolled-back'];

/** What a report does to its execution: refused (the report's unit of work then commits only the version), or the execution afterwards and the events to append. */
type Outcome = { refused: Error } | { execution: ReportAnswer; events: NewEvent[]; terminal: boolean };

/** A report waiting for its batch, and what it answers (the execution's id and state afterwards). */
interface ReportEntry {
  deviceId: string;
  report: DeviceStateReport;
  actor: string;
}
type ReportAnswer = { id: string; state: ExecutionState } | null;

/** Rollouts and artifacts change rarely; the poll path reads them from a short-lived cache. */
const CACHE_MS = 2_000;

export class DeviceSyncService implements DeviceSync {
  private readonly rollouts = new Map<string, { value: Rollout | null; at: number }>();
  private readonly artifacts = new Map<string, { value: Artifact | null; at: number }>();
  private readonly releases = new Map<string, { value: Release | null; at: number }>();
  /** Device reports, group-committed: one SQLite connection writes one batch at a time, a PostgreSQL pool a few. */
  private readonly reports: ReportQueue<ReportEntry, ReportAnswer>;

  constructor(
    private readonly store: Store,
    private readonly transitions: Transitions,
    private readonly versions: DeviceVersions,
    private readonly targetChanges: TargetChanges,
    private readonly engine: Pick<Engine, 'onConnectRollouts' | 'releaseFor'>,
    private readonly clock: Clock,
  ) {
    this.reports = new ReportQueue((entries) => this.writeReports(entries), { concurrency: store.dialect === 'sqlite' ? 1 : 2 });
  }

  async currentTarget(deviceId: string): Promise<DeviceTarget | null> {
    const execution = await this.store.executions.currentForDevice(deviceId);
    if (!execution) return null;
    let rollout = await this.cached(this.rollouts, execution.rolloutId, (id) => this.store.rollouts.find(id));
    const artifact = await this.cached(this.artifacts, execution.artifactId, (id) => this.store.artifacts.get(id));
    // Download ahead: whether it may install depends on the status (a pause holds it), read fresh.
    if (rollout?.downloadAhead) rollout = await this.store.rollouts.find(rollout.id);
    if (!rollout || !artifact) return null;
    const components = rollout.releaseId ? await this.componentsOf(execution, rollout.releaseId) : undefined;
    if (components === null) return null;
    return { execution, rollout, artifact, ...(components ? { components } : {}), gate: await this.gateFor(rollout, deviceId) };
  }

  /** The components of an execution of a release, when it has several; null when one is gone. */
  private async componentsOf(execution: Execution, releaseId: string): Promise<DeviceTarget['components'] | null | undefined> {
    const list = await this.store.executions.componentsOf(execution.rolloutId, execution.deviceId);
    if (list.length < 2) return undefined;
    const release = await this.cached(this.releases, releaseId, (id) => this.store.releases.get(id));
    const items: { component: string; artifact: Artifact }[] = [];
    for (const c of list) {
      const artifact = await this.cached(this.artifacts, c.artifactId, (id) => this.store.artifacts.get(id));
      if (!artifact) return null;
      items.push({ component: c.component, artifact });
    }
    return { release: release ? { name: release.name, version: release.version } : { name: items[0]!.artifact.name, version: items[0]!.artifact.version }, items };
  }

  /** Whether the device may install now (core/download-ahead.ts), in its own zone unless the window fixes one. */
  private async gateFor(rollout: Rollout, deviceId: string, repos: Pick<Repositories, 'devices'> = this.store): Promise<InstallGate> {
    const now = this.clock.now();
    if (!rollout.downloadAhead || !rollout.window) return installGate(rollout, null, now);
    const zone = rollout.window.timezone ?? (await repos.devices.get(deviceId))?.timezone;
    return installGate(rollout, zone, now);
  }

  async applyReport(deviceId: string, report: ExecutionReport, actor: string): Promise<Execution> {
    await this.reportState(deviceId, { execution: report }, actor);
    return (await this.store.executions.get(report.id))!;
  }

  reportState(deviceId: string, report: DeviceStateReport, actor: string): Promise<{ id: string; state: ExecutionState } | null> {
    return this.reports.submit(deviceId, { deviceId, report, actor });
  }

  /** Writes a batch of reports (ReportQueue) in one unit of work; each entry settles on its own. */
  private async writeReports(entries: ReportEntry[]): Promise<Settled<ReportAnswer>[]> {
    const { settled, terminal } = await this.transitions.atomically(async (tx) => {
      const outcomes = await this.applyBatch(tx, entries);
      const terminal = entries.filter((_, i) => { const o = outcomes[i]!; return !('refused' in o) && o.terminal; }).map((e) => e.deviceId);
      // Other servers hear of it exactly when it commits (a crash right after cannot lose it).
      if (terminal.length) await this.targetChanges.changedIn(tx, terminal);
      // The report's other writes, skipped for a refused one (it stores only the version).
      for (let i = 0; i < entries.length; i++) if (!('refused' in outcomes[i]!)) await entries[i]!.report.alongside?.(tx);
      const settled = outcomes.map((o): Settled<ReportAnswer> => ('refused' in o ? { error: o.refused } : { value: o.execution }));
      return { result: { settled, terminal }, events: outcomes.flatMap((o) => ('refused' in o ? [] : o.events)) };
    });
    if (terminal.length) this.targetChanges.changedHere(terminal);
    return settled;
  }

  /**
   * The batch's writes: every version first (what a device runs is a fact whatever becomes of the
   * execution it reports on), the executions read in one statement, the transitions they decide
   * written together; a transition another writer beat is read and decided again on its own.
   */
  private async applyBatch(tx: StoreTransaction, entries: ReportEntry[]): Promise<Outcome[]> {
    const runs = entries.flatMap((e) => (e.report.version ? [{ deviceId: e.deviceId, version: e.report.version }] : []));
    if (runs.length) await this.versions.record(runs, { tx });
    const ids = entries.flatMap((e) => (e.report.execution ? [e.report.execution.id] : []));
    const current = ids.length ? await tx.executions.getMany(ids) : new Map<string, Execution>();
    const rollouts = new Map<string, Promise<Rollout | null>>();
    const outcomes: Outcome[] = [];
    const changes: (ExecutionChange & { entry: number })[] = [];
    for (const [i, e] of entries.entries()) {
      const report = e.report.execution;
      if (!report) {
        outcomes[i] = { execution: null, events: [], terminal: false };
        continue;
      }
      const decided = await this.decide(tx, e.deviceId, current.get(report.id), report, e.actor, rollouts);
      if ('change' in decided) changes.push({ ...decided.change, entry: i });
      else outcomes[i] = decided;
    }
    const { changed, events } = await this.transitions.applyIn(tx, changes, (c) => entries[c.entry]!.actor);
    changed.forEach((c, k) => {
      outcomes[c.entry] = { execution: { id: c.id, state: c.to }, events: [events[k]!], terminal: isTerminal(c.to) };
    });
    for (const c of changes) {
      const e = entries[c.entry]!;
      if (!outcomes[c.entry]) outcomes[c.entry] = await this.applyOne(tx, e.deviceId, e.report.execution!, e.actor);
    }
    return outcomes;
  }

  /** One report decided again (another writer moved its execution meanwhile): read, decide, write, up to three times. */
  private async applyOne(tx: StoreTransaction, deviceId: string, report: ExecutionReport, actor: string): Promise<Outcome> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const decided = await this.decide(tx, deviceId, (await tx.executions.get(report.id)) ?? undefined, report, actor, new Map());
      if (!('change' in decided)) return decided;
      const { changed, events } = await this.transitions.applyIn(tx, [decided.change], actor);
      if (changed.length) return { execution: { id: report.id, state: report.state }, events, terminal: isTerminal(report.state) };
    }
    const last = (await tx.executions.get(report.id))!;
    return { execution: { id: last.id, state: last.state }, events: [], terminal: false };
  }

  /**
   * What a report does to its execution as read: an answer (refused, unchanged, a note), or the
   * guarded transition to write. `rollouts` holds the batch's rollout reads (a window check).
   */
  private async decide(tx: StoreTransaction, deviceId: string, current: Execution | undefined, report: ExecutionReport, actor: string, rollouts: Map<string, Promise<Rollout | null>>): Promise<Outcome | { change: ExecutionChange }> {
    if (!current || current.deviceId !== deviceId) return { refused: new NotFoundError('execution', report.id) };
    const unchanged: Outcome = { execution: { id: current.id, state: current.state }, events: [], terminal: false };
    if (current.state === report.state) {
      // Progress within a state (bytes while downloading) is kept; the state's time does not move.
      if (report.bytes !== undefined && report.bytes > current.bytes) await tx.executions.recordBytes(current.id, current.state, report.bytes);
      return unchanged;
    }
    if (current.state === 'cancelled' && report.state === 'succeeded') return this.installedAfterCancel(tx, current, actor);
    if (current.state === 'cancelled' || current.state === 'skipped') {
      return { refused: new ConflictError(`execution '${report.id}' was ${current.state} (its rollout was stopped); drop this update`) };
    }
    if (current.state === 'pending') {
      return { refused: new ConflictError(`execution '${report.id}' is not released to this device (its rollout was paused before the device started it, or it waits for a retry); drop it, it will be offered again`) };
    }
    // Duplicates and late reports that would move it backwards change nothing.
    if (!isForward(current.state, report.state)) return unchanged;
    if (BEFORE_INSTALL.includes(current.state) && INSTALL_ON.includes(report.state)) {
      let rollout = rollouts.get(current.rolloutId);
      if (!rollout) rollouts.set(current.rolloutId, (rollout = tx.rollouts.find(current.rolloutId)));
      const closed = await this.windowClosed(tx, await rollout, current, deviceId);
      if (closed) return { refused: closed };
    }
    const error = report.state === 'failed' || report.state === 'rolled-back' ? (report.error ?? `device reported ${report.state}`).slice(0, 2000) : undefined;
    return { change: { id: current.id, rolloutId: current.rolloutId, deviceId, attempt: Math.max(1, current.attempts), from: current.state, to: report.state, bytes: report.bytes, bytesFetched: report.bytesFetched, bytesReused: report.bytesReused, error } };
  }

  /** A download-ahead device may move past `downloaded` only once the server opened its window: the refusal when it did not. */
  private async windowClosed(tx: StoreTransaction, rollout: Rollout | null, execution: Execution, deviceId: string): Promise<ConflictError | null> {
    if (!rollout?.downloadAhead) return null;
    const gate = await this.gateFor(rollout, deviceId, tx);
    if (gate.action === 'install') return null;
    const why = rollout.status === 'paused' ? 'its rollout is paused' : `its maintenance window is closed${gate.installAfter === null ? '' : ` (it opens at ${new Date(gate.installAfter).toISOString()})`}`;
    return new ConflictError(`execution '${execution.id}' downloads ahead: ${why}; keep the update downloaded until the target says action "install"`);
  }

  /**
   * A device reports success for an execution cancelled meanwhile: its install could not be
   * interrupted. The execution stays cancelled, with a note; the device's version is what it runs.
   */
  private async installedAfterCancel(tx: StoreTransaction, execution: Execution, actor: string): Promise<Outcome> {
    const unchanged: Outcome = { execution: { id: execution.id, state: execution.state }, events: [], terminal: false };
    const artifact = await tx.artifacts.get(execution.artifactId);
    const what = artifact ? `${artifact.name} ${artifact.version}` : `artifact '${execution.artifactId}'`;
    const note = `the device installed ${what} before the cancel reached it`;
    if (!(await tx.executions.noteInstalledAfterCancel(execution.id, note))) return unchanged;
    if (artifact) await this.versions.recordOne(execution.deviceId, artifact.version, { tx });
    return {
      ...unchanged,
      events: [{ type: 'execution.installed-after-cancel', actor, rolloutId: execution.rolloutId, deviceId: execution.deviceId, executionId: execution.id, data: { version: artifact?.version ?? null, note } }],
    };
  }

  async openDownload(deviceId: string, artifactId: string): Promise<string | null> {
    const current = await this.store.executions.currentForDevice(deviceId);
    if (current?.artifactId === artifactId) {
      if (current.state === 'queued') {
        await this.transitions.apply([{ id: current.id, rolloutId: current.rolloutId, deviceId, attempt: Math.max(1, current.attempts), from: 'queued', to: 'downloading', bytes: 0 }], `device:${deviceId}`);
      }
      return current.rolloutId;
    }
    const whole = await this.store.executions.inFlightFor(deviceId, artifactId);
    if (whole) return whole.rolloutId;
    // A later component of a multi-component execution (the first is its artifactId).
    const part = await this.store.executions.inFlightWithComponent(deviceId, artifactId);
    if (part?.state === 'queued') {
      await this.transitions.apply([{ id: part.id, rolloutId: part.rolloutId, deviceId, attempt: Math.max(1, part.attempts), from: 'queued', to: 'downloading', bytes: 0 }], `device:${deviceId}`);
    }
    return part?.rolloutId ?? null;
  }

  onTargetChanged(listener: TargetChangedListener): () => void {
    return this.targetChanges.subscribe(listener);
  }

  async deviceSeen(deviceIds: string[]): Promise<void> {
    if (deviceIds.length === 0 || this.engine.onConnectRollouts().length === 0) return;
    await this.engine.releaseFor(deviceIds);
  }

  private async cached<T>(cache: Map<string, { value: T | null; at: number }>, id: string, load: (id: string) => Promise<T | null>): Promise<T | null> {
    const now = this.clock.now();
    const hit = cache.get(id);
    if (hit && now - hit.at < CACHE_MS) return hit.value;
    const value = await load(id);
    if (cache.size > 10_000) cache.clear();
    cache.set(id, { value, at: now });
    return value;
  }
}
