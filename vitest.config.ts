import { defineConfig } from 'vitest/config';
import { NoSkipsUnderCI } from './lint/no-skips';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'lint/**/*.test.ts'],
    // The WebGPU parity suite needs a Vulkan driver in the environment: `npm run test:gpu`.
    exclude: ['src/**/*.gpu.test.ts', 'node_modules/**'],
    environment: 'node',
    // Under CI a skipped test fails the run (lint/no-skips.ts).
    reporters: ['default', new NoSkipsUnderCI()],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs keeps global engine state: one file per worker process keeps backends apart.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
