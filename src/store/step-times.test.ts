import { describe, expect, it } from 'vitest';
import { Random } from '../util/random';
import { QUICK_CONFIG } from '../search/space';
import {
  averageStepTime,
  estimateRun,
  plannedSteps,
  rememberStepTime,
  WARM_UP_STEPS,
  type StepShape,
} from './step-times';

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), m };
}

const shape: StepShape = {
  backend: 'wasm',
  mode: 'factorized',
  channels: 8,
  layers: 5,
  batchSize: 8,
  partialChannels: 1,
  order: 1,
  height: 28,
  width: 28,
  imageChannels: 1,
};

describe('step times remembered for estimates before Start', () => {
  it('says nothing until a comparable setup was measured on this backend and mode', () => {
    const storage = memoryStorage();
    expect(estimateRun(storage, shape, 300)).toBeNull();
    rememberStepTime(storage, { shape: { ...shape, backend: 'webgpu' }, ms: 50, at: '2026-12-06T00:00:00Z' });
    rememberStepTime(storage, { shape: { ...shape, mode: 'darts' }, ms: 50, at: '2026-12-06T00:00:00Z' });
    expect(estimateRun(storage, shape, 300)).toBeNull();
  });

  it('uses the same setup’s last time, else scales the nearest by the work', () => {
    const storage = memoryStorage();
    rememberStepTime(storage, { shape, ms: 400, at: '2026-12-06T00:00:00Z' });
    rememberStepTime(storage, { shape, ms: 500, at: '2026-12-06T01:00:00Z' });
    expect(estimateRun(storage, shape, 300)).toMatchObject({ seconds: 150, msPerStep: 500, basis: 'same' });
    // Twice the channels: four times the work; the nearest of two measured sizes is used.
    rememberStepTime(storage, { shape: { ...shape, channels: 64 }, ms: 99_000, at: '2026-12-06T00:00:00Z' });
    const e = estimateRun(storage, { ...shape, channels: 16 }, 10)!;
    expect(e.basis).toBe('scaled');
    expect(e.msPerStep).toBeCloseTo(2000, 9);
    expect(e.measured.shape.channels).toBe(8);
  });

  it('survives a corrupt or refusing storage, and keeps a bounded list', () => {
    const storage = memoryStorage();
    storage.setItem('factorized-nas-lab:step-times', '{not json');
    expect(estimateRun(storage, shape, 1)).toBeNull();
    rememberStepTime(storage, { shape, ms: 10, at: 'x' });
    expect(estimateRun(storage, shape, 1)?.msPerStep).toBe(10);
    const refusing = {
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(() => rememberStepTime(refusing, { shape, ms: 10, at: 'x' })).not.toThrow();
    for (let c = 1; c <= 100; c++) rememberStepTime(storage, { shape: { ...shape, channels: c }, ms: c, at: 'x' });
    expect(JSON.parse(storage.getItem('factorized-nas-lab:step-times')!)).toHaveLength(40);
  });

  it('leaves out the warm-up steps and follows the later ones', () => {
    const rng = new Random(3);
    let avg: number | null = null;
    for (let step = 1; step <= 200; step++) {
      const ms = step <= WARM_UP_STEPS ? 10_000 : 100 + rng.normal() * 5;
      avg = averageStepTime(avg, ms, step);
      if (step <= WARM_UP_STEPS) expect(avg).toBeNull();
    }
    expect(avg!).toBeGreaterThan(95);
    expect(avg!).toBeLessThan(105);
  });

  it('counts steps as the engine does', () => {
    // 10,000 training images, half for ω: 5,000 / batch 8 = 625 steps an epoch.
    expect(plannedSteps({ ...QUICK_CONFIG, maxSteps: 0, epochs: 10 }, 10_000)).toBe(6250);
    expect(plannedSteps({ ...QUICK_CONFIG, maxSteps: 300 }, 10_000)).toBe(300);
    expect(plannedSteps({ ...QUICK_CONFIG, maxSteps: 0, epochs: 1, batchSize: 64 }, 10)).toBe(1);
  });
});
