// ESLint: the TypeScript and React Hooks rules, and the one-way layering of src/ (lint/layers.js).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { layersRule } from './lint/layers.js';

export default tseslint.config(
  { ignores: ['dist/', 'e2e/out/', 'bench/out/', 'node_modules/', '.gpu/', '.gl/', '.whl/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    languageOptions: { globals: { ...globals.browser, ...globals.node, ...globals.worker } },
    plugins: { lab: { rules: { layers: layersRule } } },
    rules: {
      'lab/layers': 'error',
      // TypeScript checks these (noUnusedLocals); `_name` marks a deliberately unused value.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Synchronous reads return zeros on webgpu in a worker: always `await t.data()`.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name=/^(dataSync|arraySync)$/]',
          message: 'dataSync/arraySync return zeros on webgpu in a worker: use await t.data().',
        },
      ],
    },
  },
  {
    files: ['src/ui/**/*.tsx', 'src/ui/**/*.ts', 'src/main.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
  {
    // Tests feed malformed input on purpose.
    files: ['**/*.test.ts', '**/*.test.tsx', '**/*.cases.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
