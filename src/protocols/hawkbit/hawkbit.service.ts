// The hawkBit DDI adapter: maps DDI requests of a controller onto our devices, executions and
// state machine through the engine's DeviceSync (no second engine). Authentication by the
// device's own token (TargetToken) or a tenant's gateway token (GatewayToken).
import { timingSafeEqual } from 'node:crypto';
import type { ArtifactService } from '../../artifacts/index.js';
import { AuthError, ConflictError, NotFoundError, ValidationError, installGate, normalizeDeviceType, STRATEGIES, windowState, windowZone, type Artifact, type Clock, type Execution, type Rollout } from '../../core/index.js';
import type { DeviceSync, DeviceTarget } from '../../engine/device-sync.js';
import { strongEtag } from '../../http/index.js';
import type { DeviceService, DeviceVersions } from '../../registry/index.js';
import { hashToken, type EventLog, type HawkbitAction, type Store } from '../../store/index.js';
import { legacyHashes } from '../artifact-files.js';
import { basePollBody, cancelBody, deploymentBody, feedbackEffect, isFailureFeedback, parseFeedback, type BaseLinks, type DdiMode } from './ddi.js';

/** Resolves a device token to its device id (the API's cached Authenticator fits). */
export interface TokenResolver {
  resolve(token: string): Promise<{ kind: string; deviceId?: string } | null>;
  /** The answer from memory only: undefined when only `resolve` can tell. */
  cached?(token: string, now: number): { kind: string; deviceId?: string } | null | undefined;
}

/** The scheme and token of a DDI Authorization header, or null when it is neither kind. */
export function parseDdiAuthorization(header: string | undefined): { scheme: 'TargetToken' | 'GatewayToken'; token: string } | null {
  const match = /^(TargetToken|GatewayToken)\s+(\S+)$/.exec(header ?? '');
  return match ? { scheme: match[1] as 'TargetToken' | 'GatewayToken', token: match[2]! } : null;
}

export interface HawkbitDeps {
  store: Store;
  sync: DeviceSync;
  artifacts: ArtifactService;
  devices: DeviceService;
  /** Records the version a device runs after it reports an install. */
  versions: Pick<DeviceVersions, 'recordOne'>;
  events: EventLog;
  clock: Clock;
  tokens: TokenResolver;
  /** Records a heartbeat (batched). */
  seen(deviceId: string): void;
  pollIntervalSeconds: number;
  /** Controller attributes that name the device type, first present wins (default DEFAULT_DEVICE_TYPE_ATTRIBUTES). */
  deviceTypeAttributes?: readonly string[];
}

/**
 * The configData attributes read as the device type, in order: an explicit one, then the
 * hardware keys SWUpdate's suricatta is commonly configured to send (its `identify` section).
 */
export const DEFAULT_DEVICE_TYPE_ATTRIBUTES = ['device_type', 'deviceType', 'hwRevision', 'hw_revision', 'hwrevision', 'compatible', 'board'] as const;

/** The first of `attributes` the inventory holds as a valid device type, or null. */
export function deviceTypeOf(inventory: Record<string, unknown>, attributes: readonly string[]): string | null {
  for (const name of attributes) {
    const value = normalizeDeviceType(inventory[name]);
    if (value) return value;
  }
  return null;
}

/** Absolute URL prefix of one controller: {origin}/{tenant}/controller/v1/{controllerId}. */
export type ControllerBase = string;

const actor = (deviceId: string) => `device:${deviceId}`;

/** How long a computed base poll may be served without recomputing (changes also invalidate it). */
const POLL_CACHE_MS = 10_000;
/** How long a controller's tenant and service are trusted without a query (changes also invalidate it). */
const CONTROLLER_CACHE_MS = 60_000;

export class HawkbitService {
  /** Devices checked to be in service at this tenant (so polls cost no query), until changed or `until`. */
  private readonly controllers = new Map<string, { tenant: string; until: number }>();
  /** Base-poll links per device: the poll path then costs no query until the target changes. */
  private readonly polls = new Map<string, { base: string; body: string; etag: string; until: number }>();
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: HawkbitDeps) {
    // Decommissioning, token revocations and enrollment decisions travel here too (every server).
    this.unsubscribe = deps.sync.onTargetChanged((ids) => this.forget(ids));
  }

  close(): void {
    this.unsubscribe();
    this.polls.clear();
    this.controllers.clear();
  }

  /**
   * Answers the device id the Authorization header speaks for at this tenant's URL, or throws
   * AuthError (401, as hawkBit answers a credential that is not valid for the tenant and target)
   * having written nothing. A TargetToken speaks for its own device at its device's tenant only; a
   * gateway token for the devices of its own tenant (not Mender devices, which authenticate with
   * their own key), registering a controller it polls for first in that tenant.
   */
  async authenticate(tenant: string, controllerId: string, authorization: string | undefined): Promise<string> {
    const auth = parseDdiAuthorization(authorization);
    if (!auth) throw new AuthError('send Authorization: TargetToken <device token> or GatewayToken <tenant gateway token>');
    if (auth.scheme === 'TargetToken') {
      const principal = await this.deps.tokens.resolve(auth.token);
      if (principal?.kind !== 'device' || principal.deviceId !== controllerId) throw new AuthError(`the target token is not valid for controller '${controllerId}'`);
    } else {
      const expected = await this.deps.store.hawkbit.gatewayTokenHash(tenant);
      const given = hashToken(auth.token);
      if (!expected || expected.length !== given.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(given))) {
        throw new AuthError(`the gateway token is not valid for tenant '${tenant}'`);
      }
    }
    await this.ensureController(tenant, controllerId, auth.scheme);
    return controllerId;
  }

  /** Forgets what was cached of these devices (their tenant, protocol or state may have changed). */
  forget(deviceIds: string[]): void {
    for (const id of deviceIds) {
      this.controllers.delete(id);
      this.polls.delete(id);
    }
  }

  /**
   * The device must be a controller of this tenant, in service; a controller seen through DDI is
   * a hawkBit device, and with a gateway token it may be new (registered in the gateway's tenant).
   */
  private async ensureController(tenant: string, deviceId: string, scheme: 'TargetToken' | 'GatewayToken'): Promise<void> {
    const now = this.deps.clock.now();
    const known = this.controllers.get(deviceId);
    if (known && known.tenant === tenant && known.until > now) return;
    let device = await this.deps.store.devices.get(deviceId);
    if (device === null && scheme === 'GatewayToken') {
      try {
        device = await this.deps.devices.create({ id: deviceId, name: deviceId, mode: 'pull', tenant }, `hawkbit:gateway:${tenant}`);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        device = await this.deps.store.devices.get(deviceId);
      }
    }
    // The same answer whichever way it fails, so a gateway learns nothing of other tenants' devices.
    const refused = () => new AuthError(`controller '${deviceId}' is not a controller of tenant '${tenant}' for this ${scheme}`);
    if (!device || device.decommissionedAt || device.tenant !== tenant) throw refused();
    const protocol = await this.deps.store.devices.protocol(deviceId);
    if (scheme === 'GatewayToken' && protocol === 'mender') throw refused();
    if (protocol !== 'hawkbit') await this.deps.store.devices.setProtocol(deviceId, 'hawkbit');
    if (this.controllers.size > 200_000) this.controllers.clear();
    this.controllers.set(deviceId, { tenant, until: now + CONTROLLER_CACHE_MS });
  }

  /**
   * The base poll a controller polling with its own TargetToken would get, from memory only (the
   * fast path): null when only authenticate() and poll() can tell (token not cached or not this
   * controller's, controller not checked at this tenant lately, nothing cached, expired, or cached
   * for another base URL). No heartbeat: the caller records one when it answers.
   */
  cachedPoll(tenant: string, controllerId: string, authorization: string | undefined, base: ControllerBase, now: number): { body: string; etag: string } | null {
    const auth = parseDdiAuthorization(authorization);
    if (auth?.scheme !== 'TargetToken' || !this.deps.tokens.cached) return null;
    const principal = this.deps.tokens.cached(auth.token, now);
    if (principal?.kind !== 'device' || principal.deviceId !== controllerId) return null;
    const controller = this.controllers.get(controllerId);
    if (controller?.tenant !== tenant || controller.until <= now) return null;
    const cached = this.polls.get(controllerId);
    return cached && cached.until > now && cached.base === base ? cached : null;
  }

  /** The base poll, serialized, with its strong ETag. */
  async poll(deviceId: string, base: ControllerBase): Promise<{ body: string; etag: string }> {
    this.deps.seen(deviceId);
    const now = this.deps.clock.now();
    const cached = this.polls.get(deviceId);
    if (cached && cached.until > now && cached.base === base) return cached;
    const body = JSON.stringify(basePollBody(base, this.deps.pollIntervalSeconds, await this.links(deviceId, now)));
    const entry = { base, body, etag: strongEtag(body), until: now + POLL_CACHE_MS };
    if (this.polls.size > 200_000) this.polls.clear();
    this.polls.set(deviceId, entry);
    return entry;
  }

  private async links(deviceId: string, now: number): Promise<BaseLinks> {
    const links: BaseLinks = {};
    const target = await this.deps.sync.currentTarget(deviceId);
    if (target) {
      const action = await this.deps.store.hawkbit.actionFor(target.execution.id, deviceId, now);
      links.deploymentActionId = action.id;
      // Download ahead: the href changes when the window opens, so the client fetches the deployment again (update: skip -> forced).
      links.deploymentHash = (target.artifact.sha256?.slice(0, 12) ?? target.artifact.id.slice(0, 12)) + (target.gate.action === 'download' ? '-d' : '');
    } else {
      for (const action of await this.deps.store.hawkbit.recentActions(deviceId, 5)) {
        const execution = await this.deps.store.executions.get(action.executionId);
        if (!execution) continue;
        if (execution.state === 'cancelled' && action.offeredAt !== null && action.cancelAckedAt === null) {
          links.cancelActionId = action.id;
          break;
        }
        if (execution.state === 'succeeded') {
          links.installedActionId = action.id;
          break;
        }
      }
    }
    const report = await this.deps.store.deviceReports.get(deviceId);
    links.configData = !report || Object.keys(report.inventory).length === 0;
    return links;
  }

  private async ownAction(deviceId: string, actionId: number): Promise<HawkbitAction> {
    const action = Number.isSafeInteger(actionId) ? await this.deps.store.hawkbit.action(actionId) : null;
    if (!action || action.deviceId !== deviceId) throw new NotFoundError('action', String(actionId));
    return action;
  }

  /** The deployment of one artifact (chunk part `os`), or of several components (one chunk each, part = the component). */
  private async deployment(deviceId: string, actionId: number, parts: { part: string; artifact: Artifact }[], rollout: Rollout | null, base: ControllerBase, mode: DdiMode): Promise<Record<string, unknown>> {
    const chunks = [];
    for (const { part, artifact } of parts) {
      const hashes = await legacyHashes(this.deps.store.hawkbit, this.deps.artifacts, artifact, this.deps.clock.now());
      const filename = fileNameOf(artifact);
      chunks.push({
        part,
        name: artifact.name,
        version: artifact.version,
        artifacts: [{ filename, size: artifact.size, sha256: artifact.sha256 ?? '', ...hashes, href: `${base}/softwaremodules/${encodeURIComponent(artifact.id)}/artifacts/${encodeURIComponent(filename)}` }],
      });
    }
    let maintenanceWindow: 'available' | 'unavailable' | undefined;
    if (rollout?.window) {
      const device = await this.deps.store.devices.get(deviceId);
      const zone = windowZone(rollout.window, device?.timezone);
      const now = this.deps.clock.now();
      // Download ahead (hawkBit's own mapping): download forced, update skip until the server's gate opens.
      const open = rollout.downloadAhead ? installGate(rollout, zone, now).action === 'install' : windowState(rollout.window, zone, now).open;
      maintenanceWindow = open ? 'available' : 'unavailable';
    }
    return deploymentBody({
      actionId,
      download: 'forced',
      update: maintenanceWindow === 'unavailable' ? 'skip' : mode,
      ...(maintenanceWindow ? { maintenanceWindow } : {}),
      chunks,
    });
  }

  /** The chunks of a target: its components when a release gives the device several, else its one artifact. */
  private static partsOf(target: DeviceTarget): { part: string; artifact: Artifact }[] {
    return target.components ? target.components.items.map((c) => ({ part: c.component, artifact: c.artifact })) : [{ part: 'os', artifact: target.artifact }];
  }

  /** GET deploymentBase/{actionId}: offered until the device reports a final `closed`. */
  async deploymentBase(deviceId: string, actionId: number, base: ControllerBase): Promise<Record<string, unknown>> {
    const action = await this.ownAction(deviceId, actionId);
    const target = await this.deps.sync.currentTarget(deviceId);
    if (!target || target.execution.id !== action.executionId) throw new NotFoundError('open action', String(actionId));
    const mode: DdiMode = STRATEGIES[target.rollout.strategy].onConnect ? 'attempt' : 'forced';
    const body = await this.deployment(deviceId, action.id, HawkbitService.partsOf(target), target.rollout, base, mode);
    await this.deps.store.hawkbit.markOffered(action.id, (body.deployment as { update: string }).update, this.deps.clock.now());
    this.polls.delete(deviceId);
    return body;
  }

  /** GET installedBase/{actionId}: the last action that succeeded. */
  async installedBase(deviceId: string, actionId: number, base: ControllerBase): Promise<Record<string, unknown>> {
    const action = await this.ownAction(deviceId, actionId);
    const execution = await this.deps.store.executions.get(action.executionId);
    if (execution?.state !== 'succeeded') throw new NotFoundError('installed action', String(actionId));
    const components = await this.deps.store.executions.componentsOf(execution.rolloutId, deviceId);
    const parts = components.length > 1 ? components.map((c) => ({ part: c.component, artifactId: c.artifactId })) : [{ part: 'os', artifactId: execution.artifactId }];
    const artifacts = [];
    for (const p of parts) artifacts.push({ part: p.part, artifact: await this.deps.artifacts.get(p.artifactId) });
    return this.deployment(deviceId, action.id, artifacts, null, base, 'forced');
  }

  /** POST deploymentBase/{actionId}/feedback: kept in the event log and applied to the execution. */
  async feedback(deviceId: string, actionId: number, raw: unknown): Promise<void> {
    const action = await this.ownAction(deviceId, actionId);
    const feedback = parseFeedback(raw);
    this.deps.seen(deviceId);
    const target = await this.deps.store.executions.get(action.executionId);
    const rolloutId = target?.rolloutId ?? null;
    // Read before this feedback is appended: what the device said earlier on this action.
    const earlier = isFailureFeedback(feedback) ? await this.earlierDetails(deviceId, action.executionId) : [];
    await this.deps.events.append([
      { type: 'hawkbit.feedback', actor: actor(deviceId), rolloutId, deviceId, executionId: action.executionId, data: { actionId, execution: feedback.execution, finished: feedback.finished, progress: feedback.progress, details: feedback.details } },
    ]);
    const effect = feedbackEffect(feedback, action.executionId, action.lastUpdateMode, earlier);
    if (effect.kind === 'report') {
      // The device installed the action's artifact: it runs that version now, whatever the
      // execution makes of the report (refused when stopped, ignored when it ended otherwise).
      if (effect.report.state === 'succeeded' && target?.deviceId === deviceId) await this.recordVersion(deviceId, target);
      const execution = await this.deps.sync.applyReport(deviceId, effect.report, actor(deviceId));
      // Installed before the cancel reached it (recorded by applyReport): the cancel is moot now.
      if (execution.installedAfterCancel) await this.deps.store.hawkbit.ackCancel(action.id, this.deps.clock.now());
    } else if (effect.kind === 'cancel-confirmed') await this.deps.store.hawkbit.ackCancel(action.id, this.deps.clock.now());
    this.polls.delete(deviceId);
  }

  private async rolloutOf(executionId: string): Promise<string | null> {
    return (await this.deps.store.executions.get(executionId))?.rolloutId ?? null;
  }

  /**
   * The details of the device's earlier feedback on an execution, oldest first (SWUpdate sends
   * its log with a `proceeding` message and closes with a one-line verdict).
   */
  private async earlierDetails(deviceId: string, executionId: string): Promise<string[]> {
    const recent = await this.deps.store.events.list({ deviceId, type: ['hawkbit.feedback'], limit: 50 });
    return recent
      .filter((e) => e.executionId === executionId)
      .reverse()
      .flatMap((e) => (Array.isArray(e.data.details) ? (e.data.details as string[]) : []));
  }

  /**
   * The device now runs the execution's artifact's version (what the device list shows); after
   * several components of a release, the release's version (it runs all of them). An artifact
   * deleted since tells none.
   */
  private async recordVersion(deviceId: string, execution: Execution): Promise<void> {
    let version: string | null = null;
    const rollout = await this.deps.store.rollouts.find(execution.rolloutId);
    if (rollout?.releaseId && (await this.deps.store.executions.componentsOf(execution.rolloutId, deviceId)).length > 1) version = (await this.deps.store.releases.get(rollout.releaseId))?.version ?? null;
    version ??= (await this.deps.store.artifacts.get(execution.artifactId))?.version ?? null;
    if (version) await this.deps.versions.recordOne(deviceId, version);
  }

  /** GET cancelAction/{actionId}. */
  async cancelAction(deviceId: string, actionId: number): Promise<Record<string, unknown>> {
    const action = await this.ownAction(deviceId, actionId);
    const execution = await this.deps.store.executions.get(action.executionId);
    if (execution?.state !== 'cancelled') throw new NotFoundError('cancelled action', String(actionId));
    return cancelBody(action.id);
  }

  /** POST cancelAction/{actionId}/feedback: the device confirms (closed/canceled) or rejects. */
  async cancelFeedback(deviceId: string, actionId: number, raw: unknown): Promise<void> {
    const action = await this.ownAction(deviceId, actionId);
    const feedback = parseFeedback(raw);
    const confirmed = feedback.execution === 'closed' || feedback.execution === 'canceled';
    const rolloutId = await this.rolloutOf(action.executionId);
    await this.deps.events.append([
      { type: confirmed ? 'hawkbit.cancel-confirmed' : 'hawkbit.cancel-feedback', actor: actor(deviceId), rolloutId, deviceId, executionId: action.executionId, data: { actionId, execution: feedback.execution, finished: feedback.finished, details: feedback.details } },
    ]);
    if (confirmed) await this.deps.store.hawkbit.ackCancel(action.id, this.deps.clock.now());
    this.polls.delete(deviceId);
  }

  /** PUT configData: the controller's attributes become the device's inventory. */
  async configData(deviceId: string, raw: unknown): Promise<void> {
    const body = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const mode = body.mode ?? 'merge';
    if (mode !== 'merge' && mode !== 'replace' && mode !== 'remove') throw new ValidationError("mode must be 'merge', 'replace' or 'remove'", [{ path: 'mode', message: 'is not a DDI update mode' }]);
    const data = body.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ValidationError('data must be an object of attribute names to values', [{ path: 'data', message: 'is required' }]);
    const entries = Object.entries(data as Record<string, unknown>);
    if (entries.length > 200) throw new ValidationError('at most 200 attributes', [{ path: 'data', message: 'has too many keys' }]);
    const stored = await this.deps.store.deviceReports.get(deviceId);
    let inventory: Record<string, unknown> = mode === 'replace' ? {} : { ...(stored?.inventory ?? {}) };
    for (const [key, value] of entries) {
      if (mode === 'remove') delete inventory[key];
      else inventory[key.slice(0, 128)] = typeof value === 'string' ? value.slice(0, 1024) : JSON.stringify(value).slice(0, 1024);
    }
    if (mode === 'remove' && Object.keys(inventory).length === 0) inventory = {};
    const now = this.deps.clock.now();
    await this.deps.store.deviceReports.save(deviceId, stored?.report ?? {}, inventory, now);
    const deviceType = deviceTypeOf(inventory, this.deps.deviceTypeAttributes ?? DEFAULT_DEVICE_TYPE_ATTRIBUTES);
    if (deviceType) await this.deps.store.devices.setDeviceType(deviceId, deviceType, now);
    this.polls.delete(deviceId);
  }

  /** sha1/md5 of an artifact (computed once). */
  hashesOf(artifact: Artifact): Promise<{ sha1: string; md5: string }> {
    return legacyHashes(this.deps.store.hawkbit, this.deps.artifacts, artifact, this.deps.clock.now());
  }

  /**
   * Which artifact a controller may download: its current target's, or one of an action in flight
   * whatever its rollout's status (a pause lets a started download finish). The first request
   * marks a released action as downloading.
   */
  async downloadable(deviceId: string, artifactId: string): Promise<Artifact> {
    if ((await this.deps.sync.openDownload(deviceId, artifactId)) === null) throw new NotFoundError('artifact for this controller', artifactId);
    return this.deps.artifacts.get(artifactId);
  }
}

/** SWUpdate installs only files named *.swu; other artifacts keep their name and version. */
export function fileNameOf(artifact: Artifact): string {
  const base = `${artifact.name}-${artifact.version}`.replace(/[^A-Za-z0-9._-]/g, '_');
  if (artifact.metadata?.format === 'swu' || artifact.name.endsWith('.swu')) return base.endsWith('.swu') ? base : `${base}.swu`;
  if (artifact.metadata?.format === 'mender') return `${base}.mender`;
  return base;
}
