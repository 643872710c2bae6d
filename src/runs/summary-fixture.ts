// Tests' stand-in for a stored run's summary: a finished quick factorized search of 10 steps on
// synthetic data, every field set, changed by `over`. (Test code only.)
import { QUICK_CONFIG } from '../search/space';
import type { RunSummary } from './format';

export function runSummaryFixture(id: string, over: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    name: `run ${id}`,
    kind: 'search',
    mode: 'factorized',
    config: QUICK_CONFIG,
    training: null,
    dataset: { name: 'Synthetic', source: 'synthetic:seed=1' },
    backend: 'wasm',
    status: 'done',
    message: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    steps: 10,
    epoch: 0,
    seconds: 1,
    stepsTotal: 10,
    bestValAccuracy: null,
    bestStep: null,
    lastMetrics: null,
    heldOut: [],
    genotype: null,
    checkpointStep: null,
    checkpointAt: null,
    metricCount: 0,
    snapshotCount: 0,
    ...over,
  };
}
