// The agent's planner: a pure function of (state on disk, target from the server) to the typed
// steps that bring the device closer to its target. The apply loop runs the first step, saves the
// state and plans again (balena-supervisor's shape), so a restart simply plans from the saved state.
import type { TargetState, TargetUpdate } from '../core/index.js';
import type { AgentState } from './state.js';

export type Step =
  | { action: 'start'; update: TargetUpdate }
  | { action: 'already-installed'; update: TargetUpdate }
  | { action: 'revert'; update: TargetUpdate }
  | { action: 'drop'; reason: string }
  | { action: 'download' }
  | { action: 'verify' }
  | { action: 'hold' }
  | { action: 'release'; update: TargetUpdate }
  | { action: 'install' }
  | { action: 'health' }
  | { action: 'rollback' }
  | { action: 'finish' }
  | { action: 'report' };

export type StepAction = Step['action'];

/** True when what is installed already is exactly what the update brings. */
export function isInstalled(state: AgentState, update: TargetUpdate): boolean {
  const current = state.current;
  if (!current || current.name !== update.name || current.version !== update.version) return false;
  if (update.imageRef) return current.imageRef === update.imageRef;
  return !!update.sha256 && current.sha256 === update.sha256;
}

/**
 * Plans the next steps. `target` is null while the agent does not know its target yet (just
 * started, server unreachable): work in progress continues, nothing new starts, nothing is dropped.
 * A download-ahead target (action `download`) is downloaded and verified, then held (`ready`,
 * reported `downloaded`) until the server's target for it says `install`; only the server opens
 * the window, so an agent that cannot reach it keeps holding.
 */
export function plan(state: AgentState, target: TargetState | null): Step[] {
  const steps: Step[] = [];
  const job = state.job;
  if (job) {
    const wanted = target?.update?.executionId;
    const same = target?.update && wanted === job.update.executionId ? target.update : null;
    // Download ahead: what the server says now (while it cannot be asked, what it said last).
    const say = target === null ? job.update.action : same?.action;
    if (job.outcome) steps.push({ action: 'finish' });
    else if (target && !same && (job.phase === 'download' || job.phase === 'verify' || job.phase === 'ready')) {
      steps.push({ action: 'drop', reason: wanted ? `replaced by execution ${wanted}` : 'no longer targeted (cancelled or paused)' });
    } else if (job.phase === 'ready') {
      if (same && same.action !== 'download') steps.push({ action: 'release', update: same });
    } else if (job.phase === 'install' && !job.switched && say === 'download') steps.push({ action: 'hold' });
    else steps.push({ action: job.phase });
  } else if (target?.update && !state.done.includes(target.update.executionId)) {
    const update = target.update;
    if (update.revert) steps.push({ action: 'revert', update });
    else steps.push(isInstalled(state, update) ? { action: 'already-installed', update } : { action: 'start', update });
  }
  if (state.outbox.length > 0) steps.push({ action: 'report' });
  return steps;
}
