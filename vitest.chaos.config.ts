import { defineConfig } from 'vitest/config';

// The chaos suite (npm run test:chaos): servers SIGKILLed during rollouts, against dist/ (built first).
export default defineConfig({
  test: {
    include: ['src/**/*.chaos.ts'],
    testTimeout: 480_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
