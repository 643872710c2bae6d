// The runs table's rows: what each column shows of a stored run, the filters (mode, data set,
// status) and the sort (any column, either way; runs without a value last). Pure TypeScript, so
// Node tests check the order with real runs.
import { RUN_STATUSES, validationOf, type RunStatus, type RunSummary } from '../runs/store';
import { SEARCH_MODES, type SearchMode } from '../search/space';

export const RUN_COLUMNS = [
  'compare',
  'name',
  'note',
  'mode',
  'dataset',
  'status',
  'steps',
  'accuracy',
  'channels',
  'cells',
  'batch',
  'learningRate',
  'alphaLearningRate',
  'betaLearningRate',
  'seed',
  'partialChannels',
  'order',
] as const;
export type RunColumn = (typeof RUN_COLUMNS)[number];

export type SortDirection = 'ascending' | 'descending';
/** null: the store's order (newest first). */
export type RunSort = { column: RunColumn; direction: SortDirection } | null;

/** A re-training's "mode" in the filter (its own mode is that of the search that found its genotype). */
export const RETRAIN_MODE = 're-train';
export type ModeFilter = 'all' | SearchMode | typeof RETRAIN_MODE;
export const MODE_FILTERS: readonly ModeFilter[] = ['all', ...SEARCH_MODES, RETRAIN_MODE];
export const STATUS_FILTERS: readonly ('all' | RunStatus)[] = ['all', ...RUN_STATUSES];

export interface RunFilters {
  mode: ModeFilter;
  /** 'all' or a data set's name. */
  dataset: string;
  status: 'all' | RunStatus;
}
export const NO_FILTERS: RunFilters = { mode: 'all', dataset: 'all', status: 'all' };

/** The hyperparameters the table shows; null where the run has none (a re-training has no α). */
export interface RunHyperparameters {
  channels: number | null;
  cells: number | null;
  batch: number | null;
  /** ω's (a re-training: its network's) initial learning rate. */
  learningRate: number | null;
  alphaLearningRate: number | null;
  /** Only where β is searched (factorized). */
  betaLearningRate: number | null;
  seed: number | null;
  /** PC-DARTS's K (1: all channels). */
  partialChannels: number | null;
  order: 1 | 2 | null;
}

export function hyperparameters(run: RunSummary): RunHyperparameters {
  const c = run.config;
  if (c)
    return {
      channels: c.channels,
      cells: c.layers,
      batch: c.batchSize,
      learningRate: c.learningRate,
      alphaLearningRate: c.archLearningRate,
      betaLearningRate: c.mode === 'factorized' ? c.activationLearningRate : null,
      seed: c.seed,
      partialChannels: c.partialChannels,
      order: c.order,
    };
  const t = run.training?.config;
  return {
    channels: t?.channels ?? null,
    cells: t?.layers ?? null,
    batch: t?.batchSize ?? null,
    learningRate: t?.learningRate ?? null,
    alphaLearningRate: null,
    betaLearningRate: null,
    seed: t?.seed ?? null,
    partialChannels: null,
    order: null,
  };
}

/** The mode as the table shows it: "darts · selu", "re-train (quick, all ReLU)". */
export function modeText(run: RunSummary): string {
  if (run.kind === 'train')
    return `re-train (${run.training?.preset ?? '?'}${run.training?.allRelu ? ', all ReLU' : ''})`;
  return run.mode === 'darts' && run.config ? `darts · ${run.config.activation}` : run.mode;
}

/** The search's validation accuracy (its latest held-out scoring), or a re-training's test accuracy. */
export function accuracyOf(run: RunSummary): number | null {
  return run.kind === 'train' ? (run.training?.testAccuracy ?? null) : (validationOf(run)?.testAccuracy ?? null);
}

/** What a column sorts by; null (no value) sorts last either way. `picked`: the ticked runs, in order. */
export function sortValue(run: RunSummary, column: RunColumn, picked: readonly string[] = []): string | number | null {
  switch (column) {
    case 'compare': {
      const slot = picked.indexOf(run.id);
      return slot < 0 ? null : slot;
    }
    case 'name':
      return run.name;
    case 'mode':
      return modeText(run);
    case 'dataset':
      return run.dataset.name;
    case 'status':
      return run.status;
    case 'steps':
      return run.steps;
    case 'accuracy': {
      const a = accuracyOf(run);
      return a === null || Number.isNaN(a) ? null : a;
    }
    case 'note':
      return run.note || null;
    default:
      return hyperparameters(run)[column];
  }
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The runs that pass the filters, sorted (a stable sort: ties keep the store's order). */
export function visibleRuns(
  runs: readonly RunSummary[],
  filters: RunFilters,
  sort: RunSort,
  picked: readonly string[] = [],
): RunSummary[] {
  const shown = runs.filter(
    (r) =>
      (filters.mode === 'all' ||
        (filters.mode === RETRAIN_MODE ? r.kind === 'train' : r.kind === 'search' && r.mode === filters.mode)) &&
      (filters.dataset === 'all' || r.dataset.name === filters.dataset) &&
      (filters.status === 'all' || r.status === filters.status),
  );
  if (!sort) return shown;
  const sign = sort.direction === 'ascending' ? 1 : -1;
  const keyed = shown.map((run) => ({ run, key: sortValue(run, sort.column, picked) }));
  keyed.sort((a, b) => {
    if (a.key === null || b.key === null) return a.key === b.key ? 0 : a.key === null ? 1 : -1;
    const order =
      typeof a.key === 'number' && typeof b.key === 'number'
        ? a.key - b.key
        : collator.compare(String(a.key), String(b.key));
    return sign * order;
  });
  return keyed.map((k) => k.run);
}

/** A header click: a new column sorts ascending, the sorted one flips. */
export function nextSort(sort: RunSort, column: RunColumn): RunSort {
  return sort?.column === column
    ? { column, direction: sort.direction === 'ascending' ? 'descending' : 'ascending' }
    : { column, direction: 'ascending' };
}

/** The data sets the runs used, in name order (the data set filter's choices). */
export function datasetNames(runs: readonly RunSummary[]): string[] {
  return [...new Set(runs.map((r) => r.dataset.name))].sort(collator.compare);
}
