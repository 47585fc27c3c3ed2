// Rules about the shape of the code that no single module's tests see: the import graph has no
// cycles, every top-level folder with an index.ts says in its first two lines what it holds and
// which folders it may import (and its code keeps to that), and the built tree (what `npm run
// build` emits and the package ships) holds no test support.
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

/** Test code and test support, which the layering rule does not bind (they may reach anywhere). */
const TEST_FILE = /\.(test|chaos|fuzz|fixtures)\.ts$|\.contract\.ts$/;

/** The top-level name under src a file belongs to: its folder, or for a file directly in src its name without extension. */
function topLevelOf(file: string): string {
  const [first, ...rest] = path.relative(SRC, file).split(path.sep);
  return rest.length > 0 ? first! : first!.replace(/\.(ts|js)$/, '');
}

interface FolderHeader {
  holds: string;
  mayImport: string[];
}

/**
 * The two opening lines of a folder's index.ts: what the folder holds, then
 * `// May import: a, b, c` (or `(none)`). Returns the problem as a string when they are not there.
 */
function parseFolderHeader(text: string): FolderHeader | string {
  const [first = '', second = ''] = text.split('\n');
  const holds = /^\/\/ (\S.*)$/.exec(first)?.[1];
  if (!holds || /^May import:/i.test(holds)) return `line 1 must be a comment saying what the folder holds, not ${JSON.stringify(first)}`;
  const may = /^\/\/ May import: (\(none\)|[a-z][a-z-]*(?:, [a-z][a-z-]*)*)$/.exec(second)?.[1];
  if (!may) return `line 2 must be "// May import: <folders, comma-separated>" or "// May import: (none)", not ${JSON.stringify(second)}`;
  return { holds, mayImport: may === '(none)' ? [] : may.split(', ') };
}

/** Each non-test file of `folder` that imports a top-level name outside `allowed`, as "file -> name". */
function layeringViolations(folder: string, allowed: readonly string[], graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  for (const [file, deps] of graph) {
    if (topLevelOf(file) !== folder || TEST_FILE.test(file)) continue;
    for (const dep of deps) {
      const target = topLevelOf(dep);
      if (target !== folder && !allowed.includes(target)) found.push(`${path.relative(SRC, file)} -> ${target}`);
    }
  }
  return [...new Set(found)].sort();
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

  it('reads folder headers and finds imports they do not allow (the checks themselves)', () => {
    expect(parseFolderHeader('// Things.\n// May import: core, store\nexport {};')).toEqual({ holds: 'Things.', mayImport: ['core', 'store'] });
    expect(parseFolderHeader('// Pure things.\n// May import: (none)\n')).toEqual({ holds: 'Pure things.', mayImport: [] });
    expect(parseFolderHeader('// Things.\nexport {};')).toMatch(/line 2/);
    expect(parseFolderHeader('// Things.\n// May import: core,store')).toMatch(/line 2/);
    expect(parseFolderHeader('// May import: core\n// Things.')).toMatch(/line 1/);
    expect(parseFolderHeader('export {};\n// May import: core')).toMatch(/line 1/);
    const at = (f: string) => path.join(SRC, f);
    const graph = new Map([
      [at('a/x.ts'), [at('core/index.ts'), at('a/y.ts'), at('b/index.ts')]],
      [at('a/y.ts'), [at('config.ts')]],
      [at('a/x.test.ts'), [at('testing/app.ts')]],
      [at('b/index.ts'), [at('a/x.ts')]],
    ]);
    expect(layeringViolations('a', ['core'], graph)).toEqual(['a/x.ts -> b', 'a/y.ts -> config']);
    expect(layeringViolations('a', ['b', 'config', 'core'], graph)).toEqual([]);
  });

  it('opens every top-level folder index.ts with what it holds and what it may import, and keeps to it', () => {
    const graph = importGraph();
    const names = new Set([...graph.keys()].map(topLevelOf));
    const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((d) => d.isDirectory() && fs.existsSync(path.join(SRC, d.name, 'index.ts')));
    expect(folders.length).toBeGreaterThan(15);
    const problems: string[] = [];
    for (const { name } of folders) {
      const header = parseFolderHeader(fs.readFileSync(path.join(SRC, name, 'index.ts'), 'utf8'));
      if (typeof header === 'string') {
        problems.push(`src/${name}/index.ts: ${header}`);
        continue;
      }
      for (const allowed of header.mayImport) if (allowed === name || !names.has(allowed)) problems.push(`src/${name}/index.ts: May import names '${allowed}', which is not another top-level folder or file of src`);
      for (const violation of layeringViolations(name, header.mayImport, graph)) problems.push(`${violation}, which src/${name}/index.ts does not allow (May import: ${header.mayImport.join(', ') || '(none)'})`);
    }
    expect(problems).toEqual([]);
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
