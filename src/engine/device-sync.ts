// The contract between the rollout engine and the device API (pull devices). The engine owns the
// implementation (DeviceSyncService in device-sync.service.ts); the device API codes against this.
//
// CONTRACT (for the device-agent engineer):
// - Pull devices (device.mode === 'pull') are never pushed to. When the engine releases an
//   execution for a pull device (its phase, window, concurrency and rate allow it), it moves the
//   execution `pending` -> `queued`; from then on `currentTarget(deviceId)` answers it, and the
//   device API serves it as TargetState.update (executionId = execution.id).
// - `applyReport(deviceId, report, actor)` takes DeviceReport['execution'] from PATCH
//   /api/v1/device/state: moves the execution forward through the state machine (duplicates and
//   out-of-order reports that would move it backwards are ignored and answer the stored
//   execution unchanged), appends `execution.<state>` events, records bytes/error, and counts
//   successes/failures for thresholds exactly like push results. Throws NotFoundError when the
//   execution does not exist or belongs to another device, ConflictError when it was cancelled
//   (or is otherwise finished with another outcome) so the device should drop it, and when it is
//   `pending` (not released to the device: its rollout was paused before the device started it).
//   One exception: a device that reports `succeeded` for a cancelled execution installed it
//   before the cancel reached it; that is recorded (installedAfterCancel, a note, the device's
//   version) and answered with the execution, still `cancelled`. A device of a download-ahead
//   rollout that reports installing (or later) while its target says `download` (the window is
//   closed) gets ConflictError: only the server opens the window.
// - `openDownload(deviceId, artifactId)`: the device is fetching the artifact's bytes. Answers the
//   rollout the download is for when it may (null when not): the artifact of its current target,
//   or of an execution of its that is in flight
//   (downloading, installing, verifying) whatever the rollout's status, so a pause lets a started
//   download finish. A released (`queued`) execution moves to `downloading` here: the device has
//   started, and a pause from now on leaves it to finish.
// - `onTargetChanged(listener)` calls `listener(deviceIds)` whenever those devices' target may
//   have changed (released, cancelled, paused/resumed, rollout finished, rolled back, a
//   download-ahead rollout's window opened or closed) so caches
//   (ETags) can be invalidated. With several servers on PostgreSQL the ids travel over
//   the cluster channel (src/cluster/target-changes.ts), so every server's listeners fire. Answers an unsubscribe function.
// - `deviceSeen(deviceIds)`: call it on every poll/heartbeat (cheap, batched inside) so
//   on-connect rollouts release work for devices that just came online.
import type { Artifact, DeviceReport, Execution, ExecutionState, InstallGate, Rollout } from '../core/index.js';
import type { StoreTransaction } from '../store/index.js';

/** What a pull device should work on now. */
export interface DeviceTarget {
  execution: Execution;
  rollout: Rollout;
  artifact: Artifact;
  /**
   * Set when the execution delivers several components of a release (issue 15 item 4): each with
   * its artifact, in install order (the first is `artifact`), and the release they make up, whose
   * name and version the device runs once all are in.
   */
  components?: { release: { name: string; version: string }; items: { component: string; artifact: Artifact }[] };
  /** Whether the device may install now or only download (a download-ahead rollout's closed window). */
  gate: InstallGate;
}

export type ExecutionReport = NonNullable<DeviceReport['execution']>;

/** A device's whole report (PATCH /api/v1/device/state), written as one unit of work. */
export interface DeviceStateReport {
  /** The version the device says it runs: recorded even when the execution refuses the report. */
  version?: string;
  execution?: ExecutionReport;
  /** The report's other writes (device type, the stored report), in the same unit of work; skipped when the execution refuses it. */
  alongside?: (tx: StoreTransaction) => Promise<void>;
}

export type TargetChangedListener = (deviceIds: string[]) => void;

/** The engine's face towards the device API. */
export interface DeviceSync {
  /** The released, non-terminal execution the device should work on; null when none. */
  currentTarget(deviceId: string): Promise<DeviceTarget | null>;
  /** Applies a device's progress report; answers the execution as stored afterwards. */
  applyReport(deviceId: string, report: ExecutionReport, actor: string): Promise<Execution>;
  /**
   * A device's whole report in one transaction: its version, the execution's report (as
   * `applyReport`), then `alongside`. Answers the execution's id and state afterwards (null
   * without one). A refused report (NotFoundError, ConflictError) commits the version and
   * nothing else, then throws.
   */
  reportState(deviceId: string, report: DeviceStateReport, actor: string): Promise<{ id: string; state: ExecutionState } | null>;
  /** The device fetches the artifact's bytes: the rollout it is for, or null when it may not (see the contract above). */
  openDownload(deviceId: string, artifactId: string): Promise<string | null>;
  /** Subscribes to target changes; answers an unsubscribe function. */
  onTargetChanged(listener: TargetChangedListener): () => void;
  /** The device API saw these devices (poll or heartbeat). */
  deviceSeen(deviceIds: string[]): Promise<void>;
}
