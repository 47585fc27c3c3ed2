// Lint: typescript-eslint's recommended rules on our sources; build output and data are ignored.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'data/**', 'node_modules/**', 'test-output/**', 'coverage/**', 'src/web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // The store owns every SQL statement: nothing outside src/store (and test support) reaches the
    // database drivers. Type-only imports count too, so Kysely's types do not leak out either.
    files: ['src/**/*.ts'],
    ignores: ['src/store/**', 'src/testing/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kysely', message: 'SQL belongs in src/store: add a repository method (or a src/testing helper for tests).' },
            { name: 'pg', message: 'PostgreSQL belongs in src/store: add a repository method (or a src/testing helper for tests).' },
          ],
          patterns: [{ group: ['kysely/*', 'pg/*'], message: 'SQL belongs in src/store.' }],
        },
      ],
    },
  },
  {
    files: ['src/web/**/*.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', WebSocket: 'readonly', localStorage: 'readonly', location: 'readonly', history: 'readonly', URLSearchParams: 'readonly', FormData: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', console: 'readonly', Blob: 'readonly', customElements: 'readonly', HTMLElement: 'readonly', requestAnimationFrame: 'readonly' } },
  },
);
