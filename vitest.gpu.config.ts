import { defineConfig } from 'vitest/config';

// WebGPU parity tests (Dawn under Node): run by `npm run test:gpu`, which sets the Vulkan driver.
export default defineConfig({
  test: {
    include: ['src/**/*.gpu.test.ts'],
    environment: 'node',
    testTimeout: 600_000,
    pool: 'forks',
  },
});
