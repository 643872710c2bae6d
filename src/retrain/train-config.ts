// Re-training settings: DARTS's cnn/train.py recipe as a config, its presets, their checks, and
// when to score the test images. No tfjs here, so the page and the run store can use it too.

export interface TrainConfig {
  channels: number;
  layers: number;
  batchSize: number;
  epochs: number;
  /** 0 = run `epochs` epochs; otherwise stop after this many steps (the schedules span the epochs these cover). */
  maxSteps: number;
  learningRate: number;
  learningRateMin: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  /** Use the auxiliary head (where it fits the images: 21..32 pixels, see auxiliaryHeadFits). */
  auxiliary: boolean;
  auxiliaryWeight: number;
  /** Use cutout where it applies (32x32 colour data, as DARTS's CIFAR-10 recipe). */
  cutout: boolean;
  cutoutLength: number;
  /** Final drop-path probability; epoch e uses dropPathProb · e / epochs. */
  dropPathProb: number;
  seed: number;
}

/** DARTS's train.py for CIFAR-10: 36 channels, 20 cells, 600 epochs, batch 96. */
export const FULL_TRAIN_CONFIG: TrainConfig = {
  channels: 36,
  layers: 20,
  batchSize: 96,
  epochs: 600,
  maxSteps: 0,
  learningRate: 0.025,
  learningRateMin: 0,
  momentum: 0.9,
  weightDecay: 3e-4,
  gradClip: 5,
  auxiliary: true,
  auxiliaryWeight: 0.4,
  cutout: true,
  cutoutLength: 16,
  dropPathProb: 0.2,
  seed: 0,
};

/** The search network's size (16 channels, 8 cells) and a few epochs: minutes on a GPU. */
export const QUICK_TRAIN_CONFIG: TrainConfig = {
  ...FULL_TRAIN_CONFIG,
  channels: 16,
  layers: 8,
  batchSize: 64,
  epochs: 10,
  dropPathProb: 0.1,
};

export const TRAIN_PRESETS = { quick: QUICK_TRAIN_CONFIG, full: FULL_TRAIN_CONFIG } as const;
export type TrainPresetName = keyof typeof TRAIN_PRESETS;
export const TRAIN_PRESET_NAMES = Object.keys(TRAIN_PRESETS) as TrainPresetName[];

/** Checks a training config and names the first field that is wrong. */
export function validateTrainConfig(config: TrainConfig): void {
  const fail = (field: string, why: string): never => {
    throw new Error(`train config.${field}: ${why}`);
  };
  for (const key of ['channels', 'layers', 'batchSize', 'cutoutLength'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1) fail(key, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (config.channels % 2 !== 0) fail('channels', `must be even, got ${config.channels}`);
  if (config.layers < 3) fail('layers', `must be at least 3, got ${config.layers}`);
  for (const key of ['epochs', 'maxSteps', 'seed'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 0) fail(key, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  if (config.epochs === 0 && config.maxSteps === 0) fail('epochs', 'must be positive unless maxSteps is set');
  for (const key of [
    'learningRate',
    'learningRateMin',
    'momentum',
    'weightDecay',
    'gradClip',
    'auxiliaryWeight',
  ] as const) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      fail(key, `must be a finite number >= 0, got ${JSON.stringify(v)}`);
  }
  if (!(config.dropPathProb >= 0 && config.dropPathProb < 1))
    fail('dropPathProb', `must be in [0, 1), got ${config.dropPathProb}`);
  for (const key of ['auxiliary', 'cutout'] as const)
    if (typeof config[key] !== 'boolean') fail(key, `must be true or false, got ${JSON.stringify(config[key])}`);
}

export function makeTrainConfig(overrides: Partial<TrainConfig> = {}, preset: TrainPresetName = 'quick'): TrainConfig {
  const config = { ...TRAIN_PRESETS[preset], ...overrides };
  validateTrainConfig(config);
  return config;
}

/**
 * Whether to score the test images after `step` (1-based): every `evalEvery` steps, or at the end
 * of each epoch when it is 0 (as DARTS's train.py), and always after the last step.
 */
export function evaluationDue(step: number, stepsTotal: number, stepsPerEpoch: number, evalEvery = 0): boolean {
  if (step >= stepsTotal) return true;
  const every = evalEvery > 0 ? evalEvery : stepsPerEpoch;
  return every > 0 && step % every === 0;
}
