// Mender device deployments API, pure parts: what a device provides, whether an artifact fits it,
// the `deployments/next` answer, and how device status reports map onto execution states.
import { failureSummary, storableLines, ValidationError } from '../../core/index.js';
import type { ExecutionReport } from '../../engine/device-sync.js';

export const MENDER_STATUSES = [
  'downloading',
  'pause_before_installing',
  'installing',
  'pause_before_committing',
  'pause_before_rebooting',
  'rebooting',
  'success',
  'failure',
  'already-installed',
  'noartifact',
] as const;
export type MenderStatus = (typeof MENDER_STATUSES)[number];

/** What the server stores about a .mender artifact (metadata.mender, from the upload). */
export interface MenderArtifactMeta {
  artifactName: string;
  deviceTypes: string[];
  provides: Record<string, string>;
  depends: Record<string, string[]>;
}

/** Reads metadata.mender of an artifact; null when the artifact is not a Mender artifact. */
export function menderMetaOf(metadata: Record<string, unknown>): MenderArtifactMeta | null {
  const raw = metadata.mender as Partial<MenderArtifactMeta> | undefined;
  if (!raw || typeof raw.artifactName !== 'string' || !Array.isArray(raw.deviceTypes)) return null;
  return { artifactName: raw.artifactName, deviceTypes: raw.deviceTypes, provides: raw.provides ?? {}, depends: raw.depends ?? {} };
}

/** The device's provides from a v2 body ({device_provides}) or v1 query (artifact_name, device_type). */
export function deviceProvides(raw: unknown): Record<string, string> {
  const source = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const provides = (typeof source.device_provides === 'object' && source.device_provides !== null ? source.device_provides : source) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(provides)) if (typeof value === 'string' && key.length <= 256) out[key] = value.slice(0, 1024);
  if (!out.device_type) throw new ValidationError('device_type is required in the device provides', [{ path: 'device_provides.device_type', message: 'is required' }]);
  return out;
}

/** Whether the artifact can go to this device; answers why not. */
export type Fit = { ok: true } | { ok: false; alreadyInstalled: true } | { ok: false; alreadyInstalled: false; reason: string };

export function artifactFits(meta: MenderArtifactMeta, provides: Record<string, string>): Fit {
  if (!meta.deviceTypes.includes(provides.device_type!)) {
    return { ok: false, alreadyInstalled: false, reason: `the artifact is for device types ${meta.deviceTypes.join(', ')}, not '${provides.device_type}'` };
  }
  if (provides.artifact_name === meta.artifactName) return { ok: false, alreadyInstalled: true };
  for (const [key, accepted] of Object.entries(meta.depends)) {
    if (!accepted.includes(provides[key] ?? '')) return { ok: false, alreadyInstalled: false, reason: `the artifact depends on ${key} in [${accepted.join(', ')}], the device has '${provides[key] ?? ''}'` };
  }
  return { ok: true };
}

/** The 200 body of deployments/next. */
export function nextDeploymentBody(input: { deploymentId: string; artifactId: string; meta: MenderArtifactMeta; uri: string; expiresAt: string }): Record<string, unknown> {
  return {
    id: input.deploymentId,
    artifact: {
      id: input.artifactId,
      artifact_name: input.meta.artifactName,
      source: { uri: input.uri, expire: input.expiresAt },
      device_types_compatible: input.meta.deviceTypes,
    },
  };
}

export function parseStatus(raw: unknown): { status: MenderStatus; substate: string | null } {
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (!MENDER_STATUSES.includes(body.status as MenderStatus)) {
    throw new ValidationError(`status must be one of ${MENDER_STATUSES.join(', ')}`, [{ path: 'status', message: 'is not a deployment status' }]);
  }
  return { status: body.status as MenderStatus, substate: typeof body.substate === 'string' ? body.substate.slice(0, 500) : null };
}

/** Maps a device status onto the state machine; null for pauses (nothing changes). */
export function statusReport(status: MenderStatus, executionId: string, substate: string | null): ExecutionReport | null {
  switch (status) {
    case 'downloading':
      return { id: executionId, state: 'downloading' };
    case 'installing':
      return { id: executionId, state: 'installing' };
    case 'rebooting':
      return { id: executionId, state: 'verifying' };
    case 'success':
    case 'already-installed':
      return { id: executionId, state: 'succeeded' };
    case 'failure':
      return { id: executionId, state: 'failed', error: menderFailureError(substate, null) };
    case 'noartifact':
      return { id: executionId, state: 'failed', error: 'the device found no artifact it could install' };
    default:
      return null;
  }
}

/**
 * A failed deployment's error: the device's substate, then the lines of its deployment log that say
 * why (`summary`, from failureSummary), or a pointer to the log while it has not arrived (mender-client
 * reports the failure first and uploads the log right after).
 */
export function menderFailureError(substate: string | null, summary: string | null): string {
  const head = `the device reported failure${substate ? ` (${substate})` : ''}`;
  return summary ? `${head}: ${summary}` : `${head}${LOG_FOLLOWS}`;
}

const LOG_FOLLOWS = '; its deployment log follows';

/** The error once the log arrived after the failure; null when the error is not waiting for one. */
export function withLogSummary(error: string | null, summary: string | null): string | null {
  if (!summary || !error?.endsWith(LOG_FOLLOWS)) return null;
  return `${error.slice(0, -LOG_FOLLOWS.length)}: ${summary}`;
}

/** A deployment log upload ({messages: [{timestamp, level, message}]}) as plain lines, bounded (core's device-log rules). */
export function parseLog(raw: unknown): string[] {
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (!Array.isArray(body.messages)) throw new ValidationError('messages must be an array of {timestamp, level, message}', [{ path: 'messages', message: 'is required' }]);
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  return storableLines((body.messages as Array<Record<string, unknown> | null>).map((m) => `${text(m?.timestamp)} ${text(m?.level)} ${text(m?.message)}`.trim()));
}

/** The log lines that say why a deployment failed, for the execution's error. */
export const logSummary = (lines: readonly string[]) => failureSummary(lines) || null;
