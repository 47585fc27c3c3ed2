// hawkBit Direct Device Integration (DDI) v1, pure parts: the JSON the server answers (base poll,
// deploymentBase, cancelAction) and how device feedback maps onto our execution state machine.
import { failureSummary, storableLines, ValidationError, type ErrorDetail } from '../../core/index.js';
import type { ExecutionReport } from '../../engine/device-sync.js';

export const DDI_EXECUTIONS = ['closed', 'proceeding', 'canceled', 'scheduled', 'rejected', 'resumed', 'downloaded', 'download'] as const;
export type DdiExecution = (typeof DDI_EXECUTIONS)[number];
export const DDI_FINISHED = ['success', 'failure', 'none'] as const;
export type DdiFinished = (typeof DDI_FINISHED)[number];
export type DdiMode = 'skip' | 'attempt' | 'forced';

/** A feedback body (deploymentBase/{id}/feedback and cancelAction/{id}/feedback), validated. */
export interface DdiFeedback {
  id: string | null;
  execution: DdiExecution;
  finished: DdiFinished;
  progress: { cnt: number; of: number } | null;
  details: string[];
}

/** Polling interval as DDI writes it (HH:MM:SS). */
export function formatSleep(seconds: number): string {
  const s = Math.max(1, Math.min(Math.round(seconds), 24 * 3600 - 1));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** Which links the base poll shows; each only when relevant. */
export interface BaseLinks {
  deploymentActionId?: number;
  /** An action id plus a content hash, so the href changes when the deployment changes. */
  deploymentHash?: string;
  cancelActionId?: number;
  installedActionId?: number;
  configData?: boolean;
}

/** GET /{tenant}/controller/v1/{controllerId}. `base` is that URL, absolute. */
export function basePollBody(base: string, sleepSeconds: number, links: BaseLinks): Record<string, unknown> {
  const out: Record<string, { href: string }> = {};
  if (links.cancelActionId !== undefined) out.cancelAction = { href: `${base}/cancelAction/${links.cancelActionId}` };
  if (links.deploymentActionId !== undefined) out.deploymentBase = { href: `${base}/deploymentBase/${links.deploymentActionId}${links.deploymentHash ? `?c=${links.deploymentHash}` : ''}` };
  if (links.installedActionId !== undefined && links.deploymentActionId === undefined) out.installedBase = { href: `${base}/installedBase/${links.installedActionId}` };
  if (links.configData) out.configData = { href: `${base}/configData` };
  return { config: { polling: { sleep: formatSleep(sleepSeconds) } }, _links: out };
}

/** One downloadable file of a chunk. */
export interface DdiArtifact {
  filename: string;
  size: number;
  sha256: string;
  sha1: string;
  md5: string;
  /** Absolute download URL (Range supported). */
  href: string;
}

export interface DeploymentInput {
  actionId: number;
  download: DdiMode;
  update: DdiMode;
  /** Present only when the rollout has a maintenance window. */
  maintenanceWindow?: 'available' | 'unavailable';
  /** One chunk per software module: one for an artifact, one per component of a release (part = component). */
  chunks: { part: string; name: string; version: string; artifacts: DdiArtifact[] }[];
}

/** GET deploymentBase/{actionId} (and installedBase/{actionId}). */
export function deploymentBody(input: DeploymentInput): Record<string, unknown> {
  const deployment: Record<string, unknown> = { download: input.download, update: input.update };
  if (input.maintenanceWindow) deployment.maintenanceWindow = input.maintenanceWindow;
  deployment.chunks = input.chunks.map((chunk) => ({
    part: chunk.part,
    version: chunk.version,
    name: chunk.name,
    artifacts: chunk.artifacts.map((a) => ({
      filename: a.filename,
      hashes: { sha1: a.sha1, md5: a.md5, sha256: a.sha256 },
      size: a.size,
      _links: { 'download-http': { href: a.href }, 'md5sum-http': { href: `${a.href}.MD5SUM` } },
    })),
  }));
  return { id: String(input.actionId), deployment };
}

/** GET cancelAction/{actionId}. */
export function cancelBody(actionId: number): Record<string, unknown> {
  return { id: String(actionId), cancelAction: { stopId: String(actionId) } };
}

/** Validates a feedback body (unknown JSON) into DdiFeedback; lists every problem found. */
export function parseFeedback(raw: unknown): DdiFeedback {
  const problems: ErrorDetail[] = [];
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const status = (typeof body.status === 'object' && body.status !== null ? body.status : {}) as Record<string, unknown>;
  const result = (typeof status.result === 'object' && status.result !== null ? status.result : {}) as Record<string, unknown>;
  const execution = status.execution;
  if (!DDI_EXECUTIONS.includes(execution as DdiExecution)) problems.push({ path: 'status.execution', message: `must be one of ${DDI_EXECUTIONS.join(', ')}` });
  const finished = result.finished ?? 'none';
  if (!DDI_FINISHED.includes(finished as DdiFinished)) problems.push({ path: 'status.result.finished', message: `must be one of ${DDI_FINISHED.join(', ')}` });
  let progress: DdiFeedback['progress'] = null;
  if (result.progress !== undefined) {
    const p = result.progress as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || !Number.isInteger(p.cnt) || !Number.isInteger(p.of) || (p.cnt as number) < 0 || (p.of as number) < 0) {
      problems.push({ path: 'status.result.progress', message: 'must be {"cnt": integer >= 0, "of": integer >= 0}' });
    } else progress = { cnt: p.cnt as number, of: p.of as number };
  }
  const details = status.details ?? [];
  if (!Array.isArray(details) || details.some((d) => typeof d !== 'string')) problems.push({ path: 'status.details', message: 'must be an array of strings' });
  if (problems.length) throw new ValidationError(`invalid DDI feedback: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  const id = typeof body.id === 'string' || typeof body.id === 'number' ? String(body.id) : null;
  return {
    id,
    execution: execution as DdiExecution,
    finished: finished as DdiFinished,
    progress,
    // SWUpdate sends its whole log here: kept whole, within core's device-log bound (64 KiB).
    details: storableLines(details as string[]),
  };
}

/** What a piece of feedback means for our execution. */
export type FeedbackEffect =
  | { kind: 'report'; report: ExecutionReport }
  | { kind: 'cancel-confirmed' }
  /** Nothing to change (an intermediate message, or an answer to 'skip'); kept in the event log only. */
  | { kind: 'note' };

/**
 * An execution's error from the device's words: the lines of its earlier feedback on this action
 * that say why (SWUpdate sends its log with a `proceeding` message), then the final message's.
 */
export function feedbackError(prefix: string, earlier: readonly string[], final: readonly string[]): string {
  // A short final message is the client's conclusion and always shown; a long one is more log.
  const text = final.length <= 3 ? failureSummary(earlier, { conclusion: final }) : failureSummary([...earlier, ...final]);
  return text ? `${prefix}: ${text}` : prefix;
}

/** Whether this feedback ends the execution as failed (and so needs the whole story). */
export const isFailureFeedback = (fb: DdiFeedback) => (fb.execution === 'closed' && fb.finished === 'failure') || fb.execution === 'rejected';

/**
 * Maps feedback onto the state machine. Only `closed` ends an execution (success/none ->
 * succeeded, failure -> failed); SWUpdate sends it after the device restarted and confirmed the
 * update. A client that answers an offer made with update 'skip' by closing the action did not
 * install anything, so that is a note, not a success. `earlier`: the details of the device's
 * earlier feedback on this action, oldest first, for the reason of a failure.
 */
export function feedbackEffect(fb: DdiFeedback, executionId: string, lastUpdateMode: string | null, earlier: readonly string[] = []): FeedbackEffect {
  const report = (state: ExecutionReport['state'], error?: string): FeedbackEffect => ({ kind: 'report', report: { id: executionId, state, ...(error ? { error } : {}) } });
  switch (fb.execution) {
    case 'closed':
      if (fb.finished === 'failure') return report('failed', feedbackError('the device reported failure', earlier, fb.details));
      if (lastUpdateMode === 'skip') return { kind: 'note' };
      return report('succeeded');
    case 'rejected':
      return report('failed', feedbackError('the device rejected the update', earlier, fb.details));
    case 'canceled':
      return { kind: 'cancel-confirmed' };
    case 'downloaded':
      // Offered with update 'skip' (download ahead, window closed): downloaded and kept, ready to install.
      return report(lastUpdateMode === 'skip' ? 'downloaded' : 'installing');
    case 'proceeding':
    case 'scheduled':
    case 'resumed':
    case 'download':
      if (fb.progress && fb.progress.of > 0 && fb.progress.cnt >= fb.progress.of) return report('verifying');
      return report('downloading');
  }
}
