// The fuzz suite (npm run test:fuzz): property-based requests against a real app; bounded by
// FUZZ_RUNS, reproducible with FUZZ_SEED. Kept out of `npm test` (vitest.config.ts takes *.test.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.fuzz.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
