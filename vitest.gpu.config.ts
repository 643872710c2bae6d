import { defineConfig } from 'vitest/config';
import { NoSkipsUnderCI } from './lint/no-skips';

// WebGPU parity tests (Dawn under Node): run by `npm run test:gpu`, which sets the Vulkan driver.
export default defineConfig({
  test: {
    include: ['src/**/*.gpu.test.ts'],
    environment: 'node',
    // Under CI a skipped test fails the run (lint/no-skips.ts).
    reporters: ['default', new NoSkipsUnderCI()],
    testTimeout: 600_000,
    pool: 'forks',
  },
});
