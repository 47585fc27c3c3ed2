// Mender device deployments and inventory, mapped onto our executions through the engine's
// DeviceSync: `next` serves the device's current target when it fits the device's provides,
// status reports move the execution, logs land in the event log and the reason they give in the
// failed execution's error.
import { normalizeDeviceType, NotFoundError, ValidationError, type Clock, type Execution } from '../../core/index.js';
import type { DeviceSync } from '../../engine/device-sync.js';
import type { DeviceVersions } from '../../registry/index.js';
import type { EventLog, Store } from '../../store/index.js';
import { artifactFits, logSummary, menderFailureError, menderMetaOf, nextDeploymentBody, parseLog, parseStatus, statusReport, withLogSummary } from './deployments.js';

/** Signs short-lived download URLs (the device API's DownloadSigner fits). */
export interface UrlSigner {
  sign(artifactId: string, deviceId: string, now: number): string;
}

export interface MenderDeploymentDeps {
  store: Store;
  sync: DeviceSync;
  /** Records the version a device runs (after an install, or its inventory's artifact_name). */
  versions: Pick<DeviceVersions, 'recordOne'>;
  events: EventLog;
  clock: Clock;
  signer: UrlSigner;
  seen(deviceId: string): void;
}

const actor = (deviceId: string) => `device:${deviceId}`;
const MAX_ATTRIBUTES = 500;

export class MenderDeploymentService {
  constructor(private readonly deps: MenderDeploymentDeps) {}

  /** PUT (replace) or PATCH (merge) inventory attributes: [{name, value}]. */
  async inventory(deviceId: string, raw: unknown, mode: 'replace' | 'merge'): Promise<void> {
    if (!Array.isArray(raw)) throw new ValidationError('the inventory must be an array of {"name", "value"}', [{ path: '', message: 'is not an array' }]);
    if (raw.length > MAX_ATTRIBUTES) throw new ValidationError(`at most ${MAX_ATTRIBUTES} attributes`);
    const attributes: Record<string, unknown> = {};
    for (const [i, item] of raw.entries()) {
      const a = item as { name?: unknown; value?: unknown };
      if (typeof a?.name !== 'string' || a.name.length === 0 || a.name.length > 256) throw new ValidationError(`attribute ${i} needs a name`, [{ path: `${i}.name`, message: 'is required' }]);
      const ok = typeof a.value === 'string' || typeof a.value === 'number' || (Array.isArray(a.value) && a.value.every((v) => typeof v === 'string' || typeof v === 'number'));
      if (!ok) throw new ValidationError(`attribute '${a.name}' must have a string, number or array value`, [{ path: `${i}.value`, message: 'has the wrong type' }]);
      attributes[a.name] = typeof a.value === 'string' ? a.value.slice(0, 4096) : a.value;
    }
    this.deps.seen(deviceId);
    const now = this.deps.clock.now();
    const stored = await this.deps.store.deviceReports.get(deviceId);
    const inventory = mode === 'merge' ? { ...(stored?.inventory ?? {}), ...attributes } : attributes;
    await this.deps.store.deviceReports.save(deviceId, stored?.report ?? {}, inventory, now);
    // Until a deployment of ours succeeds, the installed artifact name is the best version we know.
    if (typeof inventory.artifact_name === 'string') await this.deps.versions.recordOne(deviceId, inventory.artifact_name, { unknownOnly: true });
    // The inventory's device_type is the hardware type releases match their artifacts against.
    const deviceType = normalizeDeviceType(inventory.device_type);
    if (deviceType) await this.deps.store.devices.setDeviceType(deviceId, deviceType, now);
  }

  /**
   * deployments/next: the deployment for this device, or null (204). A target that cannot fit the
   * device ends now (failed, or succeeded when the device already runs that artifact name).
   */
  async next(deviceId: string, provides: Record<string, string>, origin: string): Promise<Record<string, unknown> | null> {
    this.deps.seen(deviceId);
    const target = await this.deps.sync.currentTarget(deviceId);
    if (!target) return null;
    const { execution, artifact } = target;
    if (target.rollout.revert) {
      await this.deps.sync.applyReport(deviceId, { id: execution.id, state: 'failed', error: 'a Mender device cannot be told to switch back to its other slot; roll it forward with a new rollout' }, 'mender:server');
      return null;
    }
    const meta = menderMetaOf(artifact.metadata ?? {});
    if (!meta) {
      await this.deps.sync.applyReport(deviceId, { id: execution.id, state: 'failed', error: `artifact '${artifact.name}' ${artifact.version} is not a Mender artifact (.mender); mender-client cannot install it` }, 'mender:server');
      return null;
    }
    const fit = artifactFits(meta, provides);
    if (!fit.ok) {
      if (fit.alreadyInstalled) {
        await this.deps.events.append([{ type: 'mender.already-installed', actor: actor(deviceId), deviceId, executionId: execution.id, data: { artifactName: meta.artifactName } }]);
        await this.deps.versions.recordOne(deviceId, artifact.version);
        await this.deps.sync.applyReport(deviceId, { id: execution.id, state: 'succeeded' }, 'mender:server');
      } else {
        await this.deps.sync.applyReport(deviceId, { id: execution.id, state: 'failed', error: fit.reason }, 'mender:server');
      }
      return null;
    }
    const now = this.deps.clock.now();
    const query = this.deps.signer.sign(artifact.id, deviceId, now);
    const expires = Number(new URLSearchParams(query).get('expires'));
    return nextDeploymentBody({
      deploymentId: execution.id,
      artifactId: artifact.id,
      meta,
      uri: `${origin}/api/v1/device/artifacts/${encodeURIComponent(artifact.id)}?${query}`,
      expiresAt: new Date(Number.isFinite(expires) ? expires : now + 15 * 60_000).toISOString(),
    });
  }

  /** PUT deployments/{id}/status; ConflictError (409) when an operator aborted the deployment. */
  async status(deviceId: string, deploymentId: string, raw: unknown): Promise<void> {
    const { status, substate } = parseStatus(raw);
    this.deps.seen(deviceId);
    let report = statusReport(status, deploymentId, substate);
    // A client that uploaded its log before reporting the failure: the reason is there already.
    if (report?.state === 'failed' && status === 'failure') {
      const summary = await this.loggedSummary(deviceId, deploymentId);
      if (summary) report = { ...report, error: menderFailureError(substate, summary) };
    }
    if (report) {
      // The device installed the deployment's artifact: it runs that version now, whatever the
      // execution makes of the report (an aborted deployment answers 409, and is still recorded).
      if (report.state === 'succeeded') await this.recordInstalled(deviceId, deploymentId);
      await this.deps.sync.applyReport(deviceId, report, actor(deviceId));
    } else await this.ownExecution(deviceId, deploymentId);
    if (substate) {
      const rolloutId = (await this.deps.store.executions.get(deploymentId))?.rolloutId ?? null;
      await this.deps.events.append([{ type: 'mender.status', actor: actor(deviceId), rolloutId, deviceId, executionId: deploymentId, data: { status, substate } }]);
    }
  }

  /**
   * PUT deployments/{id}/log: the device's log of a (failed) deployment, kept in the event log with
   * its rollout and execution; the lines that say why become the failed execution's error
   * (mender-client reports `failure` first, then uploads the log).
   */
  async log(deviceId: string, deploymentId: string, raw: unknown): Promise<void> {
    const lines = parseLog(raw);
    await this.ownExecution(deviceId, deploymentId);
    const execution = await this.deps.store.executions.get(deploymentId);
    const summary = logSummary(lines);
    const error = execution && (execution.state === 'failed' || execution.state === 'rolled-back') ? withLogSummary(execution.error, summary) : null;
    if (error) await this.deps.store.mender.attachFailureLog(deploymentId, error);
    await this.deps.events.append([{ type: 'mender.deployment-log', actor: actor(deviceId), rolloutId: execution?.rolloutId ?? null, deviceId, executionId: deploymentId, data: { lines, summary, ...(error ? { error } : {}) } }]);
  }

  /** The reason from the last deployment log this device uploaded for the execution, if any. */
  private async loggedSummary(deviceId: string, executionId: string): Promise<string | null> {
    const logs = await this.deps.store.events.list({ deviceId, type: ['mender.deployment-log'], limit: 10 });
    const last = logs.find((e) => e.executionId === executionId);
    return typeof last?.data.summary === 'string' && last.data.summary ? last.data.summary : null;
  }

  /** The device runs the artifact of its own deployment `id` now (404 for another device's). */
  private async recordInstalled(deviceId: string, id: string): Promise<void> {
    const execution = await this.ownExecution(deviceId, id);
    const artifact = await this.deps.store.artifacts.get(execution.artifactId);
    if (artifact) await this.deps.versions.recordOne(deviceId, artifact.version);
  }

  private async ownExecution(deviceId: string, id: string): Promise<Execution> {
    const execution = await this.deps.store.executions.get(id);
    if (!execution || execution.deviceId !== deviceId) throw new NotFoundError('deployment', id);
    return execution;
  }
}
