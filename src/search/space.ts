// The search space in one screen: ops, activations, modes, the cell's edge layout, and the
// search configuration with the paper's defaults (A-DARTS, AAAI 2021, CIFAR-10 settings).

/** DARTS's 8 regular ops, in the reference order (index = column of α). */
export const OPS = [
  'none',
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;
export type OpName = (typeof OPS)[number];

/** The 4 parameterized ops: each one's leading ReLU is replaced by the edge's mixed activation. */
export const PARAM_OPS = ['sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5'] as const;
export type ParamOpName = (typeof PARAM_OPS)[number];
export const NON_PARAM_OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect'] as const;

export function isParamOp(op: string): op is ParamOpName {
  return (PARAM_OPS as readonly string[]).includes(op);
}

/** The paper's 9 candidate activations (index = column of β). */
export const ACTIVATIONS = ['relu', 'relu6', 'leaky_relu', 'prelu', 'rrelu', 'elu', 'celu', 'selu', 'swish'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export function isActivation(name: string): name is ActivationName {
  return (ACTIVATIONS as readonly string[]).includes(name);
}

export const SEARCH_MODES = ['factorized', 'darts', 'nonfactorized', 'fixed-beta'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/** A candidate op of one softmax: an op, plus the activation in front of it (conv ops only). */
export interface CandidateOp {
  op: OpName;
  activation: ActivationName | null;
}

/**
 * The columns of α in a mode. Non-factorized mode has 4 non-param ops + 9 × 4 combined ops
 * (activation-major within each conv op, so a row reads sep_conv_3x3 under relu..swish, ...).
 */
export function candidateOps(mode: SearchMode): CandidateOp[] {
  if (mode !== 'nonfactorized') return OPS.map((op) => ({ op, activation: null }));
  const combined: CandidateOp[] = NON_PARAM_OPS.map((op) => ({ op, activation: null }));
  for (const op of PARAM_OPS) for (const activation of ACTIVATIONS) combined.push({ op, activation });
  return combined;
}

export function candidateLabel(c: CandidateOp): string {
  return c.activation ? `${c.activation}+${c.op}` : c.op;
}

/** Whether β exists and is trained by its own optimiser in this mode. */
export function searchesBeta(mode: SearchMode): boolean {
  return mode === 'factorized';
}
/** Whether the edge carries a mixed activation (β, searched or frozen) in front of conv ops. */
export function hasBeta(mode: SearchMode): boolean {
  return mode === 'factorized' || mode === 'fixed-beta' || mode === 'darts';
}

/** Intermediate nodes per cell and the number of mixed edges (2 + 3 + 4 + 5 = 14). */
export const NODES = 4;
export const EDGES = 14;

/** Edge list in DARTS order: node 2 from 0,1; node 3 from 0,1,2; ... (states 0,1 are the inputs). */
export interface EdgeRef {
  index: number;
  node: number; // 0..3 (state index node + 2)
  from: number; // 0..node+1
}
export const EDGE_LIST: EdgeRef[] = (() => {
  const edges: EdgeRef[] = [];
  for (let node = 0; node < NODES; node++)
    for (let from = 0; from < node + 2; from++) edges.push({ index: edges.length, node, from });
  return edges;
})();

/** Everything a search run needs, all numbers configurable; defaults are the paper's. */
export interface SearchConfig {
  mode: SearchMode;
  /** darts mode: the fixed activation in front of every conv op. */
  activation: ActivationName;
  /** fixed-beta mode: the frozen raw β rows (14 × 9 each); null = uniform. */
  fixedBeta: { betaNormal: number[][]; betaReduce: number[][] } | null;
  channels: number;
  layers: number;
  nodes: number;
  stemMultiplier: number;
  /** PC-DARTS: 1/K of the channels go through the mixed op; 1 = off. */
  partialChannels: number;
  /** 1 = first-order; 2 = DARTS's unrolled second-order approximation. */
  order: 1 | 2;
  /**
   * First order: 'joint' (default) takes α's and β's gradients from one pass over the
   * validation batch, then steps α's Adam and β's Adam — the paper's cost (~1.2x DARTS) allows
   * no more; 'sequential' recomputes β's gradient after α moved (one forward/backward more per
   * step). Second order is always joint.
   */
  archUpdate: 'sequential' | 'joint';
  batchSize: number;
  epochs: number;
  /** 0 = run `epochs` epochs; otherwise stop after this many search steps. */
  maxSteps: number;
  /** Fraction of the training images used for ω; the rest is the validation half for α/β. */
  trainPortion: number;
  learningRate: number;
  learningRateMin: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  archLearningRate: number;
  archWeightDecay: number;
  archBeta1: number;
  archBeta2: number;
  activationLearningRate: number;
  activationWeightDecay: number;
  /** Epochs before α/β start to be updated (PC-DARTS warm-up; the paper's A-DARTS uses 0). */
  warmupEpochs: number;
  seed: number;
}

export const PAPER_CONFIG: SearchConfig = {
  mode: 'factorized',
  activation: 'relu',
  fixedBeta: null,
  channels: 16,
  layers: 8,
  nodes: NODES,
  stemMultiplier: 3,
  partialChannels: 1,
  order: 1,
  archUpdate: 'joint',
  batchSize: 64,
  epochs: 25,
  maxSteps: 0,
  trainPortion: 0.5,
  learningRate: 0.05,
  learningRateMin: 0.001,
  momentum: 0.9,
  weightDecay: 3e-4,
  gradClip: 5,
  archLearningRate: 6e-4,
  archWeightDecay: 1e-3,
  archBeta1: 0.5,
  archBeta2: 0.999,
  activationLearningRate: 6e-4,
  activationWeightDecay: 1e-3,
  warmupEpochs: 0,
  seed: 2,
};

/**
 * Small enough for a few seconds a step on one CPU core and for wasm's 2 GB heap (a batch of 8
 * 28x28 images at C=8, L=5 peaks near 3 GB of heap with the tape), and for α/β to move visibly
 * within a few hundred steps: fewer cells and channels, larger architecture learning rates.
 */
export const QUICK_CONFIG: SearchConfig = {
  ...PAPER_CONFIG,
  channels: 8,
  layers: 5,
  batchSize: 8,
  epochs: 10,
  archLearningRate: 3e-3,
  activationLearningRate: 3e-3,
};

export const PRESETS = { paper: PAPER_CONFIG, quick: QUICK_CONFIG } as const;
export type PresetName = keyof typeof PRESETS;

/** Checks a config and names the first field that is wrong. */
export function validateConfig(config: SearchConfig): void {
  const fail = (field: string, why: string): never => {
    throw new Error(`config.${field}: ${why}`);
  };
  if (!(SEARCH_MODES as readonly string[]).includes(config.mode))
    fail('mode', `must be one of ${SEARCH_MODES.join(', ')}, got ${JSON.stringify(config.mode)}`);
  if (!isActivation(config.activation))
    fail('activation', `must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(config.activation)}`);
  const positiveInt: (keyof SearchConfig)[] = [
    'channels',
    'layers',
    'nodes',
    'stemMultiplier',
    'partialChannels',
    'batchSize',
  ];
  for (const key of positiveInt) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      fail(key, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (config.nodes !== NODES) fail('nodes', `only ${NODES} intermediate nodes are supported (the DARTS cell)`);
  if (config.layers < 3) fail('layers', 'must be at least 3 (two reduction cells and a normal cell)');
  for (const key of ['epochs', 'maxSteps', 'warmupEpochs', 'seed'] as const) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      fail(key, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  if (config.order !== 1 && config.order !== 2) fail('order', `must be 1 or 2, got ${JSON.stringify(config.order)}`);
  if (config.archUpdate !== 'sequential' && config.archUpdate !== 'joint')
    fail('archUpdate', `must be "sequential" or "joint", got ${JSON.stringify(config.archUpdate)}`);
  const nonNegative: (keyof SearchConfig)[] = [
    'learningRate',
    'learningRateMin',
    'momentum',
    'weightDecay',
    'gradClip',
    'archLearningRate',
    'archWeightDecay',
    'activationLearningRate',
    'activationWeightDecay',
  ];
  for (const key of nonNegative) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      fail(key, `must be a finite number >= 0, got ${JSON.stringify(v)}`);
  }
  for (const key of ['archBeta1', 'archBeta2'] as const) {
    const v = config[key];
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) fail(key, `must be in [0, 1), got ${JSON.stringify(v)}`);
  }
  if (!(config.trainPortion > 0 && config.trainPortion < 1))
    fail('trainPortion', `must be in (0, 1), got ${config.trainPortion}`);
  const c = config.channels;
  if (config.partialChannels > 1 && c % config.partialChannels !== 0)
    fail('partialChannels', `channels (${c}) must be divisible by partialChannels (${config.partialChannels})`);
  if (config.fixedBeta) {
    for (const key of ['betaNormal', 'betaReduce'] as const) {
      const rows = config.fixedBeta[key];
      if (
        !Array.isArray(rows) ||
        rows.length !== EDGES ||
        rows.some(
          (r) =>
            !Array.isArray(r) ||
            r.length !== ACTIVATIONS.length ||
            r.some((x) => typeof x !== 'number' || !Number.isFinite(x)),
        )
      )
        fail(`fixedBeta.${key}`, `must be ${EDGES} rows of ${ACTIVATIONS.length} finite numbers`);
    }
  }
}

export function makeConfig(overrides: Partial<SearchConfig> = {}, preset: PresetName = 'paper'): SearchConfig {
  const config = { ...PRESETS[preset], ...overrides };
  validateConfig(config);
  return config;
}
