// The compiled step computes what the uncompiled step computes, bit for bit, on a WebGPU device
// that runs the work (SwiftShader here: `npm run test:gpu`): two searches from one seed, one
// replaying a recorded step, the other running the step's code every time. A GPU machine runs
// every mode over 20 steps: `lab -- compiled-check` (scripts/gpu-machine.sh).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../platform/node';
import { compareCompiled } from '../bench/compiled-check';

let gpuFailure: () => unknown = () => null;
beforeAll(async () => {
  gpuFailure = (await useBackend('webgpu')).failure;
});
afterAll(() => {
  const failure = gpuFailure() as { message?: string } | null;
  expect(failure?.message ?? null, 'WebGPU reported an error').toBeNull();
});

describe('the compiled step on a WebGPU device', () => {
  it('gives bit for bit the losses and weights of the uncompiled step, and issues what it issues (factorized, 4 steps)', async () => {
    // Factorized: RReLU in the mixed activation draws random windows every step, per-step values
    // the replay computes again; Adam's bias corrections change every step too.
    const result = await compareCompiled({ mode: 'factorized' }, { steps: 4, at: [3], numbers: true });
    expect(result).toEqual({ differences: [], replays: 2, numbers: null });
  }, 600_000);
});
