import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', 'src/web/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    // The dashboard's own browser modules (src/web/ui): plain ES modules served as they are, no build step.
    files: ['src/web/ui/**/*.js'],
    languageOptions: {
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', Response: 'readonly' },
    },
  },
  {
    // The pure core imports no I/O, framework or database (DESIGN.md: arrows point one way).
    files: ['src/sgx/**/*.ts', 'src/dcap/**/*.ts', 'src/policy/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:fs', 'fs', 'node:fs/*', 'fs/*', 'node:net', 'net', 'node:http', 'http', 'node:https', 'https', 'node:child_process'], message: 'The pure core does no I/O.' },
          { group: ['fastify', 'pg', 'better-sqlite3', '@grpc/*', '@kubernetes/*', 'commander'], message: 'The pure core imports no framework or database.' },
          { group: ['../cli/*', '../attestation/*', '../node/*', '../admission/*', '../store/*', '../sim/*', '../keyrelease/*'], message: 'Arrows point one way: the pure core never imports a service.' },
        ],
      }],
    },
  },
);
