// Backend parity under Node against the cpu reference, for the forward value and gradients of
// every op and activation, and for a short search from the same seed. parity.gpu.test.ts runs
// it on webgpu (Dawn through the npm package `webgpu`; `npm run test:gpu` points Dawn at a
// Vulkan driver: SwiftShader from Debian's Chromium here, a real GPU's driver on a GPU
// machine); parity.wasm.test.ts runs it on wasm.
// Cases and tolerances: parity-cases.ts (shared with the browser page parity.html).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend, type NodeBackend } from '../platform/node';
import { OP_TOLERANCE, PARITY_CASES, SEARCH_TOLERANCE, compareArrays, evaluateCase, runParitySearch } from './cases';

function expectClose(got: Float32Array, want: Float32Array, rel: number, abs: number, label: string) {
  expect(got.length, label).toBe(want.length);
  const { worst, at } = compareArrays(got, want, rel, abs);
  expect(
    worst,
    `${label}: worst error (in units of the tolerance) at [${at}]: got ${got[at]}, cpu ${want[at]}`,
  ).toBeLessThanOrEqual(1);
}

export function defineParitySuite(backend: NodeBackend, { search = true } = {}): void {
  let gpuFailure: () => unknown = () => null;
  let available = true;

  beforeAll(async () => {
    try {
      gpuFailure = (await useBackend(backend)).failure;
    } catch (e) {
      available = false;
      console.warn(`skipped: backend ${backend} unavailable (${(e as Error).message})`);
    }
  });

  afterAll(() => {
    const failure = gpuFailure() as { message?: string } | null;
    expect(failure?.message ?? null, 'a WebGPU error was reported during the tests').toBeNull();
  });

  describe(`${backend} against cpu`, () => {
    it('every op and activation: forward value and gradients', async (t) => {
      if (!available) return t.skip();
      for (const c of PARITY_CASES) {
        await tf.setBackend('cpu');
        const want = await evaluateCase(c);
        await tf.setBackend(backend);
        const got = await evaluateCase(c);
        got.forEach((g, i) =>
          expectClose(
            g,
            want[i],
            OP_TOLERANCE.rel,
            OP_TOLERANCE.abs,
            `${c.name} ${i === 0 ? 'forward' : `gradient ${i - 1}`}`,
          ),
        );
      }
    }, 300_000);

    // Not defined at all where `search` is off: under CI a skipped test fails the run.
    if (search)
      it('two factorized search steps from the same seed give the same α/β', async (t) => {
        if (!available) return t.skip();
        const run = async (b: string) => {
          await tf.setBackend(b);
          return runParitySearch(2);
        };
        const cpu = await run('cpu');
        const gpu = await run(backend);
        expectClose(
          Float32Array.from(gpu.losses),
          Float32Array.from(cpu.losses),
          SEARCH_TOLERANCE.rel,
          SEARCH_TOLERANCE.abs,
          'validation losses',
        );
        expectClose(gpu.alpha, cpu.alpha, SEARCH_TOLERANCE.rel, SEARCH_TOLERANCE.abs, 'α (normal, then reduce)');
        expectClose(gpu.beta, cpu.beta, SEARCH_TOLERANCE.rel, SEARCH_TOLERANCE.abs, 'β (normal, then reduce)');
      }, 600_000);
  });
}
