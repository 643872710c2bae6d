// Up to 8 stored runs side by side (the paper's ablation: factorized vs a fixed activation vs
// non-factorized, or one setting varied): a summary, every run's curves on one axis, each run's
// derived cells and final α/β, and each run's difference X − R of the softmaxed weights against
// the reference run R the user picks, on a diverging scale. Every run's α heatmap shares one
// colour scale (the largest weight of any run), and so do the β heatmaps and the difference maps
// of a kind. The runs are read once from the run store (controller.compareStoredRuns); a new
// reference recomputes the differences from them.
import { useMemo, useRef, type ReactNode } from 'react';
import { closeComparison, setComparisonReference } from '../store/controller';
import { pointAt, type ComparedRun, type RunComparison, type RunDifference } from '../store/compare';
import { useComparison } from '../store/compare-state';
import { modeLabel } from '../store/setup';
import { CellDiagram } from './CellDiagram';
import { CompareCurves, type ComparedCurve } from './CompareCurves';
import { keptMarks } from './derived';
import { EdgeName, Heatmap, type HeatmapPanel } from './Heatmap';
import { alphaColumns, BETA_COLUMNS, EDGE_NAMES, formatNumber } from './labels';
import { SaveChart, useSvgWithin } from './SaveChart';

/** Each run's colour, by its place (A, B, …): in the curves, the legend and the summary's badges.
 * The difference maps keep their own diverging hues (blue: the reference weighs it more, red: the run). */
const RUN_COLOURS = ['#2166ac', '#c2410c', '#1b7837', '#7b3294', '#a16207', '#0f766e', '#be185d', '#4b5563'];

const colourOf = (run: ComparedRun, c: RunComparison) => RUN_COLOURS[c.runs.indexOf(run) % RUN_COLOURS.length]!;
const pct = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`;

export function CompareRuns() {
  const comparison = useComparison((s) => s.comparison);
  if (!comparison) return null;
  const { result, runIds, referenceId } = comparison;
  const reference = result?.runs.find((r) => r.id === referenceId);
  return (
    <section className="card compare" aria-label="Compare runs" aria-busy={result === null}>
      <div className="card-head">
        <h2>
          Compare runs
          <small>
            {runIds.length} runs{reference ? `, differences against ${reference.letter}` : ''}
          </small>
        </h2>
        <div className="buttons">
          {result && (
            <span className="reference-run">
              <label htmlFor="compare-reference-run">Reference run</label>
              <select
                id="compare-reference-run"
                value={referenceId}
                onChange={(e) => setComparisonReference(e.target.value)}
              >
                {result.runs.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.letter}: {r.name}
                  </option>
                ))}
              </select>
            </span>
          )}
          <button type="button" className="small" onClick={closeComparison}>
            Close comparison
          </button>
        </div>
      </div>
      {result ? <ComparisonBody c={result} /> : <p className="note">Reading the {runIds.length} runs…</p>}
    </section>
  );
}

function ComparisonBody({ c }: { c: RunComparison }) {
  const curves = useMemo<ComparedCurve[]>(
    () =>
      c.runs.map((run) => ({
        id: run.id,
        letter: run.letter,
        name: run.name,
        colour: colourOf(run, c),
        points: run.curve,
        heldOut: run.heldOut,
      })),
    // The runs stay when only the reference changes: the chart need not redraw.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [c.runs],
  );
  const reference = c.runs.find((r) => r.id === c.referenceId)!;
  return (
    <>
      <RunsSummary c={c} />
      {c.notes.map((n) => (
        <p key={n} className="note" role="note">
          {n}
        </p>
      ))}
      <section
        className="card compare-curves"
        aria-label="Curves of the compared runs"
        data-x-domain={c.stepDomain.join(',')}
      >
        <CompareCurves
          title={
            <>
              Training curves, all {c.runs.length} runs
              <small>{c.lastCommonStep !== null ? `step ${c.lastCommonStep} is the last all reached` : ''}</small>
            </>
          }
          runs={curves}
          stepDomain={c.stepDomain}
        />
      </section>
      <h3 className="compare-heading">Final α and β of each run</h3>
      {c.runs.map((run) => (
        <div className="weights-row" key={run.id}>
          <RunWeights run={run} which="alpha" domainMax={c.weightMax.alpha} />
          <RunWeights run={run} which="beta" domainMax={c.weightMax.beta} />
        </div>
      ))}
      <h3 className="compare-heading">
        Differences against the reference, run {reference.letter} ({reference.name})
      </h3>
      {c.differences.map((d) => {
        const run = c.runs.find((r) => r.id === d.runId)!;
        return (
          <div className="weights-row" key={d.runId}>
            <DifferenceWeights reference={reference} run={run} d={d} which="alpha" domainMax={c.differenceMax.alpha} />
            <DifferenceWeights reference={reference} run={run} d={d} which="beta" domainMax={c.differenceMax.beta} />
          </div>
        );
      })}
      <h3 className="compare-heading">Derived cells</h3>
      <div className="compare-cells">
        {c.runs.flatMap((run) =>
          (['normal', 'reduce'] as const).map((cell) => (
            <CellDiagram
              key={`${cell}-${run.id}`}
              id={cell}
              markerScope={`compare-${run.letter}-`}
              title={`Run ${run.letter} · ${cell === 'normal' ? 'normal' : 'reduction'}`}
              edges={run.genotype?.[cell] ?? null}
              step={run.weights?.step ?? run.steps}
            />
          )),
        )}
      </div>
    </>
  );
}

function RunsSummary({ c }: { c: RunComparison }) {
  const common = c.lastCommonStep;
  return (
    <>
      <table className="runs-table compare-summary">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Name</th>
            <th scope="col">Mode</th>
            <th scope="col">Data set</th>
            <th scope="col">Steps</th>
            <th scope="col" title="The latest scoring on the held-out test images">
              Val. acc.
            </th>
            <th scope="col">Best batch acc.</th>
            <th scope="col">Last batch acc.</th>
            {common !== null && <th scope="col">Batch acc. at step {common}</th>}
          </tr>
        </thead>
        <tbody>
          {c.runs.map((r) => (
            <tr key={r.id} data-run-id={r.id} data-reference={r.id === c.referenceId ? 'true' : undefined}>
              <th scope="row">
                <span className="run-badge" style={{ background: colourOf(r, c) }}>
                  {r.letter}
                </span>
                {r.id === c.referenceId && <small> reference</small>}
              </th>
              <td>{r.name}</td>
              <td title={modeLabel(r.mode)}>
                {r.mode}
                {r.mode === 'darts' && r.config ? ` · ${r.config.activation}` : ''}
              </td>
              <td>{r.datasetName}</td>
              <td>{r.steps}</td>
              <td
                data-held-out={r.validation?.testAccuracy ?? undefined}
                title={
                  r.validation ? `held-out: ${r.validation.testCount} images, at step ${r.validation.step}` : undefined
                }
              >
                {pct(r.validation?.testAccuracy)}
              </td>
              <td>{pct(r.bestValAccuracy)}</td>
              <td>{pct(r.finalValAccuracy)}</td>
              {common !== null && <td>{pct(pointAt(r.curve, common)?.valAccuracy)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      <ul className="hint compare-settings">
        {c.differences.map((d) => {
          const run = c.runs.find((r) => r.id === d.runId)!;
          const ref = c.runs.find((r) => r.id === c.referenceId)!;
          return (
            <li key={d.runId} data-run-id={d.runId}>
              {run.letter} against {ref.letter}:{' '}
              {d.configDifferences.length ? `${d.configDifferences.join('; ')}.` : 'the same settings.'}
            </li>
          );
        })}
      </ul>
    </>
  );
}

/** A card with a heatmap and its "Save PNG"/"Save SVG" buttons (the heatmap's own svg is saved). */
function HeatmapCard({
  label,
  title,
  className,
  fileName,
  data,
  children,
}: {
  label: string;
  title: ReactNode;
  className: string;
  fileName: string;
  data: Record<string, string | number>;
  children: ReactNode;
}) {
  const box = useRef<HTMLDivElement>(null);
  // The Heatmap owns its svg; this ref finds it when a button is pressed.
  const svg = useSvgWithin(box, '.heatmap svg');
  const dataAttributes = Object.fromEntries(Object.entries(data).map(([k, v]) => [`data-${k}`, v]));
  return (
    <section className={`card ${className}`} aria-label={label} {...dataAttributes}>
      <div className="card-head">
        <h2>{title}</h2>
        <SaveChart svg={svg} name={fileName} title={label} />
      </div>
      <div ref={box}>{children}</div>
    </section>
  );
}

/** One run's final α or β (normal and reduction cell), kept cells outlined, on the colour domain all runs share. */
function RunWeights({ run, which, domainMax }: { run: ComparedRun; which: 'alpha' | 'beta'; domainMax: number }) {
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
    <HeatmapCard
      label={`${greek} of run ${run.letter}`}
      className="weights"
      fileName={`${which}-run-${run.letter}`}
      data={{ step: w?.step ?? '', 'run-id': run.id }}
      title={
        <>
          <span className="greek">{greek}</span> of run {run.letter}
          <small>{w ? `step ${w.step}` : ''}</small>
        </>
      }
    >
      {panels ? (
        <Heatmap
          panels={panels}
          rowLabels={EDGE_NAMES}
          columns={columns}
          columnKind={which === 'alpha' ? 'op' : 'activation'}
          caption={`Softmax of ${greek}, run ${run.letter}`}
          step={w!.step}
          domainMax={domainMax}
        />
      ) : (
        <p className="empty">
          {!w
            ? `Run ${run.letter} stored no α/β.`
            : `Run ${run.letter} (${run.mode}) has no β: each α column is an activation + op pair.`}
        </p>
      )}
    </HeatmapCard>
  );
}

/** X − R of the softmaxed final α or β, or the sentence saying why there is none. */
function DifferenceWeights({
  reference: r,
  run: x,
  d,
  which,
  domainMax,
}: {
  reference: ComparedRun;
  run: ComparedRun;
  d: RunDifference;
  which: 'alpha' | 'beta';
  domainMax: number;
}) {
  const diff = which === 'alpha' ? d.alpha : d.beta;
  const note = which === 'alpha' ? d.alphaNote : d.betaNote;
  const greek = which === 'alpha' ? 'α' : 'β';
  const step = x.weights?.step ?? 0;
  const label = `${greek} difference (${x.letter} − ${r.letter})`;
  const panels = useMemo<HeatmapPanel[] | null>(
    () =>
      diff && [
        { id: 'normal', title: 'Normal cell', values: diff.normal },
        { id: 'reduce', title: 'Reduction cell', values: diff.reduce },
      ],
    [diff],
  );
  // The columns are the same ops in both runs whenever there is a difference map.
  const columns = useMemo(() => (which === 'alpha' ? alphaColumns(x.mode) : BETA_COLUMNS), [which, x.mode]);
  const largest = diff?.largest;
  return (
    <HeatmapCard
      label={label}
      className="weights difference"
      fileName={`${which}-difference-${x.letter}-minus-${r.letter}`}
      data={{
        step: diff ? step : '',
        steps: `${r.weights?.step ?? ''},${x.weights?.step ?? ''}`,
        'run-id': x.id,
        'reference-id': r.id,
      }}
      title={
        <>
          <span className="greek">{greek}</span> difference
          <small>
            {x.letter} − {r.letter}
          </small>
        </>
      }
    >
      {panels && (
        <Heatmap
          panels={panels}
          rowLabels={EDGE_NAMES}
          columns={columns}
          columnKind={which === 'alpha' ? 'op' : 'activation'}
          caption={`Softmax of ${greek}: run ${x.letter} minus run ${r.letter}`}
          step={step}
          scale="difference"
          domainMax={domainMax}
          legendTitle={`${x.letter} − ${r.letter}`}
        />
      )}
      {panels && (
        <p className="hint">
          Blue: {r.letter} weighs it more; red: {x.letter} does; every {greek} difference map has this scale.{' '}
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
    </HeatmapCard>
  );
}
