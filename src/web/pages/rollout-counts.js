// The one mapping from a rollout's `counts` (executions per state, adding up to its device count)
// to what the pages show: the state groups of the device list's tabs, the stacked bars and their
// legends, and the short "12 succeeded · 1 failed" texts. Every rollout panel uses these, so the
// list, the overview, the progress panel, the phases, the chart legend and the tabs agree.

export const STATE_GROUPS = [
  { key: 'succeeded', label: 'succeeded', states: ['succeeded'], cls: 'c-ok', final: true },
  { key: 'failed', label: 'failed', states: ['failed'], cls: 'c-bad', final: true },
  { key: 'rolled-back', label: 'rolled back', states: ['rolled-back'], cls: 'c-purple', final: true },
  { key: 'active', label: 'in progress', states: ['delivering', 'downloading', 'installing', 'verifying'], cls: 'c-accent', final: false },
  { key: 'waiting', label: 'waiting', states: ['pending', 'queued'], cls: 'c-light', final: false },
  { key: 'cancelled', label: 'cancelled', states: ['cancelled'], cls: 'c-warn', final: true },
  { key: 'skipped', label: 'skipped', states: ['skipped'], cls: 'c-muted', final: true },
];

export const FAILED_STATES = ['failed', 'rolled-back'];

const sum = (counts, states) => states.reduce((n, s) => n + (counts?.[s] ?? 0), 0);

/** Every device counted once: the sum of `counts`. */
export const totalOf = (counts) => Object.values(counts ?? {}).reduce((n, c) => n + (c ?? 0), 0);

/** Stacked-bar parts, one per state group, and their total (the device count). */
export function partsOf(counts) {
  const parts = STATE_GROUPS.map((g) => ({ key: g.key, label: g.label, value: sum(counts, g.states), cls: g.cls, done: g.final }));
  return { parts, total: totalOf(counts) };
}

export const failedOf = (counts) => sum(counts, FAILED_STATES);
export const finishedOf = (counts) => sum(counts, STATE_GROUPS.filter((g) => g.final).flatMap((g) => g.states));

/** "12 succeeded · 1 failed · 30 skipped": the groups that have devices (succeeded always). */
export function countsText(counts) {
  return partsOf(counts)
    .parts.filter((p) => p.value > 0 || p.key === 'succeeded')
    .map((p) => `${p.value.toLocaleString()} ${p.label}`)
    .join(' · ');
}
