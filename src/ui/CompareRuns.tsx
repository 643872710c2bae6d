// Two stored runs side by side (the paper's ablation: factorized vs a fixed activation vs
// non-factorized): each run's derived cells and final α/β, the B − A difference of the softmaxed
// weights on a diverging scale, and both runs' curves on shared axes. A's and B's α heatmaps share
// one colour scale (the larger run's top), and so do their β heatmaps. The runs are read once
// from the run store (controller.compareStoredRuns); everything here is drawn from that.
import { useMemo } from 'react';
import { closeComparison, swapComparison } from '../store/controller';
import { sharedWeightMax, type ComparedRun, type RunComparison, type WeightDifference } from '../store/compare';
import { useLab } from '../store/lab';
import { modeLabel } from '../store/setup';
import { CellDiagram } from './CellDiagram';
import { CompareCurves, type ComparedCurve } from './CompareCurves';
import { keptMarks } from './derived';
import { EdgeName, Heatmap, type HeatmapPanel } from './Heatmap';
import { alphaColumns, BETA_COLUMNS, EDGE_NAMES, formatNumber } from './labels';

/** A's and B's colours in the curves; the difference maps use the same two hues (blue A, red B). */
const RUN_COLOURS = { a: '#2166ac', b: '#c2410c' } as const;

export function CompareRuns() {
  const comparison = useLab((s) => s.comparison);
  if (!comparison) return null;
  const { result } = comparison;
  return (
    <section className="card compare" aria-label="Compare runs" aria-busy={result === null}>
      <div className="card-head">
        <h2>
          Compare runs
          <small>B − A</small>
        </h2>
        <div className="buttons">
          <button type="button" className="small" onClick={swapComparison} disabled={!result}>
            Swap A and B
          </button>
          <button type="button" className="small" onClick={closeComparison}>
            Close comparison
          </button>
        </div>
      </div>
      {result ? <ComparisonBody c={result} /> : <p className="note">Reading the two runs…</p>}
    </section>
  );
}

function ComparisonBody({ c }: { c: RunComparison }) {
  const runs = [
    { key: 'a' as const, label: 'A', run: c.a },
    { key: 'b' as const, label: 'B', run: c.b },
  ];
  const curves = useMemo<ComparedCurve[]>(
    () =>
      runs.map(({ key, label, run }) => ({ key, label, name: run.name, colour: RUN_COLOURS[key], points: run.curve })),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [c],
  );
  // One colour domain for A's and B's heatmaps of the same kind, so a colour is one weight.
  const domainMax = useMemo(
    () => ({
      alpha: sharedWeightMax(c.a.weights, c.b.weights, 'alpha'),
      beta: sharedWeightMax(c.a.weights, c.b.weights, 'beta'),
    }),
    [c],
  );
  return (
    <>
      <RunsSummary c={c} />
      {c.notes.map((n) => (
        <p key={n} className="note" role="note">
          {n}
        </p>
      ))}
      <div className="compare-cells">
        {(['normal', 'reduce'] as const).flatMap((cell) =>
          runs.map(({ key, label, run }) => (
            <CellDiagram
              key={`${cell}-${key}`}
              id={cell}
              markerScope={`compare-${key}-`}
              title={`Run ${label} · ${cell === 'normal' ? 'normal' : 'reduction'}`}
              edges={run.genotype?.[cell] ?? null}
              step={run.weights?.step ?? run.steps}
            />
          )),
        )}
      </div>
      {runs.map(({ key, label, run }) => (
        <div className="weights-row" key={key}>
          <RunWeights label={label} run={run} which="alpha" domainMax={domainMax.alpha} />
          <RunWeights label={label} run={run} which="beta" domainMax={domainMax.beta} />
        </div>
      ))}
      <div className="weights-row">
        <DifferenceWeights c={c} which="alpha" />
        <DifferenceWeights c={c} which="beta" />
      </div>
      <section className="card compare-curves" aria-label="Curves of both runs" data-x-domain={c.stepDomain.join(',')}>
        <h2>
          Training curves, both runs
          <small>{c.lastCommonStep !== null ? headToHead(c, c.lastCommonStep) : 'no step in common'}</small>
        </h2>
        <CompareCurves runs={curves} stepDomain={c.stepDomain} />
      </section>
    </>
  );
}

function headToHead(c: RunComparison, step: number): string {
  const at = c.aligned.find((p) => p.step === step)!;
  const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`);
  return `at step ${step}, the last both reached: val. accuracy A ${pct(at.a?.valAccuracy)}, B ${pct(at.b?.valAccuracy)}`;
}

function RunsSummary({ c }: { c: RunComparison }) {
  const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
  return (
    <>
      <table className="runs-table compare-summary">
        <thead>
          <tr>
            <th scope="col">
              <span className="visually-hidden">Run</span>
            </th>
            <th scope="col">Name</th>
            <th scope="col">Mode</th>
            <th scope="col">Data set</th>
            <th scope="col">Steps</th>
            <th scope="col">Best val. acc.</th>
            <th scope="col">Last val. acc.</th>
          </tr>
        </thead>
        <tbody>
          {[
            ['A', c.a, RUN_COLOURS.a],
            ['B', c.b, RUN_COLOURS.b],
          ].map(([label, run, colour]) => {
            const r = run as ComparedRun;
            return (
              <tr key={label as string} data-run-id={r.id}>
                <th scope="row">
                  <span className="run-badge" style={{ background: colour as string }}>
                    {label as string}
                  </span>
                </th>
                <td>{r.name}</td>
                <td>
                  {modeLabel(r.mode)}
                  {r.mode === 'darts' && r.config ? ` · ${r.config.activation}` : ''}
                </td>
                <td>{r.datasetName}</td>
                <td>{r.steps}</td>
                <td>{pct(r.bestValAccuracy)}</td>
                <td>{pct(r.finalValAccuracy)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="hint compare-settings">
        {c.configDifferences.length
          ? `Settings that differ (A → B): ${c.configDifferences.join('; ')}.`
          : 'Both runs used the same settings.'}
      </p>
    </>
  );
}

/** One run's final α or β (normal and reduction cell), kept cells outlined, on the colour domain both runs share. */
function RunWeights({
  label,
  run,
  which,
  domainMax,
}: {
  label: string;
  run: ComparedRun;
  which: 'alpha' | 'beta';
  domainMax: number;
}) {
  const w = run.weights;
  const greek = which === 'alpha' ? 'α' : 'β';
  const panels = useMemo<HeatmapPanel[] | null>(() => {
    if (!w) return null;
    const normal = which === 'alpha' ? w.alphaNormal : w.betaNormal;
    const reduce = which === 'alpha' ? w.alphaReduce : w.betaReduce;
    if (!normal || !reduce) return null;
    const marks = keptMarks(run.genotype, { mode: run.mode })[which];
    return [
      { id: 'normal', title: 'Normal cell', values: normal, marks: marks.normal },
      { id: 'reduce', title: 'Reduction cell', values: reduce, marks: marks.reduce },
    ];
  }, [w, which, run.genotype, run.mode]);
  const columns = useMemo(() => (which === 'alpha' ? alphaColumns(run.mode) : BETA_COLUMNS), [which, run.mode]);
  return (
    <section className="card weights" aria-label={`${greek} of run ${label}`} data-step={w?.step ?? ''}>
      <h2>
        <span className="greek">{greek}</span> of run {label}
        <small>{w ? `step ${w.step}` : ''}</small>
      </h2>
      {panels ? (
        <Heatmap
          panels={panels}
          rowLabels={EDGE_NAMES}
          columns={columns}
          columnKind={which === 'alpha' ? 'op' : 'activation'}
          caption={`Softmax of ${greek}, run ${label}`}
          step={w!.step}
          domainMax={domainMax}
        />
      ) : (
        <p className="empty">
          {!w
            ? `Run ${label} stored no α/β.`
            : `Run ${label} (${run.mode}) has no β: each α column is an activation + op pair.`}
        </p>
      )}
    </section>
  );
}

/** B − A of the softmaxed final α or β, or the sentence saying why there is none. */
function DifferenceWeights({ c, which }: { c: RunComparison; which: 'alpha' | 'beta' }) {
  const diff: WeightDifference | null = which === 'alpha' ? c.alphaDifference : c.betaDifference;
  const note = which === 'alpha' ? c.alphaNote : c.betaNote;
  const greek = which === 'alpha' ? 'α' : 'β';
  const step = c.b.weights?.step ?? 0;
  const panels = useMemo<HeatmapPanel[] | null>(
    () =>
      diff && [
        { id: 'normal', title: 'Normal cell', values: diff.normal },
        { id: 'reduce', title: 'Reduction cell', values: diff.reduce },
      ],
    [diff],
  );
  // The columns are the same ops in A and B whenever there is a difference map.
  const columns = useMemo(() => (which === 'alpha' ? alphaColumns(c.b.mode) : BETA_COLUMNS), [which, c.b.mode]);
  const largest = diff?.largest;
  return (
    <section
      className="card weights difference"
      aria-label={`${greek} difference (B − A)`}
      data-step={diff ? step : ''}
      data-steps={`${c.a.weights?.step ?? ''},${c.b.weights?.step ?? ''}`}
    >
      <h2>
        <span className="greek">{greek}</span> difference
        <small>B − A</small>
      </h2>
      {panels && (
        <Heatmap
          panels={panels}
          rowLabels={EDGE_NAMES}
          columns={columns}
          columnKind={which === 'alpha' ? 'op' : 'activation'}
          caption={`Softmax of ${greek}: run B minus run A`}
          step={step}
          scale="difference"
        />
      )}
      {panels && (
        <p className="hint">
          Blue: A weighs it more; red: B does.{' '}
          {largest ? (
            <>
              Largest change: {largest.value > 0 ? '+' : largest.value < 0 ? '−' : ''}
              {formatNumber(Math.abs(largest.value), 4)}, {largest.cell === 'normal' ? 'normal' : 'reduction'} cell,{' '}
              <EdgeName name={EDGE_NAMES[largest.row]!} />, {columns[largest.col]}.
            </>
          ) : (
            'No change.'
          )}
        </p>
      )}
      {note && <p className={panels ? 'hint' : 'empty'}>{note}</p>}
    </section>
  );
}
