// Plain data the visuals need, derived from the store: the viewed snapshot, its genotype,
// the mode it belongs to, and uniform weights before a run starts.
import { useMemo } from 'react';
import { deriveGenotype, edgeIndexOf, type Genotype } from '../search/genotype';
import { candidateOps, ACTIVATIONS, EDGES, type SearchConfig } from '../search/space';
import { selectViewedSnapshot, useLab, type Snapshot } from '../store/lab';

export interface Viewed {
  snapshot: Snapshot;
  /** false: a placeholder (uniform weights) before any run. */
  live: boolean;
  config: SearchConfig;
  genotype: Genotype | null;
}

function uniformSnapshot(config: SearchConfig): Snapshot {
  const k = candidateOps(config.mode).length;
  const rows = (n: number, v: number) => Array.from({ length: EDGES }, () => Array.from({ length: n }, () => v));
  const hasBeta = config.mode !== 'nonfactorized';
  const beta =
    config.mode === 'darts'
      ? Array.from({ length: EDGES }, () => ACTIVATIONS.map((a) => (a === config.activation ? 1 : 0)))
      : hasBeta
        ? rows(ACTIVATIONS.length, 1 / ACTIVATIONS.length)
        : null;
  return {
    step: 0,
    epoch: 0,
    alphaNormal: rows(k, 1 / k),
    alphaReduce: rows(k, 1 / k),
    betaNormal: beta,
    betaReduce: beta,
    raw: {
      alphaNormal: rows(k, 0),
      alphaReduce: rows(k, 0),
      betaNormal: null,
      betaReduce: null,
      edgeNormal: null,
      edgeReduce: null,
    },
  };
}

/** One derivation per snapshot, shared by every visual that shows it. */
const derivedCache = new WeakMap<Snapshot, Genotype | null>();

export function genotypeOfSnapshot(snap: Snapshot, config: SearchConfig): Genotype | null {
  if (derivedCache.has(snap)) return derivedCache.get(snap)!;
  let genotype: Genotype | null;
  try {
    genotype = deriveGenotype(snap.raw, config.mode, { fixedActivation: config.activation });
  } catch {
    genotype = null;
  }
  derivedCache.set(snap, genotype);
  return genotype;
}

export function useViewed(): Viewed {
  const snapshot = useLab(selectViewedSnapshot);
  const runConfig = useLab((s) => s.runConfig);
  const setupConfig = useLab((s) => s.setup.config);
  return useMemo(() => {
    const config = snapshot && runConfig ? runConfig : setupConfig;
    const snap = snapshot && runConfig ? snapshot : uniformSnapshot(setupConfig);
    const genotype = snapshot && runConfig ? genotypeOfSnapshot(snapshot, runConfig) : null;
    return { snapshot: snap, live: Boolean(snapshot && runConfig), config, genotype };
  }, [snapshot, runConfig, setupConfig]);
}

/** "row:col" keys of the α cells and β cells a genotype keeps, per cell type. */
export function keptMarks(genotype: Genotype | null, config: Pick<SearchConfig, 'mode'>) {
  const empty = {
    alpha: { normal: new Set<string>(), reduce: new Set<string>() },
    beta: { normal: new Set<string>(), reduce: new Set<string>() },
  };
  if (!genotype) return empty;
  const cands = candidateOps(config.mode);
  for (const cell of ['normal', 'reduce'] as const) {
    genotype[cell].forEach((e, i) => {
      const row = edgeIndexOf(i, e.from);
      const col =
        config.mode === 'nonfactorized'
          ? cands.findIndex(
              (c) => c.op === e.op && (c.activation ?? null) === (e.op.includes('conv') ? e.activation : null),
            )
          : cands.findIndex((c) => c.op === e.op);
      if (col >= 0) empty.alpha[cell].add(`${row}:${col}`);
      if (e.activation) empty.beta[cell].add(`${row}:${ACTIVATIONS.indexOf(e.activation)}`);
    });
  }
  return empty;
}
