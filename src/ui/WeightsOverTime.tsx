// The search over time: one edge's α and β against the step (the classic DARTS figure), every
// edge's entropy, and the steps where the derived genotype changed. All from the kept snapshots;
// the edge is the one picked on a heatmap, and the replay's step is a cursor on each chart.
import { useMemo } from 'react';
import { candidateOps } from '../search/space';
import { selectViewedSnapshot, useLab } from '../store/lab';
import { useView } from '../store/view';
import { alphaColumns, BETA_COLUMNS, EDGE_NAMES } from './labels';
import { edgeEntropySeries, edgeWeightSeries, genotypeChanges } from './history';
import { TimeChart } from './TimeChart';
import { EdgeName } from './Heatmap';
import { genotypeOfSnapshot } from './derived';
import { CsvButton } from './CsvButton';

function useHistory() {
  const snapshots = useLab((s) => s.snapshots);
  const config = useLab((s) => s.runConfig);
  const viewed = useLab(selectViewedSnapshot);
  const chosen = useView((s) => s.chosenEdge);
  return { snapshots: config ? snapshots : [], config, cursorStep: viewed?.step ?? null, chosen };
}

const cellName = (cell: 'normal' | 'reduce') => (cell === 'normal' ? 'normal cell' : 'reduction cell');

/** "α over time" (or β) and the picked edge, as the two charts title themselves. */
function EdgeChartTitle({ symbol, chosen }: { symbol: string; chosen: ReturnType<typeof useHistory>['chosen'] }) {
  return (
    <>
      <span className="greek">{symbol}</span> over time{' '}
      <small>
        {cellName(chosen.cell)}, <EdgeName name={EDGE_NAMES[chosen.edge]!} />
      </small>
    </>
  );
}

export function AlphaOverTime() {
  const { snapshots, config, cursorStep, chosen } = useHistory();
  const series = useMemo(
    () => (config ? edgeWeightSeries(snapshots, chosen.cell, chosen.edge, 'alpha', alphaColumns(config.mode)) : []),
    [snapshots, config, chosen],
  );
  return (
    <TimeChart
      label="α over time"
      title={<EdgeChartTitle symbol="α" chosen={chosen} />}
      note="softmax(α) of each op on the edge picked on a heatmap (click a row)."
      series={series}
      yDomain="auto"
      yKind="number"
      yLabel="softmax weight"
      cursorStep={cursorStep}
      empty="Weights appear when the search starts"
      fileName={`alpha-over-time-${chosen.cell}-edge${chosen.edge}`}
      actions={<CsvButton table="weights" label="Download α/β history (CSV)" />}
    />
  );
}

export function BetaOverTime() {
  const { snapshots, config, cursorStep, chosen } = useHistory();
  const hasBeta = config !== null && config.mode !== 'nonfactorized';
  const series = useMemo(
    () => (hasBeta ? edgeWeightSeries(snapshots, chosen.cell, chosen.edge, 'beta', BETA_COLUMNS) : []),
    [snapshots, hasBeta, chosen],
  );
  const note =
    config?.mode === 'darts'
      ? `darts mode: β is fixed on ${config.activation}.`
      : config?.mode === 'fixed-beta'
        ? 'fixed-beta mode: β is frozen.'
        : config?.mode === 'nonfactorized'
          ? 'Non-factorized mode has no β.'
          : 'softmax(β) of each activation on the picked edge (shared by its 4 conv ops).';
  return (
    <TimeChart
      label="β over time"
      title={<EdgeChartTitle symbol="β" chosen={chosen} />}
      note={note}
      series={series}
      yDomain="auto"
      yKind="number"
      yLabel="softmax weight"
      cursorStep={cursorStep}
      empty={config?.mode === 'nonfactorized' ? 'No β in this mode' : 'Weights appear when the search starts'}
      fileName={`beta-over-time-${chosen.cell}-edge${chosen.edge}`}
    />
  );
}

export function EdgeEntropy() {
  const { snapshots, config, cursorStep, chosen } = useHistory();
  const series = useMemo(
    () => edgeEntropySeries(snapshots, chosen.cell, 'alpha', EDGE_NAMES.map(plain)),
    [snapshots, chosen.cell],
  );
  const k = config ? candidateOps(config.mode).length : 8;
  return (
    <TimeChart
      label="Edge entropy"
      title={
        <>
          Edge entropy <small>{cellName(chosen.cell)}</small>
        </>
      }
      note={`Entropy of each edge's softmax(α) over its ${k} ops, as a share of the uniform's (100%: undecided; 0%: one op). Thick: the picked edge.`}
      series={series}
      yDomain="auto"
      yMax={1}
      yKind="percent"
      yLabel="entropy / log k"
      cursorStep={cursorStep}
      highlight={plain(EDGE_NAMES[chosen.edge]!)}
      empty="Entropies appear when the search starts"
      fileName={`edge-entropy-${chosen.cell}`}
    />
  );
}

/** Changes listed at most (the latest ones). */
const LISTED_CHANGES = 12;

export function GenotypeChanges() {
  const { snapshots, config, cursorStep } = useHistory();
  const changes = useMemo(
    () => (config ? genotypeChanges(snapshots, config, (s) => genotypeOfSnapshot(s, config)) : []),
    [snapshots, config],
  );
  // The change that made the genotype the replay shows.
  let current = -1;
  if (cursorStep !== null) changes.forEach((c, i) => (c.step <= cursorStep ? (current = i) : undefined));
  // A long run changes its genotype hundreds of times: the latest few are listed (and the one the
  // replay shows), so the list stays small however long the history.
  const listed = changes
    .map((c, i) => ({ c, i }))
    .filter(({ i }) => i >= changes.length - LISTED_CHANGES || i === current);
  const earlier = changes.length - listed.length;
  return (
    <section className="card genotype-changes" aria-label="Genotype changes" data-changes={changes.length}>
      <h2>
        Genotype changes{' '}
        <small>{changes.length ? `${changes.length} change${changes.length === 1 ? '' : 's'}` : 'none yet'}</small>
      </h2>
      <p className="hint">
        Steps where the derived cells changed, between two kept snapshots. The highlighted one made the genotype the
        replay shows.
      </p>
      {changes.length === 0 ? (
        <p className="empty">
          {snapshots.length ? 'The derived genotype has not changed.' : 'Changes appear while the search runs.'}
        </p>
      ) : (
        <>
          {earlier > 0 && (
            <p className="hint change-earlier">
              {earlier} earlier change{earlier === 1 ? '' : 's'} not listed (replay to one to see it here).
            </p>
          )}
          <ol className="change-list">
            {listed.map(({ c, i }) => (
              <li key={c.step} value={i + 1} data-step={c.step} className={i === current ? 'current' : undefined}>
                <strong>
                  step {c.since + 1}–{c.step}
                </strong>
                <ul>
                  {c.changes.map((line) => (
                    <li key={line}>{line.replace(/_\{([^}]*)\}/g, '$1')}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

/** "c_{k-1} → node 2" as plain text (a legend has no subscripts). */
function plain(name: string): string {
  return name.replace(/_\{([^}]*)\}/g, '$1');
}
