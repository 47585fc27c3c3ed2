// How the CLI shows a rollout: Rollout JSON's parts it prints, the status with what the rollout
// waits for and the command that ends the wait, and counts and progress exactly as the API gives
// them (no arithmetic of its own, so the CLI agrees with the API and the dashboard).

import { formatBandwidth } from '../../core/bandwidth.js';

/** The parts of Rollout JSON the CLI shows. */
export interface RolloutView {
  id: string;
  name: string;
  artifactId: string;
  strategy: string;
  status: string;
  statusReason: string | null;
  pauseCause?: string | null;
  revert?: boolean;
  currentPhase: number;
  phases: unknown[];
  window?: unknown;
  downloadAhead?: boolean;
  maxBandwidth?: number | null;
  maxDeviceBandwidth?: number | null;
  counts: Record<string, number>;
  waiting?: string | null;
  waitingUntil?: string | null;
  progress?: {
    total: number;
    finished: number;
    percentDone: number;
    succeeded: number;
    failed: number;
    successRate: number | null;
    installedAfterCancel?: number;
    downloaded?: number;
    bytes?: number;
    bytesFetched?: number;
    bytesReused?: number;
    ratePerSecond: number;
    etaSeconds: number | null;
    phases: { phase: number; devices: number; counts: Record<string, number>; percentDone?: number }[];
  };
}

const FINAL = new Set(['completed', 'failed', 'cancelled', 'rolled-back']);

/** "executions per state" as `succeeded=3 failed=1`, in the API's order, zeros left out. */
export const countsText = (counts: Record<string, number>) => Object.entries(counts).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ') || '-';

/** What the rollout waits for and what ends the wait (a command, or a time), or null. */
export function waitText(r: Pick<RolloutView, 'id' | 'status' | 'waiting' | 'waitingUntil'>): string | null {
  const at = r.waitingUntil ? ` until ${r.waitingUntil}` : '';
  switch (r.waiting) {
    case 'approval':
      return `waiting for approval: orchestrator rollouts approve ${r.id}`;
    case 'soak':
      return `soaking${at}; the next phase starts by itself then`;
    case 'window':
      return `waiting for the maintenance window${r.waitingUntil ? ` (opens ${r.waitingUntil})` : ''}`;
    case 'rate-limit':
      return `waiting for the rate limit${r.waitingUntil ? ` (next start ${r.waitingUntil})` : ''}`;
    case 'start':
      return `waiting for its start time${r.waitingUntil ? ` (${r.waitingUntil})` : ''}`;
    default:
      if (r.status === 'paused') return `paused: orchestrator rollouts resume ${r.id} to go on, orchestrator rollouts cancel ${r.id} to stop`;
      return null;
  }
}

/** The status column: the status, and what it waits for. */
export function statusText(r: RolloutView): string {
  if (r.waiting) return `${r.status} (waiting: ${r.waiting})`;
  if (r.status === 'paused' && r.pauseCause && r.pauseCause !== 'operator') return `paused (${r.pauseCause})`;
  return r.status;
}

/** "50.0% done (30/60), 29 succeeded, 1 failed, 96.7% success". */
export function progressText(p: NonNullable<RolloutView['progress']>): string {
  const rate = p.successRate === null ? '' : `, ${p.successRate}% success`;
  return `${p.percentDone}% done (${p.finished}/${p.total}), ${p.succeeded} succeeded, ${p.failed} failed${rate}`;
}

export function etaText(r: RolloutView): string {
  const p = r.progress;
  if (!p) return '?';
  if (FINAL.has(r.status)) return '-';
  if (p.etaSeconds === null) return r.status === 'paused' || r.waiting ? '- (not while paused or waiting)' : '? (no rate yet)';
  return `${p.etaSeconds} s at ${p.ratePerSecond}/s`;
}

/** "1.2 MiB" style sizes for people. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** "3.1 MiB fetched, 60.9 MiB reused (95% saved by deltas)", or null when nothing moved yet. */
export function transferLine(fetched: number, reused: number): string | null {
  if (fetched + reused === 0) return null;
  const saved = reused > 0 ? ` (${Math.round((reused / (fetched + reused)) * 100)}% saved by deltas)` : '';
  return `${humanBytes(fetched)} fetched, ${humanBytes(reused)} reused${saved}`;
}

/** One row of `rollouts list`. */
export function listRow(r: RolloutView): Record<string, unknown> {
  return { ...r, status: statusText(r), phase: `${r.currentPhase + 1}/${r.phases.length}`, progress: r.progress ? `${r.progress.percentDone}% (${r.progress.finished}/${r.progress.total})` : '-', counts: countsText(r.counts) };
}

export const LIST_COLUMNS = [
  { key: 'id' },
  { key: 'name', width: 24 },
  { key: 'strategy' },
  { key: 'status', width: 36 },
  { key: 'phase' },
  { key: 'progress' },
  { key: 'counts', width: 60 },
  { key: 'createdAt', header: 'CREATED' },
];

export function printRollout(r: RolloutView, out: (text: string) => void = (t) => process.stdout.write(t)): void {
  const lines: [string, unknown][] = [
    ['id', r.id],
    ['name', r.name || '-'],
    ['artifact', r.artifactId + (r.revert ? ' (being left: devices switch back to their previous slot)' : '')],
    ['strategy', r.strategy],
    ['status', statusText(r) + (r.statusReason ? ` (${r.statusReason})` : '')],
  ];
  const wait = waitText(r);
  if (wait) lines.push(['next', wait]);
  lines.push(['phase', `${r.currentPhase + 1} of ${r.phases.length}`]);
  const caps = [r.maxBandwidth ? `${formatBandwidth(r.maxBandwidth)} in total (per server)` : null, r.maxDeviceBandwidth ? `${formatBandwidth(r.maxDeviceBandwidth)} per device` : null].filter(Boolean);
  if (caps.length) lines.push(['bandwidth', caps.join(', ')]);
  lines.push(['counts', countsText(r.counts)]);
  if (r.progress) {
    lines.push(['progress', progressText(r.progress)]);
    const late = r.progress.installedAfterCancel ?? 0;
    if (late) lines.push(['note', `${late} cancelled device${late === 1 ? '' : 's'} installed it anyway (the cancel reached ${late === 1 ? 'it' : 'them'} too late): orchestrator rollouts devices ${r.id} --state cancelled`]);
    if (r.downloadAhead) lines.push(['ready', `${r.progress.downloaded ?? 0} of ${r.progress.total} downloaded ahead, installing when the window opens`]);
    lines.push(['eta', etaText(r)]);
    const transfer = transferLine(r.progress.bytesFetched ?? 0, r.progress.bytesReused ?? 0);
    if (transfer) lines.push(['transfer', transfer]);
    if (r.progress.phases.length > 1) for (const p of r.progress.phases) lines.push([`phase ${p.phase}`, `${p.devices} devices: ${countsText(p.counts)}`]);
  }
  for (const [k, v] of lines) out(`${k.padEnd(10)} ${String(v)}\n`);
}
