// Output for humans (aligned tables) and scripts (--json).

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints rows as an aligned table with the given columns. */
export function printTable(rows: Record<string, unknown>[], columns: { key: string; header?: string; width?: number }[]): void {
  const cell = (value: unknown): string => {
    if (value === null || value === undefined) return '-';
    if (typeof value === 'object') return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(',') || '-';
    return String(value);
  };
  const headers = columns.map((c) => c.header ?? c.key.toUpperCase());
  const cells = rows.map((row) => columns.map((c) => {
    const text = cell(row[c.key]);
    return c.width && text.length > c.width ? text.slice(0, c.width - 1) + '…' : text;
  }));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write([line(headers), ...cells.map(line)].join('\n') + '\n');
}

/** Prints one object as aligned "key value" lines (objects as JSON). */
export function printRecord(record: object): void {
  const entries = Object.entries(record);
  const width = Math.max(...entries.map(([k]) => k.length)) + 2;
  for (const [k, v] of entries) process.stdout.write(`${k.padEnd(width)}${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? '-')}\n`);
}
