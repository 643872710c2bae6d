// What a step costs on this device, remembered per setup (in localStorage), so the page can say
// before Start how long a run will take: from the last measured step time of the same setup, or
// scaled from the nearest measured one on the same backend and mode, or not at all ("the first
// step will measure it"). The first steps (compiling kernels, recording the step) are left out.
import type { SearchConfig } from '../search/space';

/** The part of a setup a step's time depends on. */
export interface StepShape {
  backend: string;
  mode: SearchConfig['mode'];
  channels: number;
  layers: number;
  batchSize: number;
  partialChannels: number;
  order: 1 | 2;
  height: number;
  width: number;
  imageChannels: number;
}

export interface StepTime {
  shape: StepShape;
  /** Milliseconds per step (a moving average over the run's later steps). */
  ms: number;
  /** When it was measured (ISO 8601). */
  at: string;
}

export interface StepEstimate {
  seconds: number;
  msPerStep: number;
  /** 'same': measured with this setup; 'scaled': from another size on the same backend and mode. */
  basis: 'same' | 'scaled';
  measured: StepTime;
}

const STORAGE_KEY = 'factorized-nas-lab:step-times';
/** Setups remembered at most (the most recent kept). */
const MAX_KEPT = 40;
/** Steps before these are left out of the average (kernel compiles, the compiled step's recording). */
export const WARM_UP_STEPS = 3;

export function shapeKey(s: StepShape): string {
  return [
    s.backend,
    s.mode,
    s.channels,
    s.layers,
    s.batchSize,
    s.partialChannels,
    s.order,
    s.height,
    s.width,
    s.imageChannels,
  ].join('/');
}

/** A rough work measure: the convolutions' cost grows with C², cells, images, pixels; PC-DARTS divides the mixed ops' by K. */
function work(s: StepShape): number {
  return ((s.channels * s.channels * s.layers * s.batchSize * s.height * s.width) / s.partialChannels) * s.order;
}

type StorageLike = Pick<Storage, 'getItem' | 'setItem'>;

function read(storage: StorageLike | null): StepTime[] {
  if (!storage) return [];
  try {
    const list: unknown = JSON.parse(storage.getItem(STORAGE_KEY) ?? '[]');
    if (!Array.isArray(list)) return [];
    return list.filter(
      (t): t is StepTime =>
        typeof t === 'object' && t !== null && Number.isFinite(t.ms) && t.ms > 0 && typeof t.shape === 'object',
    );
  } catch {
    return [];
  }
}

/** Remembers a measured step time for a setup (replacing that setup's last one). */
export function rememberStepTime(storage: StorageLike | null, t: StepTime): void {
  if (!storage || !(t.ms > 0) || !Number.isFinite(t.ms)) return;
  const key = shapeKey(t.shape);
  const list = read(storage).filter((x) => shapeKey(x.shape) !== key);
  list.push(t);
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(list.slice(-MAX_KEPT)));
  } catch {
    // A full or refused storage only loses the estimate.
  }
}

/**
 * How long `steps` steps of a setup should take here, or null when nothing comparable was
 * measured on this backend and mode.
 */
export function estimateRun(storage: StorageLike | null, shape: StepShape, steps: number): StepEstimate | null {
  const list = read(storage);
  const same = list.find((t) => shapeKey(t.shape) === shapeKey(shape));
  if (same) return { seconds: (same.ms * steps) / 1000, msPerStep: same.ms, basis: 'same', measured: same };
  const kin = list.filter((t) => t.shape.backend === shape.backend && t.shape.mode === shape.mode);
  if (!kin.length) return null;
  // The nearest in work (by ratio), scaled linearly.
  const w = work(shape);
  const nearest = kin.reduce((a, b) =>
    Math.abs(Math.log(work(b.shape) / w)) < Math.abs(Math.log(work(a.shape) / w)) ? b : a,
  );
  const ms = nearest.ms * (w / work(nearest.shape));
  return { seconds: (ms * steps) / 1000, msPerStep: ms, basis: 'scaled', measured: nearest };
}

/** Folds a step's time into a run's average (after the warm-up steps); returns the new average. */
export function averageStepTime(previous: number | null, stepMs: number, step: number): number | null {
  if (step <= WARM_UP_STEPS || !Number.isFinite(stepMs) || stepMs <= 0) return previous;
  return previous === null ? stepMs : 0.9 * previous + 0.1 * stepMs;
}

/** The steps a search config makes on a data set of `trainCount` training images (as the engine counts them). */
export function plannedSteps(
  config: Pick<SearchConfig, 'maxSteps' | 'epochs' | 'batchSize' | 'trainPortion'>,
  trainCount: number,
): number {
  const perEpoch = Math.max(1, Math.floor(Math.floor(config.trainPortion * trainCount) / config.batchSize));
  return config.maxSteps > 0 ? config.maxSteps : config.epochs * perEpoch;
}
