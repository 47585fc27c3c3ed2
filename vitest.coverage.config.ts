// npm run coverage: the suite of vitest.config.ts with V8 line coverage of every file in src/
// (tests and test support excluded), counting what the child processes it starts (the CLI,
// `serve`, the agent, all from dist/) executed, mapped back to src/ (src/testing/coverage-provider.ts).
// Reports: a summary on the terminal, coverage/index.html, coverage/coverage-summary.json.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      setupFiles: ['src/testing/coverage-setup.ts'],
      coverage: {
        enabled: true,
        provider: 'custom',
        customProviderModule: 'src/testing/coverage-provider.ts',
        include: ['src/**/*.ts'],
        exclude: [
          'src/**/*.test.ts',
          'src/**/*.chaos.ts',
          'src/**/*.fuzz.ts',
          'src/**/*.d.ts',
          // Test support: harnesses, fixtures and fakes the tests use, not the product.
          'src/testing/**',
          'src/protocols/**/*.fixtures.ts',
          'src/chaos/**',
          'src/fuzz/**',
        ],
        reporter: ['text-summary', 'html', 'json-summary'],
        reportsDirectory: 'coverage',
      },
    },
  }),
);
