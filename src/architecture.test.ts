// Rules about the shape of the code that no single module's tests see: the import graph has no
// cycles, and the built tree (what `npm run build` emits and the package ships) holds no test support.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');

/** Every relative import and re-export of every module under src (type-only ones too). */
function importGraph(): Map<string, string[]> {
  const files = fs
    .readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => path.join(SRC, f));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const deps: string[] = [];
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), fileName);
      const resolved = [target.replace(/\.js$/, '.ts'), target].find((candidate) => fs.existsSync(candidate) && candidate.startsWith(SRC));
      if (resolved) deps.push(resolved);
    }
    graph.set(file, deps);
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one member, or a module importing itself. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The source files `tsc -p tsconfig.build.json` emits: its roots and everything they import. */
function builtSources(): ts.SourceFile[] {
  const configPath = path.join(ROOT, 'tsconfig.build.json');
  const { config, error } = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
  return program.getSourceFiles().filter((sf) => sf.fileName.startsWith(SRC.split(path.sep).join('/')) && !sf.isDeclarationFile);
}

describe('architecture', () => {
  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
      ['e', ['e']],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c'], ['e']]);
    expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  it('has no import cycle under src', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(300);
    const named = cycles(graph).map((component) => component.map((f) => path.relative(SRC, f)).join(' <-> '));
    expect(named).toEqual([]);
  });

  it('emits no module that imports vitest, and no test file, into dist', () => {
    const built = builtSources();
    expect(built.some((sf) => sf.fileName.endsWith('/src/cli/main.ts'))).toBe(true);
    const tests = built.filter((sf) => /\.(test|chaos|fuzz|fixtures)\.ts$|\.contract\.ts$/.test(sf.fileName)).map((sf) => sf.fileName);
    expect(tests).toEqual([]);
    const importsVitest = built
      .filter((sf) => ts.preProcessFile(sf.text, true, true).importedFiles.some((i) => i.fileName === 'vitest' || i.fileName.startsWith('vitest/')))
      .map((sf) => path.relative(SRC, sf.fileName));
    expect(importsVitest).toEqual([]);
  });
});
