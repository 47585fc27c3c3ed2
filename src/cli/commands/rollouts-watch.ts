// `orchestrator rollouts watch ID`: a progress bar per phase (cli-progress multibar) with counts
// and ETA, polling the API until the rollout ends. Without a terminal (or with --json) it prints
// one line per poll instead.
import cliProgress from 'cli-progress';
import type { ApiClient } from '../client.js';

/** The parts of Rollout JSON the CLI shows. */
export interface RolloutView {
  id: string;
  name: string;
  artifactId: string;
  strategy: string;
  status: string;
  statusReason: string | null;
  currentPhase: number;
  phases: unknown[];
  counts: Record<string, number>;
  progress?: {
    total: number;
    finished: number;
    bytes?: number;
    bytesFetched?: number;
    bytesReused?: number;
    ratePerSecond: number;
    etaSeconds: number | null;
    phases: { phase: number; devices: number; counts: Record<string, number> }[];
  };
}

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'rolled-back']);
const TERMINAL = ['succeeded', 'failed', 'rolled-back', 'cancelled', 'skipped'];
const done = (counts: Record<string, number>) => TERMINAL.reduce((n, s) => n + (counts[s] ?? 0), 0);
const brief = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ');

export async function watchRollout(client: ApiClient, id: string, o: { intervalMs: number; json: boolean }): Promise<RolloutView> {
  const tty = process.stderr.isTTY && !o.json;
  const multibar = tty
    ? new cliProgress.MultiBar({ format: 'phase {phase} [{bar}] {value}/{total} {counts}  ETA {eta_text}', stream: process.stderr, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic)
    : null;
  const bars = new Map<number, cliProgress.SingleBar>();
  try {
    for (;;) {
      const r = await client.request<RolloutView>('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`);
      const eta = r.progress?.etaSeconds === null || r.progress?.etaSeconds === undefined ? '?' : `${r.progress.etaSeconds}s`;
      for (const p of r.progress?.phases ?? []) {
        const payload = { phase: `${p.phase}/${r.phases.length}`, counts: brief(p.counts), eta_text: eta };
        let bar = bars.get(p.phase);
        if (multibar && !bar) {
          bar = multibar.create(Math.max(1, p.devices), 0, payload);
          bars.set(p.phase, bar);
        }
        bar?.setTotal(Math.max(1, p.devices));
        bar?.update(done(p.counts), payload);
      }
      if (!multibar) {
        const line = { id: r.id, status: r.status, phase: r.currentPhase + 1, counts: r.counts, finished: r.progress?.finished, total: r.progress?.total, ratePerSecond: r.progress?.ratePerSecond, etaSeconds: r.progress?.etaSeconds ?? null };
        process.stdout.write((o.json ? JSON.stringify(line) : `${r.status} phase ${line.phase}/${r.phases.length} ${brief(r.counts)} ETA ${eta}`) + '\n');
      }
      if (FINISHED.has(r.status)) return r;
      await new Promise((resolve) => setTimeout(resolve, o.intervalMs));
    }
  } finally {
    multibar?.stop();
  }
}
