// Download ahead, install in the window: what a device of a download-ahead rollout may do now. The
// window is judged here, on the server, and only here: the device API's target (`action`), the
// hawkBit adapter's `update: skip`, the report guard and the engine's wake-ups all ask this.
import type { TargetAction } from './target-state.js';
import type { Rollout } from './rollout.js';
import { nextStart, type MaintenanceWindow } from './window.js';

export interface InstallGate {
  action: TargetAction;
  /** With `download`: epoch ms the window next opens, where known. */
  installAfter: number | null;
}

/** The zone a rollout's window is judged in for a device (the rollout's fixed zone, else the device's own). */
export const windowZone = (window: MaintenanceWindow, deviceZone: string | null | undefined) => window.timezone ?? deviceZone ?? 'UTC';

/**
 * Whether a device of `rollout` in `zone` may install now. Rollouts without download-ahead are
 * released only inside their window, so their devices always install; a download-ahead device
 * installs once the window is open with enough of it left (the rule push deliveries start by),
 * and not while the rollout is paused.
 */
export function installGate(rollout: Pick<Rollout, 'downloadAhead' | 'window' | 'status'>, zone: string | null | undefined, now: number): InstallGate {
  const window = rollout.window;
  if (!rollout.downloadAhead || !window) return { action: 'install', installAfter: null };
  // Paused starts nothing new: a ready device keeps its file until the rollout resumes.
  if (rollout.status === 'paused') return { action: 'download', installAfter: null };
  const next = nextStart(window, windowZone(window, zone), now);
  return next === now ? { action: 'install', installAfter: null } : { action: 'download', installAfter: next };
}
