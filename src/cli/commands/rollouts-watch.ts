// `orchestrator rollouts watch ID`: a progress bar per phase (cli-progress multibar) with counts
// and ETA, polling the API until the rollout ends, and a line whenever what it waits for changes
// (with the command that ends the wait). Without a terminal (or with --json) it prints one line
// per poll instead. Every number is the API's (counts, progress.percentDone, etaSeconds).
import cliProgress from 'cli-progress';
import type { ApiClient } from '../client.js';
import { countsText, etaText, waitText, type RolloutView } from './rollouts-view.js';

export type { RolloutView } from './rollouts-view.js';

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'rolled-back']);
const TERMINAL = ['succeeded', 'failed', 'rolled-back', 'cancelled', 'skipped'];
const done = (counts: Record<string, number>) => TERMINAL.reduce((n, s) => n + (counts[s] ?? 0), 0);

export async function watchRollout(client: ApiClient, id: string, o: { intervalMs: number; json: boolean }): Promise<RolloutView> {
  const tty = process.stderr.isTTY && !o.json;
  const multibar = tty
    ? new cliProgress.MultiBar({ format: 'phase {phase} [{bar}] {value}/{total} {counts}  ETA {eta_text}', stream: process.stderr, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic)
    : null;
  const bars = new Map<number, cliProgress.SingleBar>();
  let lastWait: string | null = null;
  try {
    for (;;) {
      const r = await client.request<RolloutView>('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`);
      const eta = etaText(r);
      const wait = waitText(r);
      for (const p of r.progress?.phases ?? []) {
        const payload = { phase: `${p.phase}/${r.phases.length}`, counts: countsText(p.counts), eta_text: eta };
        let bar = bars.get(p.phase);
        if (multibar && !bar) {
          bar = multibar.create(Math.max(1, p.devices), 0, payload);
          bars.set(p.phase, bar);
        }
        bar?.setTotal(Math.max(1, p.devices));
        bar?.update(done(p.counts), payload);
      }
      if (multibar && wait !== lastWait && wait) multibar.log(`${wait}\n`);
      lastWait = wait;
      if (!multibar) {
        const p = r.progress;
        const line = {
          id: r.id,
          status: r.status,
          waiting: r.waiting ?? null,
          waitingUntil: r.waitingUntil ?? null,
          phase: r.currentPhase + 1,
          counts: r.counts,
          finished: p?.finished,
          total: p?.total,
          percentDone: p?.percentDone,
          successRate: p?.successRate ?? null,
          ratePerSecond: p?.ratePerSecond,
          etaSeconds: p?.etaSeconds ?? null,
        };
        const text = `${r.status} phase ${line.phase}/${r.phases.length} ${countsText(r.counts)}${p ? ` ${p.percentDone}% done` : ''} ETA ${eta}${wait ? ` | ${wait}` : ''}`;
        process.stdout.write((o.json ? JSON.stringify(line) : text) + '\n');
      }
      if (FINISHED.has(r.status)) return r;
      await new Promise((resolve) => setTimeout(resolve, o.intervalMs));
    }
  } finally {
    multibar?.stop();
  }
}
