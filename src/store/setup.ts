// The lab's setup: one serialisable object (data set, backend, every search setting), the
// presets, and its URL-hash form, so a link reproduces an experiment.
import { DEFAULT_HELD_OUT_IMAGES } from '../runs/format';
import { checkFits, DEFAULT_MEMORY_BUDGET, memoryBackendOf, type FitCheck } from '../search/memory-estimate';
import {
  ACTIVATIONS,
  EDGES,
  PAPER_CONFIG,
  QUICK_CONFIG,
  SEARCH_MODES,
  validateConfig,
  type ActivationName,
  type SearchConfig,
  type SearchMode,
} from '../search/space';
import { TRAIN_PRESET_NAMES, TRAIN_PRESETS, type TrainConfig, type TrainPresetName } from '../retrain/train-config';
import { BACKEND_CHOICES, type BackendChoice } from '../platform/backends';
import type { DatasetSpec } from '../worker/protocol';

export type DatasetChoice = 'builtin' | 'synthetic' | 'files';

export interface SyntheticSetup {
  seed: number;
  size: number;
  channels: number;
  classes: number;
}

export interface Setup {
  dataset: DatasetChoice;
  /** Names of the user's files (the bytes cannot travel in a link). */
  files: string[];
  synthetic: SyntheticSetup;
  backend: BackendChoice;
  config: SearchConfig;
  /** Checkpoint every this many steps (kept with the stored run); 0: every minute. */
  checkpointEvery: number;
  /** Test images the search's validation accuracy is scored on (the same ones each time). */
  heldOutImages: number;
  /** Score them at the end of every this many epochs, and at the run's end (0: at the end only). */
  heldOutEvery: number;
  /** webgpu: record one step and replay it every step after (the default); false runs each step's code. */
  compiledStep: boolean;
  /** "Recompute cells" in the backward pass: auto (only when a step would not fit otherwise), on or off. */
  recompute: RecomputeChoice;
  /** What a step may hold on a GPU (whose adapter reports no memory size), in GiB. */
  gpuBudgetGiB: number;
  /** How "Re-train" trains a genotype (same data set and backend as the search). */
  retrain: RetrainSetup;
  /** Text in a number field (by FieldId) that is not a number, as typed or as a link had it:
   * the field shows it marked, and its value above stays the last number. Not in the link. */
  drafts: Partial<Record<FieldId, string>>;
}

/** The preset's fields that the re-training settings can change (0 keeps the preset's value). */
const RETRAIN_OVERRIDES = ['channels', 'layers', 'batchSize', 'epochs', 'maxSteps', 'learningRate'] as const;

/**
 * Re-training settings: a preset, the all-ReLU baseline, the seed, and changes to the preset
 * (RETRAIN_OVERRIDES, named and typed as in TrainConfig; 0 = the preset's value).
 */
export interface RetrainSetup extends Pick<TrainConfig, 'seed' | (typeof RETRAIN_OVERRIDES)[number]> {
  preset: TrainPresetName;
  /** Train the same cells with every activation ReLU (the paper's Table 2 baseline). */
  allRelu: boolean;
  /** Score the test images every this many steps (0: at the end of each epoch). */
  evalEvery: number;
  /** Test images per scoring (0: all). */
  testImages: number;
}

export const DEFAULT_RETRAIN: RetrainSetup = {
  preset: 'quick',
  allRelu: false,
  seed: 0,
  channels: 0,
  layers: 0,
  batchSize: 0,
  epochs: 0,
  maxSteps: 0,
  learningRate: 0,
  evalEvery: 0,
  testImages: 0,
};

/** A labelled re-training field; its URL-hash key is `hash`. 0 keeps the preset's value. */
export interface RetrainField {
  key: Exclude<keyof RetrainSetup, 'preset' | 'allRelu'>;
  label: string;
  hash: string;
  integer: boolean;
  help: string;
}

export const RETRAIN_FIELDS: RetrainField[] = [
  {
    key: 'channels',
    label: 'Re-train channels',
    hash: 'rtChannels',
    integer: true,
    help: 'Initial channels C (0: the preset’s)',
  },
  { key: 'layers', label: 'Re-train layers', hash: 'rtLayers', integer: true, help: 'Cells (0: the preset’s)' },
  { key: 'batchSize', label: 'Re-train batch size', hash: 'rtBatch', integer: true, help: '0: the preset’s' },
  { key: 'epochs', label: 'Re-train epochs', hash: 'rtEpochs', integer: true, help: '0: the preset’s' },
  {
    key: 'maxSteps',
    label: 'Re-train steps',
    hash: 'rtSteps',
    integer: true,
    help: 'Stop after this many steps (0: run the epochs)',
  },
  {
    key: 'learningRate',
    label: 'Re-train learning rate',
    hash: 'rtLr',
    integer: false,
    help: 'SGD, cosine to 0 (0: the preset’s, 0.025)',
  },
  { key: 'seed', label: 'Re-train seed', hash: 'rtSeed', integer: true, help: 'Weights, batch order, augmentation' },
  {
    key: 'evalEvery',
    label: 'Evaluate every (steps)',
    hash: 'rtEvalEvery',
    integer: true,
    help: 'Score the test images (0: each epoch)',
  },
  { key: 'testImages', label: 'Test images', hash: 'rtTestImages', integer: true, help: 'Per scoring (0: all)' },
];

/** The preset's config with the user's changes (0 keeps the preset's value; the seed is always set). */
export function retrainConfig(r: RetrainSetup): Partial<TrainConfig> {
  const out: Partial<TrainConfig> = { seed: r.seed };
  for (const key of RETRAIN_OVERRIDES) if (r[key] > 0) out[key] = r[key];
  return out;
}

export const DEFAULT_SYNTHETIC: SyntheticSetup = { seed: 1, size: 16, channels: 3, classes: 10 };

// ---------------------------------------------------------------------------------------------
// Presets

export interface Preset {
  id: string;
  label: string;
  description: string;
  config: SearchConfig;
}

/** Small enough that α/β visibly move within a minute on a laptop GPU. */
export const QUICK_DEMO_CONFIG: SearchConfig = { ...QUICK_CONFIG, maxSteps: 300 };

export const PRESETS: Preset[] = [
  {
    id: 'quick',
    label: 'Quick demo',
    description:
      'A-DARTS on a small supernet (8 channels, 5 cells), 300 steps: α and β move within a minute on a laptop GPU.',
    config: QUICK_DEMO_CONFIG,
  },
  {
    id: 'paper',
    label: 'Paper (CIFAR-10 settings)',
    description: 'A-DARTS with the paper’s CIFAR-10 search settings: 16 channels, 8 cells, batch 64, 25 epochs.',
    config: PAPER_CONFIG,
  },
  {
    id: 'darts-relu',
    label: 'Baseline: DARTS (fixed ReLU)',
    description: 'Plain DARTS: α searched, every conv op keeps ReLU (choose another fixed activation below).',
    config: { ...PAPER_CONFIG, mode: 'darts', activation: 'relu' },
  },
  {
    id: 'nonfactorized',
    label: 'Baseline: non-factorized (40 ops)',
    description: 'One softmax over 40 combined ops (each activation × each conv op, plus 4 parameter-free ops).',
    config: { ...PAPER_CONFIG, mode: 'nonfactorized' },
  },
  {
    id: 'fixed-beta',
    label: 'Baseline: fixed β (Config-A)',
    description: 'α searched with β frozen (uniform unless loaded from a genotype or weights file).',
    config: { ...PAPER_CONFIG, mode: 'fixed-beta' },
  },
  {
    id: 'pc-darts',
    label: 'Baseline: partial channels K=4',
    description:
      'PC-DARTS settings: 1/4 of the channels through each mixed op, edge normalisation, batch 256, 15 warm-up epochs.',
    config: {
      ...PAPER_CONFIG,
      partialChannels: 4,
      batchSize: 256,
      learningRate: 0.1,
      learningRateMin: 0,
      epochs: 50,
      warmupEpochs: 15,
    },
  },
];

/** The preset these settings are (the seed aside), or null for custom settings. */
export function presetOf(config: SearchConfig): Preset | null {
  return PRESETS.find((p) => sameConfig({ ...p.config, seed: config.seed }, config)) ?? null;
}

export function sameConfig(a: SearchConfig, b: SearchConfig): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(c: SearchConfig): unknown[] {
  const values: unknown[] = CONFIG_FIELDS.map((f) => c[f.key]);
  return values.concat([JSON.stringify(c.fixedBeta)]);
}

export function defaultSetup(): Setup {
  return {
    dataset: 'builtin',
    files: [],
    synthetic: { ...DEFAULT_SYNTHETIC },
    backend: 'auto',
    config: { ...QUICK_DEMO_CONFIG },
    checkpointEvery: 0,
    heldOutImages: DEFAULT_HELD_OUT_IMAGES,
    heldOutEvery: 1,
    compiledStep: true,
    recompute: 'auto',
    gpuBudgetGiB: DEFAULT_GPU_BUDGET_GIB,
    retrain: { ...DEFAULT_RETRAIN },
    drafts: {},
  };
}

export function datasetSpecOf(setup: Setup): DatasetSpec {
  if (setup.dataset === 'synthetic') return { kind: 'synthetic', ...setup.synthetic };
  if (setup.dataset === 'files') return { kind: 'files', names: setup.files.slice() };
  return { kind: 'builtin' };
}

// ---------------------------------------------------------------------------------------------
// Fields: one per config entry, with its label (the accessible name of its input)

export type FieldKind = 'int' | 'number' | 'select';

export interface ConfigField {
  key: Exclude<keyof SearchConfig, 'fixedBeta'>;
  label: string;
  kind: FieldKind;
  options?: readonly string[];
  min?: number;
  max?: number;
  /** The value must be above min / below max, not equal. */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  step?: number | 'any';
  help: string;
  group: 'run' | 'network' | 'weights' | 'arch';
  /** Why the bound is there, said after a value outside it. */
  why?: string;
}

export const CONFIG_FIELDS: ConfigField[] = [
  {
    key: 'mode',
    label: 'Mode',
    kind: 'select',
    options: SEARCH_MODES,
    group: 'run',
    help: 'factorized = A-DARTS (α over ops, β over activations)',
  },
  {
    key: 'activation',
    label: 'Activation',
    kind: 'select',
    options: ACTIVATIONS,
    group: 'run',
    help: 'The fixed activation of darts mode',
  },
  { key: 'seed', label: 'Seed', kind: 'int', min: 0, group: 'run', help: 'Weights, batch order and augmentation' },
  {
    key: 'maxSteps',
    label: 'Stop after steps',
    kind: 'int',
    min: 0,
    group: 'run',
    help: '0 = run the configured epochs',
  },
  { key: 'channels', label: 'Channels', kind: 'int', min: 1, group: 'network', help: 'Initial channels C (paper: 16)' },
  {
    key: 'layers',
    label: 'Layers',
    kind: 'int',
    min: 3,
    group: 'network',
    help: 'Cells in the supernet (paper: 8)',
    why: 'two reduction cells and a normal cell',
  },
  {
    key: 'nodes',
    label: 'Nodes per cell',
    kind: 'int',
    min: 4,
    max: 4,
    group: 'network',
    help: 'Intermediate nodes (DARTS cell: 4)',
    why: 'the DARTS cell',
  },
  {
    key: 'stemMultiplier',
    label: 'Stem multiplier',
    kind: 'int',
    min: 1,
    group: 'network',
    help: 'Stem channels = multiplier × C (paper: 3)',
  },
  {
    key: 'partialChannels',
    label: 'Partial channels (K)',
    kind: 'int',
    min: 1,
    group: 'network',
    help: 'PC-DARTS: 1/K of channels through the mixed op; 1 = off',
  },
  {
    key: 'batchSize',
    label: 'Batch size',
    kind: 'int',
    min: 1,
    group: 'weights',
    help: 'Per step, for ω and for α/β (paper: 64)',
  },
  { key: 'epochs', label: 'Epochs', kind: 'int', min: 0, group: 'weights', help: 'Paper: 25' },
  {
    key: 'trainPortion',
    label: 'Train portion',
    kind: 'number',
    min: 0,
    max: 1,
    minExclusive: true,
    maxExclusive: true,
    step: 'any',
    group: 'weights',
    help: 'Share of training images for ω; the rest tunes α/β',
    why: 'both parts need images; e.g. 0.5',
  },
  {
    key: 'learningRate',
    label: 'Learning rate',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'weights',
    help: 'SGD for ω, cosine schedule (paper: 0.05)',
  },
  {
    key: 'learningRateMin',
    label: 'Minimum learning rate',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'weights',
    help: 'End of the cosine schedule (paper: 0.001)',
  },
  {
    key: 'momentum',
    label: 'Momentum',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'weights',
    help: 'SGD momentum (paper: 0.9)',
  },
  {
    key: 'weightDecay',
    label: 'Weight decay',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'weights',
    help: 'For ω (paper: 3e-4)',
  },
  {
    key: 'gradClip',
    label: 'Gradient clip',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'weights',
    help: 'Max gradient norm for ω (paper: 5)',
  },
  {
    key: 'order',
    label: 'Order',
    kind: 'select',
    options: ['1', '2'],
    group: 'arch',
    help: '1 = first order; 2 = DARTS unrolled second order',
  },
  {
    key: 'archUpdate',
    label: 'Arch update',
    kind: 'select',
    options: ['sequential', 'joint'],
    group: 'arch',
    help: 'First order: α then β (sequential) or both from one pass',
  },
  {
    key: 'archLearningRate',
    label: 'α learning rate',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'arch',
    help: 'Adam for α (paper: 6e-4)',
  },
  {
    key: 'archWeightDecay',
    label: 'α weight decay',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'arch',
    help: 'Paper: 1e-3',
  },
  {
    key: 'activationLearningRate',
    label: 'β learning rate',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'arch',
    help: 'Adam for β (paper: 6e-4)',
  },
  {
    key: 'activationWeightDecay',
    label: 'β weight decay',
    kind: 'number',
    min: 0,
    step: 'any',
    group: 'arch',
    help: 'Paper: 1e-3',
  },
  {
    key: 'archBeta1',
    label: 'Adam β1',
    kind: 'number',
    min: 0,
    max: 1,
    maxExclusive: true,
    step: 'any',
    group: 'arch',
    help: 'Paper: 0.5',
  },
  {
    key: 'archBeta2',
    label: 'Adam β2',
    kind: 'number',
    min: 0,
    max: 1,
    maxExclusive: true,
    step: 'any',
    group: 'arch',
    help: 'Paper: 0.999',
  },
  {
    key: 'warmupEpochs',
    label: 'Warm-up epochs',
    kind: 'int',
    min: 0,
    group: 'arch',
    help: 'Epochs before α/β are updated (PC-DARTS: 15)',
  },
];

/** A select field's value from its text; null when the text is not one of its options. */
export function parseFieldValue(field: ConfigField, text: string): SearchConfig[ConfigField['key']] | null {
  const t = text.trim();
  if (field.kind === 'select') {
    if (field.key === 'order') return t === '1' ? 1 : t === '2' ? 2 : null;
    return field.options!.includes(t) ? (t as SearchConfig[ConfigField['key']]) : null;
  }
  return parseNumber(t);
}

export function fieldText(field: ConfigField, config: SearchConfig): string {
  return String(config[field.key]);
}

/** A number typed or in a link: any finite number (checked against its field elsewhere), or null. */
export function parseNumber(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

// ---------------------------------------------------------------------------------------------
// Field checks: every number field is checked as it is typed (and as a link fills it). A problem
// is said beside the field, by its label, with what would work; Start waits until there is none.

/** The run's own number settings (how it checkpoints and scores), beside the search's config. */
export const RUN_FIELD_IDS = ['checkpointEvery', 'heldOutImages', 'heldOutEvery', 'gpuBudgetGiB'] as const;
export type RunFieldId = (typeof RUN_FIELD_IDS)[number];

export { DEFAULT_HELD_OUT_IMAGES };

export function isRunField(id: string): id is RunFieldId {
  return (RUN_FIELD_IDS as readonly string[]).includes(id);
}

/** A number field of the setup: a search setting, a run setting (checkpoint interval, held-out
 * scoring), a synthetic data setting (`synthetic.size`) or a re-training setting (`retrain.channels`). */
export type FieldId =
  ConfigField['key'] | RunFieldId | `synthetic.${keyof SyntheticSetup}` | `retrain.${RetrainField['key']}`;

export interface NumberSpec {
  id: FieldId;
  label: string;
  integer: boolean;
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  why?: string;
}

export const NUMBER_FIELDS: NumberSpec[] = [
  ...CONFIG_FIELDS.filter((f) => f.kind !== 'select').map((f): NumberSpec => ({
    id: f.key,
    label: f.label,
    integer: f.kind === 'int',
    min: f.min,
    max: f.max,
    minExclusive: f.minExclusive,
    maxExclusive: f.maxExclusive,
    why: f.why,
  })),
  { id: 'checkpointEvery', label: 'Checkpoint every (steps)', integer: true, min: 0, why: '0: every minute' },
  { id: 'heldOutImages', label: 'Held-out images', integer: true, min: 1, max: 10000 },
  { id: 'heldOutEvery', label: 'Score held-out every (epochs)', integer: true, min: 0, why: '0: at the end only' },
  { id: 'gpuBudgetGiB', label: 'GPU memory budget (GiB)', integer: false, min: 0, minExclusive: true, max: 1024 },
  { id: 'synthetic.size', label: 'Image size', integer: true, min: 8, max: 64 },
  { id: 'synthetic.channels', label: 'Colour channels', integer: true, min: 1, max: 3 },
  { id: 'synthetic.classes', label: 'Classes', integer: true, min: 2, max: 100 },
  { id: 'synthetic.seed', label: 'Data seed', integer: true, min: 0 },
  ...RETRAIN_FIELDS.map((f): NumberSpec => ({
    id: `retrain.${f.key}`,
    label: f.label,
    integer: f.integer,
    min: 0,
    why: f.key === 'seed' ? undefined : '0: the preset’s',
  })),
];

const SPECS = new Map(NUMBER_FIELDS.map((f) => [f.id, f]));

export function numberSpec(id: FieldId): NumberSpec {
  const spec = SPECS.get(id);
  if (!spec) throw new Error(`not a number field: ${id}`);
  return spec;
}

/** The number a field holds in a setup. */
export function fieldValue(setup: Setup, id: FieldId): number {
  if (isRunField(id)) return setup[id];
  if (id.startsWith('synthetic.')) return setup.synthetic[id.slice(10) as keyof SyntheticSetup];
  if (id.startsWith('retrain.')) return setup.retrain[id.slice(8) as RetrainField['key']];
  return setup.config[id as ConfigField['key']] as number;
}

/** The setup with a number field set (its draft, if any, dropped). */
export function withFieldValue(setup: Setup, id: FieldId, value: number): Setup {
  const { [id]: _dropped, ...drafts } = setup.drafts;
  void _dropped;
  const next = { ...setup, drafts };
  if (isRunField(id)) return { ...next, [id]: value };
  if (id.startsWith('synthetic.')) return { ...next, synthetic: { ...setup.synthetic, [id.slice(10)]: value } };
  if (id.startsWith('retrain.')) return { ...next, retrain: { ...setup.retrain, [id.slice(8)]: value } };
  return { ...next, config: { ...setup.config, [id]: value } };
}

/**
 * The setup after text was typed into a number field: a number is taken as it is (checked by
 * fieldProblems, never changed); anything else (empty, "abc", what the browser calls bad input)
 * is kept as the field's draft, and its value stays the last number.
 */
export function withFieldText(setup: Setup, id: FieldId, text: string, badInput = false): Setup {
  const n = badInput ? null : parseNumber(text);
  if (n === null) return { ...setup, drafts: { ...setup.drafts, [id]: badInput ? BAD_INPUT : text } };
  return withFieldValue(setup, id, n);
}

/** The draft of a field whose text the browser itself could not read as a number ("1e"). */
export const BAD_INPUT = '\u0000';

/** The setup without the drafts of its search settings (a preset replaced them all). */
export function withoutConfigDrafts(setup: Setup): Setup {
  const drafts = Object.fromEntries(Object.entries(setup.drafts).filter(([id]) => isRunField(id) || id.includes('.')));
  return { ...setup, drafts };
}

/** What a field's value must be, as said after "must be": "a whole number from 8 to 64". */
export function requirement(spec: NumberSpec): string {
  const kind = spec.integer ? 'a whole number' : 'a number';
  const { min, max } = spec;
  const low = min === undefined ? '' : `${spec.minExclusive ? 'above' : 'of at least'} ${min}`;
  const high = max === undefined ? '' : `${spec.maxExclusive ? 'below' : 'at most'} ${max}`;
  if (min !== undefined && min === max) return String(min);
  if (low && high && !spec.minExclusive && !spec.maxExclusive) return `${kind} from ${min} to ${max}`;
  return [kind, [low, high].filter(Boolean).join(' and ')].filter(Boolean).join(' ');
}

/** A field's own problem (its value alone), or null. */
export function numberProblem(spec: NumberSpec, value: number, draft?: string): string | null {
  const must = `${spec.label} must be ${requirement(spec)}`;
  if (draft === BAD_INPUT) return `${must}: what is typed is not a number`;
  if (draft !== undefined)
    return draft.trim() === '' ? `${must} (the field is empty)` : `${must}: “${draft}” is not a number`;
  if (!Number.isFinite(value)) return `${must}: “${value}” is not a number`;
  const outside =
    (spec.integer && !Number.isInteger(value)) ||
    (spec.min !== undefined && (spec.minExclusive ? value <= spec.min : value < spec.min)) ||
    (spec.max !== undefined && (spec.maxExclusive ? value >= spec.max : value > spec.max));
  if (spec.id === 'synthetic.channels' && !outside && value !== 1 && value !== 3)
    return `Colour channels must be 1 (grey) or 3 (colour), not ${value}`;
  return outside ? `${must}${spec.why ? ` (${spec.why})` : ''}, not ${value}` : null;
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= n; k++) if (n % k === 0) out.push(k);
  return out;
}

/** What the selected data set holds, when it is loaded (the batch size is checked against it). */
export interface DataSize {
  trainCount: number;
}

/**
 * Every number field's problem, by field (empty when the setup can run): its own value first,
 * then how it fits the others (K must divide C; epochs or a step limit; a batch fits both
 * parts of the training images, when the data set is loaded; a re-training's sizes).
 */
export function fieldProblems(setup: Setup, data?: DataSize | null): Partial<Record<FieldId, string>> {
  const out: Partial<Record<FieldId, string>> = {};
  for (const spec of NUMBER_FIELDS) {
    if (spec.id.startsWith('synthetic.') && setup.dataset !== 'synthetic') continue;
    const p = numberProblem(spec, fieldValue(setup, spec.id), setup.drafts[spec.id]);
    if (p) out[spec.id] = p;
  }
  const c = setup.config;
  const ok = (id: FieldId) => out[id] === undefined && setup.drafts[id] === undefined;
  if (ok('channels') && ok('partialChannels') && c.channels % c.partialChannels !== 0) {
    const list = divisors(c.channels);
    const shown = list.length > 8 ? `${list.slice(0, 8).join(', ')}, …` : list.join(', ');
    out.partialChannels = `Partial channels (K) must divide Channels (${c.channels}): use ${shown}, or change Channels`;
  }
  if (ok('epochs') && ok('maxSteps') && c.epochs === 0 && c.maxSteps === 0)
    out.epochs = 'Epochs must be at least 1 while Stop after steps is 0 (there would be nothing to search): set either';
  if (data && ok('trainPortion') && ok('batchSize')) {
    const n = data.trainCount;
    const forWeights = Math.floor(c.trainPortion * n);
    const forArch = n - forWeights;
    if (forWeights < 1 || forArch < 1)
      out.trainPortion = `Train portion (${c.trainPortion}) leaves no training image for ${forWeights < 1 ? 'the weights' : 'α and β'} (of ${n}): use a value from ${Math.ceil((1 / n) * 1000) / 1000} to ${Math.floor(((n - 1) / n) * 1000) / 1000}`;
    else if (c.batchSize > Math.min(forWeights, forArch)) {
      const small = forWeights <= forArch ? 'the weights’' : 'α and β’s';
      out.batchSize = `Batch size (${c.batchSize}) is larger than ${small} part of the training images (${Math.min(forWeights, forArch)} of ${n} at Train portion ${c.trainPortion}): use at most ${Math.min(forWeights, forArch)}${forWeights !== forArch ? ', or move Train portion toward 0.5' : ''}`;
    }
  }
  const r = setup.retrain;
  if (ok('retrain.channels') && (r.channels || TRAIN_PRESETS[r.preset].channels) % 2 !== 0)
    out['retrain.channels'] = `Re-train channels must be even (each cell halves its input channels), not ${r.channels}`;
  if (ok('retrain.layers') && (r.layers || TRAIN_PRESETS[r.preset].layers) < 3)
    out['retrain.layers'] = `Re-train layers must be 0 (the preset’s) or at least 3, not ${r.layers}`;
  return out;
}

const isRetrainField = (id: string) => id.startsWith('retrain.');

/** Why a search cannot start with this setup, one message per field (empty when it can). */
export function setupProblems(setup: Setup, data?: DataSize | null, memoryRefusal?: string | null): string[] {
  const problems = Object.entries(fieldProblems(setup, data))
    .filter(([id]) => !isRetrainField(id))
    .map(([, p]) => p!);
  if (problems.length) return problems;
  if (memoryRefusal) problems.push(memoryRefusal);
  try {
    validateConfig(setup.config); // what no field shows (e.g. a fixed β's shape)
  } catch (e) {
    const msg = (e as Error).message; // "config.<field>: why"
    const m = /^config\.([A-Za-z.]+): (.*)$/.exec(msg);
    const field = m && CONFIG_FIELDS.find((f) => f.key === m[1]);
    problems.push(field ? `${field.label}: ${m![2]}` : msg);
  }
  return problems;
}

/** "Recompute cells": auto keeps every cell unless a step would not fit without recomputing. */
export const RECOMPUTE_CHOICES = ['auto', 'on', 'off'] as const;
export type RecomputeChoice = (typeof RECOMPUTE_CHOICES)[number];

/** The GPU memory budget unless the user sets one (the engine's default, in GiB). */
export const DEFAULT_GPU_BUDGET_GIB = DEFAULT_MEMORY_BUDGET / 2 ** 30;

/** The engine options the memory settings make: recompute and the budget (in bytes; wasm ignores it). */
export function memoryOptions(setup: Pick<Setup, 'recompute' | 'gpuBudgetGiB'>): {
  recompute: boolean | 'auto';
  memoryBudget: number;
} {
  return {
    recompute: setup.recompute === 'auto' ? 'auto' : setup.recompute === 'on',
    memoryBudget: setup.gpuBudgetGiB * 2 ** 30,
  };
}

/**
 * What a step of this setup needs on `backend` and whether it fits ("about 1.9 GB on wasm"),
 * once the data set's shape is known; null before.
 */
export function setupMemory(
  setup: Setup,
  data: { height: number; width: number; channels: number; classNames: readonly string[] } | null | undefined,
  backend: string,
): FitCheck | null {
  if (!data || !data.height) return null;
  const input = { height: data.height, width: data.width, channels: data.channels, classes: data.classNames.length };
  const b = memoryBackendOf(backend);
  const { recompute, memoryBudget } = memoryOptions(setup);
  try {
    return checkFits(setup.config, input, b, { recompute, budget: b === 'wasm' ? null : memoryBudget });
  } catch {
    return null; // a config the fields already mark as wrong
  }
}

/**
 * The memory checks Start goes by: the chosen backend's; for auto, the backend auto picked last
 * time here, or (not known yet) webgpu's and wasm's. `refusal` is the message when none fits.
 */
export function setupMemoryChecks(
  setup: Setup,
  data: Parameters<typeof setupMemory>[1],
  last: { requested: string; backend: string } | null,
): { checks: { backend: string; check: FitCheck }[]; refusal: string | null } {
  const backends =
    setup.backend !== 'auto' ? [setup.backend] : last?.requested === 'auto' ? [last.backend] : ['webgpu', 'wasm'];
  const checks = backends.flatMap((backend) => {
    const check = setupMemory(setup, data, backend);
    return check ? [{ backend, check }] : [];
  });
  const refusal = checks.length && checks.every((c) => !c.check.fits) ? checks[0]!.check.message : null;
  return { checks, refusal };
}

/** Why a re-training cannot start with these settings (empty when it can). */
export function retrainProblems(setup: Setup): string[] {
  return Object.entries(fieldProblems(setup))
    .filter(([id]) => isRetrainField(id))
    .map(([, p]) => p!);
}

// ---------------------------------------------------------------------------------------------
// URL hash: "#dataset=builtin&backend=auto&mode=factorized&channels=8&..." (every field)

const HASH_VERSION = '1';

export function encodeSetup(setup: Setup): string {
  const p = new URLSearchParams();
  p.set('v', HASH_VERSION);
  p.set('dataset', setup.dataset);
  if (setup.dataset === 'files') p.set('files', setup.files.join('|'));
  if (setup.dataset === 'synthetic') {
    p.set('synSeed', String(setup.synthetic.seed));
    p.set('synSize', String(setup.synthetic.size));
    p.set('synChannels', String(setup.synthetic.channels));
    p.set('synClasses', String(setup.synthetic.classes));
  }
  p.set('backend', setup.backend);
  if (setup.checkpointEvery > 0) p.set('ckptSteps', String(setup.checkpointEvery));
  if (setup.heldOutImages !== DEFAULT_HELD_OUT_IMAGES) p.set('heldOut', String(setup.heldOutImages));
  if (setup.heldOutEvery !== 1) p.set('heldOutEvery', String(setup.heldOutEvery));
  if (!setup.compiledStep) p.set('compiled', '0');
  if (setup.recompute !== 'auto') p.set('recompute', setup.recompute);
  if (setup.gpuBudgetGiB !== DEFAULT_GPU_BUDGET_GIB) p.set('gpuGiB', String(setup.gpuBudgetGiB));
  for (const f of CONFIG_FIELDS) p.set(f.key, String(setup.config[f.key]));
  if (setup.config.fixedBeta) p.set('fixedBeta', encodeBeta(setup.config.fixedBeta));
  // Re-training settings only where they differ from the defaults (older links stay as they were).
  const r = setup.retrain;
  if (r.preset !== DEFAULT_RETRAIN.preset) p.set('rtPreset', r.preset);
  if (r.allRelu) p.set('rtRelu', '1');
  for (const f of RETRAIN_FIELDS) if (r[f.key] !== DEFAULT_RETRAIN[f.key]) p.set(f.hash, String(r[f.key]));
  return p.toString();
}

export interface DecodedSetup {
  /** The link's values as they are: wrong numbers are kept (fieldProblems marks them), text that
   * is no number is in `drafts`. */
  setup: Setup;
  /** What the link had wrong that no number field shows (an unknown mode, backend, data set). */
  warnings: string[];
}

/** Reads a hash (with or without '#'); fields it lacks or has wrong keep `base`'s values. */
export function decodeSetup(hash: string, base: Setup = defaultSetup()): DecodedSetup {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  const p = new URLSearchParams(text);
  const warnings: string[] = [];
  let setup: Setup = {
    ...base,
    files: base.files.slice(),
    synthetic: { ...base.synthetic },
    config: { ...base.config },
    retrain: { ...base.retrain },
    drafts: { ...base.drafts },
  };
  const dataset = p.get('dataset');
  if (dataset === 'builtin' || dataset === 'synthetic') setup.dataset = dataset;
  else if (dataset === 'files') {
    const names = (p.get('files') ?? '').split('|').filter(Boolean);
    warnings.push(
      `This link was made with the data set ${names.length ? names.join(', ') : '(own files)'}: files cannot travel in a link, so load them again (the built-in data set is selected meanwhile).`,
    );
    setup.dataset = 'builtin';
  } else if (dataset !== null) warnings.push(`dataset: unknown data set "${dataset}"; the built-in one is selected`);
  const backend = p.get('backend');
  if (backend !== null) {
    if ((BACKEND_CHOICES as readonly string[]).includes(backend)) setup.backend = backend as BackendChoice;
    else warnings.push(`backend: unknown backend "${backend}"; ${setup.backend} is selected`);
  }
  const compiled = p.get('compiled');
  if (compiled !== null) {
    if (compiled === '0' || compiled === '1') setup.compiledStep = compiled === '1';
    else warnings.push(`compiled: "${compiled}" is not 0 or 1; the compiled step is on`);
  }
  const recompute = p.get('recompute');
  if (recompute !== null) {
    if ((RECOMPUTE_CHOICES as readonly string[]).includes(recompute)) setup.recompute = recompute as RecomputeChoice;
    else warnings.push(`recompute: "${recompute}" is not one of ${RECOMPUTE_CHOICES.join(', ')}; auto is selected`);
  }
  for (const f of CONFIG_FIELDS) {
    const v = p.get(f.key);
    if (v === null || f.kind !== 'select') continue;
    const parsed = parseFieldValue(f, v);
    if (parsed === null)
      warnings.push(
        `${f.label}: the link’s “${v}” is not one of ${f.options!.join(', ')}; ${String(setup.config[f.key])} is selected`,
      );
    else setup.config = { ...setup.config, [f.key]: parsed };
  }
  const fb = p.get('fixedBeta');
  if (fb !== null) {
    const beta = decodeBeta(fb);
    if (beta) setup.config.fixedBeta = beta;
    else warnings.push('fixedBeta: could not be read (expected 2 × 14 rows of 9 numbers); β is uniform');
  } else if (p.has('mode')) setup.config.fixedBeta = null;
  const rtPreset = p.get('rtPreset');
  if (rtPreset !== null) {
    if ((TRAIN_PRESET_NAMES as string[]).includes(rtPreset)) setup.retrain.preset = rtPreset as TrainPresetName;
    else warnings.push(`rtPreset: unknown re-training preset "${rtPreset}"; quick is selected`);
  }
  const rtRelu = p.get('rtRelu');
  if (rtRelu !== null) setup.retrain.allRelu = rtRelu === '1' || rtRelu === 'true';
  // A number field takes the link's number as it is (a wrong one is marked at the field, never
  // changed); text that is no number becomes the field's draft, marked too.
  const numbers: [string, FieldId][] = [
    ['synSeed', 'synthetic.seed'],
    ['synSize', 'synthetic.size'],
    ['synChannels', 'synthetic.channels'],
    ['synClasses', 'synthetic.classes'],
    ['ckptSteps', 'checkpointEvery'],
    ['heldOut', 'heldOutImages'],
    ['heldOutEvery', 'heldOutEvery'],
    ['gpuGiB', 'gpuBudgetGiB'],
    ...CONFIG_FIELDS.filter((f) => f.kind !== 'select').map((f): [string, FieldId] => [f.key, f.key]),
    ...RETRAIN_FIELDS.map((f): [string, FieldId] => [f.hash, `retrain.${f.key}`]),
  ];
  for (const [key, id] of numbers) {
    const v = p.get(key);
    if (v !== null) setup = withFieldText(setup, id, v);
  }
  return { setup, warnings };
}

type FixedBeta = NonNullable<SearchConfig['fixedBeta']>;

function encodeBeta(b: FixedBeta): string {
  const round = (rows: number[][]) => rows.map((r) => r.map((x) => Math.round(x * 1e4) / 1e4));
  const json = JSON.stringify([round(b.betaNormal), round(b.betaReduce)]);
  return base64UrlEncode(json);
}

function decodeBeta(s: string): FixedBeta | null {
  try {
    const [n, r] = JSON.parse(base64UrlDecode(s)) as [number[][], number[][]];
    const ok = (rows: unknown) =>
      Array.isArray(rows) &&
      rows.length === EDGES &&
      rows.every(
        (row) =>
          Array.isArray(row) &&
          row.length === ACTIVATIONS.length &&
          row.every((x) => typeof x === 'number' && Number.isFinite(x)),
      );
    if (!ok(n) || !ok(r)) return null;
    return { betaNormal: n, betaReduce: r };
  } catch {
    return null;
  }
}

function base64UrlEncode(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
  const bin = atob(b64);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

// ---------------------------------------------------------------------------------------------
// Fixed β from a file (fixed-beta mode)

/**
 * Reads frozen β from a genotype file (its weights.betaNormal/betaReduce, or else its chosen
 * activations as strong one-hot rows) or from a weights JSON with betaNormal/betaReduce.
 */
export function fixedBetaFromJson(text: string, fileName: string): FixedBeta {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${fileName}: not JSON (${(e as Error).message})`, { cause: e });
  }
  const obj = data as Record<string, unknown>;
  const w = (obj && typeof obj === 'object' && 'weights' in obj ? obj.weights : obj) as
    Record<string, unknown> | undefined;
  const check = (rows: unknown, name: string): number[][] => {
    if (
      !Array.isArray(rows) ||
      rows.length !== EDGES ||
      !rows.every(
        (r) =>
          Array.isArray(r) &&
          r.length === ACTIVATIONS.length &&
          r.every((x) => typeof x === 'number' && Number.isFinite(x)),
      )
    )
      throw new Error(`${fileName}: ${name} must be ${EDGES} rows of ${ACTIVATIONS.length} finite numbers`);
    return rows as number[][];
  };
  if (w && w.betaNormal != null && w.betaReduce != null)
    return { betaNormal: check(w.betaNormal, 'betaNormal'), betaReduce: check(w.betaReduce, 'betaReduce') };
  if (Array.isArray(obj?.normal) && Array.isArray(obj?.reduce)) {
    const rows = (cell: unknown[]): number[][] => {
      const out = Array.from({ length: EDGES }, () => ACTIVATIONS.map(() => 0));
      cell.forEach((e, i) => {
        const edge = e as { from?: number; activation?: string | null };
        const node = Math.floor(i / 2);
        const index = (node * (node + 3)) / 2 + (edge.from ?? 0);
        const k = ACTIVATIONS.indexOf((edge.activation ?? '') as ActivationName);
        if (index < EDGES && k >= 0) out[index]![k] = 5;
      });
      return out;
    };
    return { betaNormal: rows(obj.normal as unknown[]), betaReduce: rows(obj.reduce as unknown[]) };
  }
  throw new Error(
    `${fileName}: has no β (expected weights.betaNormal and weights.betaReduce, or a genotype's normal and reduce cells)`,
  );
}

export function modeLabel(mode: SearchMode): string {
  switch (mode) {
    case 'factorized':
      return 'factorized (A-DARTS)';
    case 'darts':
      return 'darts (fixed activation)';
    case 'nonfactorized':
      return 'nonfactorized (40 ops)';
    case 'fixed-beta':
      return 'fixed-beta (Config-A)';
  }
}
