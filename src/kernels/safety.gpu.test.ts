// WebGPU under Node (Dawn): the chunked AddN and loud GPU errors. `npm run test:gpu`.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../platform/node';
import { watchWebGpuDevice } from './safety';

let available = true;
beforeAll(async () => {
  try {
    await useBackend('webgpu');
  } catch (e) {
    available = false;
    console.warn(`skipped: no WebGPU adapter (${(e as Error).message})`);
  }
});

describe('webgpu safety', () => {
  it('tf.addN of 9 tensors sums to 45 (stock 4.22 drops the command buffer and reads 0)', async (t) => {
    if (!available) return t.skip();
    const terms = Array.from({ length: 9 }, (_, i) => tf.fill([4], i + 1));
    expect(Array.from(await tf.addN(terms).data())).toEqual([45, 45, 45, 45]);
  });

  it('a GPU validation error reaches the watcher with a message (the run would stop)', async (t) => {
    if (!available) return t.skip();
    const seen: string[] = [];
    watchWebGpuDevice((f) => seen.push(`${f.kind}: ${f.message}`));
    const device = (
      tf.backend() as unknown as { device: { createBuffer(d: { size: number; usage: number }): unknown } }
    ).device;
    device.createBuffer({ size: 4, usage: 0 }); // usage 0 is invalid
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.length).toBe(1);
    expect(seen[0]).toMatch(/^validation: WebGPU validation error: .*the search stopped/s);
  });
});
