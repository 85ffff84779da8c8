import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'fs',
  'path',
  'os',
  'crypto',
  'child_process',
  'net',
  'http',
  'https',
  'url',
  'util',
  'events',
  'stream',
  'worker_threads',
  'timers',
];

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'src/generated', 'coverage', 'test-output', '*.js', '*.mjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code is replayed: it may import only deterministic modules, never Node builtins or I/O libraries.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...nodeBuiltins.map((m) => `node:${m}`), '@prisma/client', 'pg', 'zod', 'express'],
          patterns: [
            // Activities run outside the sandbox: workflows see only their types.
            {
              group: ['**/activities', '**/activities/**', '**/src/db', '**/src/api/**', '**/src/generated/**'],
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
