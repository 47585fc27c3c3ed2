// The one mapping from a rollout's `counts` (executions per state, adding up to its device count,
// progress.total) to what the pages show: the state groups of the device list's tabs, the stacked
// bars and their legends, and the short "12 succeeded · 1 failed" texts. Every rollout panel uses
// these, so the list, the overview, the progress panel, the phases, the chart legend and the tabs
// agree. Totals, finished, succeeded and failed are the API's `progress` figures; nothing here
// adds them up again.

export const STATE_GROUPS = [
  { key: 'succeeded', label: 'succeeded', states: ['succeeded'], cls: 'c-ok', final: true },
  { key: 'failed', label: 'failed', states: ['failed'], cls: 'c-bad', final: true },
  { key: 'rolled-back', label: 'rolled back', states: ['rolled-back'], cls: 'c-purple', final: true },
  { key: 'active', label: 'in progress', states: ['delivering', 'downloading', 'installing', 'verifying'], cls: 'c-accent', final: false },
  { key: 'ready', label: 'ready (downloaded)', states: ['downloaded'], cls: 'c-teal', final: false },
  { key: 'waiting', label: 'waiting', states: ['pending', 'queued'], cls: 'c-light', final: false },
  { key: 'cancelled', label: 'cancelled', states: ['cancelled'], cls: 'c-warn', final: true },
  { key: 'skipped', label: 'skipped', states: ['skipped'], cls: 'c-muted', final: true },
];

export const FAILED_STATES = ['failed', 'rolled-back'];

/** Rollout statuses that end it. */
export const FINISHED = ['completed', 'failed', 'cancelled', 'rolled-back'];

const sum = (counts, states) => states.reduce((n, s) => n + (counts?.[s] ?? 0), 0);

/** Stacked-bar parts, one per state group of `counts`, over `total` (the API's device count, progress.total). */
export function partsOf(counts, total) {
  const parts = STATE_GROUPS.map((g) => ({ key: g.key, label: g.label, value: sum(counts, g.states), cls: g.cls, done: g.final }));
  return { parts, total: total ?? 0 };
}

/** Devices of a state group ("active": delivering + downloading + ...), from `counts`. */
export const groupCount = (group, counts) => sum(counts, group.states);

/** "12 succeeded · 1 failed · 30 skipped": the groups that have devices (succeeded always). */
export function countsText(counts) {
  return partsOf(counts)
    .parts.filter((p) => p.value > 0 || p.key === 'succeeded')
    .map((p) => `${p.value.toLocaleString()} ${p.label}`)
    .join(' · ');
}

/** "100% done · 29 succeeded · 1 failed · 30 skipped": the API's percentDone, then countsText. */
export function progressText(r) {
  const pct = r.progress?.percentDone;
  return `${typeof pct === 'number' ? `${Math.floor(pct)}% done · ` : ''}${countsText(r.counts)}`;
}
