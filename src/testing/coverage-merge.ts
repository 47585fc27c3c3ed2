// Adds one run's Istanbul counts of a file to another run's map of the same source file, when
// the two were made from different transpilations (Vitest's of src/*.ts, tsc's dist/*.js for
// child processes). Their statements, functions and branches sit at almost the same source
// positions but not always exactly: the counts are matched by start position, else by line, onto
// the target's entries, so totals stay the target's and nothing is counted twice.

export interface Position {
  line: number;
  column: number | null;
}
export interface Range {
  start: Position;
  end: Position;
}
/** Istanbul's per-file coverage data (FileCoverageData), the fields this module uses. */
export interface FileData {
  statementMap: Record<string, Range>;
  s: Record<string, number>;
  fnMap: Record<string, { decl: Range; loc: Range }>;
  f: Record<string, number>;
  branchMap: Record<string, { loc: Range; locations: Range[] }>;
  b: Record<string, number[]>;
}

const at = (p: Position) => `${p.line}:${p.column ?? '-'}`;

/** Highest count per start position and per start line. */
function index<T>(entries: Record<string, T>, rangeOf: (entry: T) => Range, countOf: (id: string) => number) {
  const byStart = new Map<string, number>();
  const byLine = new Map<number, number>();
  for (const [id, entry] of Object.entries(entries)) {
    const { start } = rangeOf(entry);
    const n = countOf(id);
    byStart.set(at(start), Math.max(byStart.get(at(start)) ?? 0, n));
    byLine.set(start.line, Math.max(byLine.get(start.line) ?? 0, n));
  }
  return (range: Range) => byStart.get(at(range.start)) ?? byLine.get(range.start.line) ?? 0;
}

/** Adds `source`'s counts to `target` in place, on `target`'s own statements, functions and branches. */
export function addCounts(target: FileData, source: FileData): void {
  const statements = index(source.statementMap, (r) => r, (id) => source.s[id] ?? 0);
  for (const [id, range] of Object.entries(target.statementMap)) target.s[id] = (target.s[id] ?? 0) + statements(range);

  const functions = index(source.fnMap, (fn) => fn.decl, (id) => source.f[id] ?? 0);
  for (const [id, fn] of Object.entries(target.fnMap)) target.f[id] = (target.f[id] ?? 0) + functions(fn.decl);

  // A branch's arms are matched by position only: by line would pair arms of different branches.
  const branches = new Map<string, number[]>();
  for (const [id, branch] of Object.entries(source.branchMap)) branches.set(`${at(branch.loc.start)}/${branch.locations.length}`, source.b[id] ?? []);
  for (const [id, branch] of Object.entries(target.branchMap)) {
    const counts = branches.get(`${at(branch.loc.start)}/${branch.locations.length}`);
    if (counts) target.b[id] = (target.b[id] ?? branch.locations.map(() => 0)).map((n, i) => n + (counts[i] ?? 0));
  }
}
