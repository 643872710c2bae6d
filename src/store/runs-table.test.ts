import { runSummaryFixture } from '../runs/summary-fixture';
import { describe, expect, it } from 'vitest';
import { QUICK_CONFIG, type SearchConfig } from '../search/space';
import { QUICK_TRAIN_CONFIG } from '../retrain/train-config';
import type { RunSummary } from '../runs/store';
import {
  RUN_COLUMNS,
  hyperparameters,
  modeText,
  nextSort,
  NO_FILTERS,
  sortValue,
  visibleRuns,
  datasetNames,
} from './runs-table';

let scorings = 0;
/** A held-out scoring (later ones at later steps). */
function scoring(testAccuracy: number) {
  scorings++;
  return { step: scorings, epoch: 0, testLoss: 1, testAccuracy, testCount: 500 };
}

function run(id: string, over: Partial<RunSummary> = {}, config: Partial<SearchConfig> = {}): RunSummary {
  return runSummaryFixture(id, { mode: config.mode ?? 'factorized', config: { ...QUICK_CONFIG, ...config }, ...over });
}

const retraining = run(
  't',
  {
    kind: 'train',
    mode: 'darts',
    config: null,
    status: 'stopped',
    training: {
      preset: 'quick',
      allRelu: true,
      config: { ...QUICK_TRAIN_CONFIG, channels: 12, seed: 5 },
      source: 'x.json',
      auxiliary: false,
      cutout: false,
      params: 1,
      auxiliaryParams: 0,
      evaluations: [],
      testAccuracy: 0.61,
      testLoss: 1,
      testCount: 100,
    },
  },
  {},
);

// In the store's order (newest first): the table shows them so until a header is clicked.
const runs: RunSummary[] = [
  run(
    'a',
    { name: 'run 10', heldOut: [scoring(0.42)], bestValAccuracy: 0.9, note: 'baseline' },
    { seed: 3, channels: 16 },
  ),
  run(
    'b',
    {
      name: 'run 9',
      heldOut: [scoring(0.7), scoring(0.55)],
      status: 'failed',
      dataset: { name: 'CIFAR-10', source: 'x' },
    },
    { mode: 'darts', activation: 'selu', seed: 1, partialChannels: 4, order: 2 },
  ),
  run('c', { name: 'Run 2', bestValAccuracy: 0.99, status: 'interrupted' }, { seed: 2, archLearningRate: 6e-4 }),
  retraining,
];
const ids = (list: RunSummary[]) => list.map((r) => r.id).join('');

describe('the runs table', () => {
  it('sorts by any column either way, numbers as numbers and names naturally, runs without a value last', () => {
    const by = (column: (typeof RUN_COLUMNS)[number], direction: 'ascending' | 'descending') =>
      ids(visibleRuns(runs, NO_FILTERS, { column, direction }));
    expect(ids(visibleRuns(runs, NO_FILTERS, null))).toBe('abct');
    // "Run 2" < "run 9" < "run 10": case-blind, numbers in names by value.
    expect(by('name', 'ascending')).toBe('cbat');
    expect(by('name', 'descending')).toBe('tabc');
    // Accuracy: a search's latest held-out scoring (never the batch figure: c has none, and is last
    // both ways), a re-training's test accuracy.
    expect(by('accuracy', 'ascending')).toBe('abtc');
    expect(by('accuracy', 'descending')).toBe('tbac');
    expect(by('seed', 'ascending')).toBe('bcat'); // the re-training's seed 5 last
    expect(by('partialChannels', 'descending')).toBe('bact'); // K 4, then 1, 1, then none
    expect(by('order', 'descending')).toBe('bact');
    expect(by('channels', 'ascending')).toBe('bcta'); // 8, 8 (ties keep the store's order), 12, 16
    expect(by('channels', 'descending')).toBe('atbc');
    expect(by('note', 'ascending')).toBe('abct'); // only a has a note
    expect(by('mode', 'ascending')).toBe('bact'); // darts · selu, factorized ×2, re-train
    expect(by('status', 'descending')).toBe('tcba'); // stopped, interrupted, failed, done
    // The Compare column: ticked runs in the order ticked, the others after.
    expect(ids(visibleRuns(runs, NO_FILTERS, { column: 'compare', direction: 'ascending' }, ['c', 'a']))).toBe('cabt');
    // Every column sorts to some order without throwing, and keeps every run.
    for (const column of RUN_COLUMNS) expect(by(column, 'ascending')).toHaveLength(4);
  });

  it('filters by mode (re-trainings apart), data set and status, together', () => {
    const only = (f: Partial<typeof NO_FILTERS>) => ids(visibleRuns(runs, { ...NO_FILTERS, ...f }, null));
    expect(only({ mode: 'factorized' })).toBe('ac'); // not the re-training, though its genotype's mode is darts
    expect(only({ mode: 'darts' })).toBe('b');
    expect(only({ mode: 're-train' })).toBe('t');
    expect(only({ dataset: 'CIFAR-10' })).toBe('b');
    expect(only({ status: 'interrupted' })).toBe('c');
    expect(only({ mode: 'factorized', status: 'failed' })).toBe('');
    expect(datasetNames(runs)).toEqual(['CIFAR-10', 'Synthetic']);
  });

  it('shows each run’s hyperparameters; a re-training has no α/β rate, K or order', () => {
    expect(hyperparameters(runs[1]!)).toEqual({
      channels: QUICK_CONFIG.channels,
      cells: QUICK_CONFIG.layers,
      batch: QUICK_CONFIG.batchSize,
      learningRate: QUICK_CONFIG.learningRate,
      alphaLearningRate: QUICK_CONFIG.archLearningRate,
      betaLearningRate: null, // darts searches no β
      seed: 1,
      partialChannels: 4,
      order: 2,
    });
    expect(hyperparameters(runs[2]!).alphaLearningRate).toBe(6e-4);
    expect(hyperparameters(runs[0]!).betaLearningRate).toBe(QUICK_CONFIG.activationLearningRate);
    expect(hyperparameters(retraining)).toEqual({
      channels: 12,
      cells: QUICK_TRAIN_CONFIG.layers,
      batch: QUICK_TRAIN_CONFIG.batchSize,
      learningRate: QUICK_TRAIN_CONFIG.learningRate,
      alphaLearningRate: null,
      betaLearningRate: null,
      seed: 5,
      partialChannels: null,
      order: null,
    });
    expect(modeText(runs[1]!)).toBe('darts · selu');
    expect(modeText(retraining)).toBe('re-train (quick, all ReLU)');
    expect(sortValue(retraining, 'accuracy')).toBe(0.61);
  });

  it('a header click sorts ascending, a second one descending', () => {
    const first = nextSort(null, 'seed');
    expect(first).toEqual({ column: 'seed', direction: 'ascending' });
    expect(nextSort(first, 'seed')).toEqual({ column: 'seed', direction: 'descending' });
    expect(nextSort(nextSort(first, 'seed'), 'seed')).toEqual({ column: 'seed', direction: 'ascending' });
    expect(nextSort(first, 'name')).toEqual({ column: 'name', direction: 'ascending' });
  });
});
