// Coverage for `npm run coverage` (vitest.coverage.config.ts): Vitest's own V8 provider for the
// code the tests run in-process, plus what the child processes they start (the CLI, `serve`, the
// agent: node dist/...) executed. Children write raw V8 coverage to CHILD_COVERAGE_DIR because
// coverage-setup.ts sets NODE_V8_COVERAGE for them; here that is merged per script, mapped from
// dist/*.js back to src/*.ts through tsc's source maps with the converter Vitest uses
// (ast-v8-to-istanbul), and its counts added to Vitest's map before it reports (coverage-merge.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ScriptCov } from '@bcoe/v8-coverage';
// Test workers load this module too (for the v8 runtime below): the report-side modules are
// imported only when a report is made, in Vitest's main process.
import v8 from '@vitest/coverage-v8';
import type { CoverageProvider, CoverageProviderModule, ReportContext } from 'vitest/node';
import { addCounts, type FileData } from './coverage-merge.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Where child processes write their raw V8 coverage (NODE_V8_COVERAGE). */
export const CHILD_COVERAGE_DIR = path.join(ROOT, 'coverage', '.children');
const DIST_URL = pathToFileURL(path.join(ROOT, 'dist')).href + '/';

/** What this module needs of Vitest's V8 provider beyond the public CoverageProvider interface. */
type V8Provider = CoverageProvider & {
  isIncluded(filename: string): boolean;
  options: { ignoreClassMethods?: string[] };
};
/** The parts of istanbul-lib-coverage's CoverageMap used here. */
interface CoverageMap {
  files(): string[];
  fileCoverageFor(file: string): { data: FileData };
  merge(data: Record<string, FileData>): void;
}

/** Every child's coverage of dist/*.js, merged per script across processes. */
async function readChildScripts(dir: string): Promise<ScriptCov[]> {
  const { mergeScriptCovs } = await import('@bcoe/v8-coverage');
  const byUrl = new Map<string, ScriptCov>();
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  for (const file of files) {
    let parsed: { result?: ScriptCov[] };
    try {
      parsed = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { result?: ScriptCov[] };
    } catch {
      continue; // a child killed while writing leaves a partial file; its counts are lost either way
    }
    for (const script of parsed.result ?? []) {
      if (!script.url.startsWith(DIST_URL) || !script.url.endsWith('.js')) continue;
      const seen = byUrl.get(script.url);
      byUrl.set(script.url, seen ? mergeScriptCovs([seen, script])! : script);
    }
  }
  return [...byUrl.values()];
}

/** One dist script's coverage as Istanbul data about its src/*.ts file. */
async function toIstanbul(script: ScriptCov, ignoreClassMethods: string[] | undefined): Promise<object | null> {
  const file = fileURLToPath(script.url);
  const mapFile = `${file}.map`;
  if (!fs.existsSync(file) || !fs.existsSync(mapFile)) return null;
  const [{ default: convert }, { parseAstAsync }] = await Promise.all([import('ast-v8-to-istanbul'), import('vitest/node')]);
  const code = fs.readFileSync(file, 'utf8');
  const map = JSON.parse(fs.readFileSync(mapFile, 'utf8')) as { version: number; sources: string[]; mappings: string; names: string[] };
  map.sources = map.sources.map((source) => new URL(source, pathToFileURL(mapFile)).href);
  return convert({ code, sourceMap: map, ast: parseAstAsync(code), coverage: { url: script.url, functions: script.functions }, ignoreClassMethods });
}

/**
 * Adds the children's counts of included files to `map`: onto the file's entries when the map has
 * the file (it has every included file after a full run), as the file's own data otherwise.
 * Answers how many dist scripts contributed.
 */
export async function mergeChildCoverage(map: CoverageMap, isIncluded: (file: string) => boolean, ignoreClassMethods?: string[], dir = CHILD_COVERAGE_DIR): Promise<number> {
  const known = new Set(map.files());
  let used = 0;
  for (const script of await readChildScripts(dir)) {
    const converted = (await toIstanbul(script, ignoreClassMethods)) as Record<string, FileData | { data: FileData }> | null;
    let contributed = false;
    for (const [source, entry] of Object.entries(converted ?? {})) {
      if (!isIncluded(source)) continue;
      const data = 'data' in entry ? entry.data : entry;
      if (known.has(source)) addCounts(map.fileCoverageFor(source).data, data);
      else map.merge({ [source]: data });
      contributed = true;
    }
    if (contributed) used++;
  }
  return used;
}

const provider: CoverageProviderModule = {
  ...v8,
  async getProvider() {
    const inner = (await v8.getProvider()) as V8Provider;
    const clean = inner.clean.bind(inner);
    const generate = inner.generateCoverage.bind(inner);
    inner.clean = async (force?: boolean) => {
      await clean(force);
      fs.rmSync(CHILD_COVERAGE_DIR, { recursive: true, force: true });
    };
    inner.generateCoverage = async (context: ReportContext) => {
      const map = (await generate(context)) as CoverageMap;
      const used = await mergeChildCoverage(map, (file) => inner.isIncluded(file), inner.options.ignoreClassMethods);
      console.log(`coverage: merged ${used} dist/ scripts run by child processes (source-mapped to src/)`);
      return map;
    };
    return inner;
  },
};

export default provider;
