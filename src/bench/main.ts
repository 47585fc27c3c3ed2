// `npm run bench -- <name> [args]`: runs src/bench/<name>.bench.ts. Each benchmark prints one JSON
// line per result (DESIGN.md) and its baseline beside it when it has one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.replace(/\.bench\.js$/, ''))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}> [options]\n`);
  process.exit(name ? 2 : 0);
}
const mod = (await import(`./${name}.bench.js`)) as { run(args: string[]): Promise<void> };
await mod.run(args);
// A benchmark that misses a target it checks sets process.exitCode (CI fails on it).
process.exit(process.exitCode ?? 0);
