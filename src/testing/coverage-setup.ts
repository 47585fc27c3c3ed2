// Setup file of `npm run coverage` (vitest.coverage.config.ts): every process a test starts (the
// CLI, `serve`, the agent from dist/) writes its V8 coverage where coverage-provider.ts reads it.
// Set inside the test worker, so only its children inherit it, not the worker itself.
import fs from 'node:fs';
import { CHILD_COVERAGE_DIR } from './coverage-provider.js';

fs.mkdirSync(CHILD_COVERAGE_DIR, { recursive: true });
process.env.NODE_V8_COVERAGE = CHILD_COVERAGE_DIR;
