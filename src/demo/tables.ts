// Readable tables for the demo's output: aligned columns, a title, and counts grouped by a key.

/** An aligned text table with a header row and a rule under it. */
export function table(title: string, rows: Record<string, string | number>[], columns?: string[]): string {
  const keys = columns ?? Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => keys.map((k) => String(r[k] ?? '-')));
  const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) => '  ' + values.map((v, i) => (/^-?\d+(\.\d+)?%?$/.test(v) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [`${title}`, line(keys), '  ' + widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** Counts of `items` per key, as rows sorted by key. */
export function countBy<T>(items: T[], key: (item: T) => string, label: string): Record<string, string | number>[] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => ({ [label]: k, devices: n }));
}
