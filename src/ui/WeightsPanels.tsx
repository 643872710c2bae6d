// The α and β heatmap regions: normal and reduction cell side by side, the viewed snapshot, in
// the colour scale the user picked; clicking a row (or Enter on it) picks the edge the time
// charts follow.
import { useId, useMemo, useRef } from 'react';
import { SaveChart, useSvgWithin } from './SaveChart';
import { Heatmap, type HeatmapPanel } from './Heatmap';
import { COLOUR_SCALES, COLOUR_SCALE_LABELS, useView, type ColourScale } from '../store/view';
import { alphaColumns, BETA_COLUMNS, EDGE_NAMES } from './labels';
import { keptMarks, useViewed } from './derived';

/** The "Colour scale" select the α and β heatmaps share. */
export function ColourScaleSelect() {
  const id = useId();
  const scale = useView((s) => s.colourScale);
  const setScale = useView((s) => s.setColourScale);
  return (
    <div className="colour-scale">
      <label htmlFor={id}>Colour scale</label>
      <select id={id} value={scale} onChange={(e) => setScale(e.target.value as ColourScale)}>
        {COLOUR_SCALES.map((s) => (
          <option key={s} value={s}>
            {COLOUR_SCALE_LABELS[s]}
          </option>
        ))}
      </select>
      <small>
        {scale === 'deviation'
          ? 'weight − 1/k: green above uniform, purple below (moves from the first steps)'
          : scale === 'rank'
            ? 'rank of each candidate within its edge (1: strongest)'
            : 'the softmax weight itself'}
      </small>
    </div>
  );
}

/** The heatmaps' colour scale and the edge picked for the time charts. */
function useHeatmapView() {
  const scale = useView((s) => s.colourScale);
  const chosen = useView((s) => s.chosenEdge);
  const chooseEdge = useView((s) => s.chooseEdge);
  return {
    scale,
    selectedRow: { panel: chosen.cell, row: chosen.edge },
    onSelectRow: (cell: 'normal' | 'reduce', edge: number) => chooseEdge({ cell, edge }),
  };
}

export function AlphaHeatmaps() {
  const box = useRef<HTMLElement>(null);
  const svg = useSvgWithin(box, '.heatmap svg');
  const { snapshot, config, genotype, live } = useViewed();
  const view = useHeatmapView();
  const columns = useMemo(() => alphaColumns(config.mode), [config.mode]);
  const panels = useMemo<HeatmapPanel[]>(() => {
    const marks = keptMarks(genotype, config);
    return [
      {
        id: 'normal',
        title: 'Normal cell',
        values: snapshot.alphaNormal,
        raw: snapshot.raw.alphaNormal,
        marks: marks.alpha.normal,
      },
      {
        id: 'reduce',
        title: 'Reduction cell',
        values: snapshot.alphaReduce,
        raw: snapshot.raw.alphaReduce,
        marks: marks.alpha.reduce,
      },
    ];
  }, [snapshot, genotype, config]);
  return (
    <section
      ref={box}
      className="card weights"
      aria-label="Operator weights (alpha)"
      data-step={snapshot.step}
      data-live={live}
    >
      <div className="card-head">
        <h2>
          Operator weights <span className="greek">α</span>
          <small>{live ? `step ${snapshot.step}` : 'uniform start'}</small>
        </h2>
        <SaveChart svg={svg} name={`alpha-step${snapshot.step}`} title="Operator weights (alpha)" />
      </div>
      <Heatmap
        panels={panels}
        rowLabels={EDGE_NAMES}
        columns={columns}
        columnKind="op"
        caption="Softmax of α per edge"
        step={snapshot.step}
        {...view}
      />
      <p className="hint">
        Rows: the 14 edges (input → node). Outlined: the op each kept edge takes. Click a row (or Enter on it) to follow
        that edge over time.
      </p>
    </section>
  );
}

export function BetaHeatmaps() {
  const box = useRef<HTMLElement>(null);
  const svg = useSvgWithin(box, '.heatmap svg');
  const { snapshot, config, genotype, live } = useViewed();
  const view = useHeatmapView();
  const panels = useMemo<HeatmapPanel[] | null>(() => {
    if (!snapshot.betaNormal || !snapshot.betaReduce) return null;
    const marks = keptMarks(genotype, config);
    return [
      {
        id: 'normal',
        title: 'Normal cell',
        values: snapshot.betaNormal,
        raw: snapshot.raw.betaNormal,
        marks: marks.beta.normal,
      },
      {
        id: 'reduce',
        title: 'Reduction cell',
        values: snapshot.betaReduce,
        raw: snapshot.raw.betaReduce,
        marks: marks.beta.reduce,
      },
    ];
  }, [snapshot, genotype, config]);
  const note =
    config.mode === 'darts'
      ? `fixed: ${config.activation}`
      : config.mode === 'fixed-beta'
        ? 'frozen'
        : config.mode === 'nonfactorized'
          ? 'none'
          : live
            ? `step ${snapshot.step}`
            : 'uniform start';
  return (
    <section ref={box} className="card weights" aria-label="Activation weights (beta)" data-step={snapshot.step}>
      <div className="card-head">
        <h2>
          Activation weights <span className="greek">β</span>
          <small>{note}</small>
        </h2>
        {panels && <SaveChart svg={svg} name={`beta-step${snapshot.step}`} title="Activation weights (beta)" />}
      </div>
      {panels ? (
        <Heatmap
          panels={panels}
          rowLabels={EDGE_NAMES}
          columns={BETA_COLUMNS}
          columnKind="activation"
          caption="Softmax of β per edge"
          step={snapshot.step}
          {...view}
        />
      ) : (
        <p className="empty">Non-factorized mode has no β: each of α’s 40 columns is an activation + conv op pair.</p>
      )}
      <p className="hint">
        {config.mode === 'factorized'
          ? 'One β row per edge, shared by its 4 conv ops. Outlined: the kept activation.'
          : config.mode === 'darts'
            ? 'darts mode keeps one fixed activation in front of every conv op.'
            : config.mode === 'fixed-beta'
              ? 'β is frozen (loaded from a file, or uniform).'
              : ''}
      </p>
    </section>
  );
}
