// The α and β heatmap regions: normal and reduction cell side by side, the viewed snapshot.
import { useMemo } from 'react';
import { Heatmap, type HeatmapPanel } from './Heatmap';
import { alphaColumns, BETA_COLUMNS, EDGE_NAMES } from './labels';
import { keptMarks, useViewed } from './derived';

export function AlphaHeatmaps() {
  const { snapshot, config, genotype, live } = useViewed();
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
    <section className="card weights" aria-label="Operator weights (alpha)" data-step={snapshot.step} data-live={live}>
      <h2>
        Operator weights <span className="greek">α</span>
        <small>{live ? `step ${snapshot.step}` : 'uniform start'}</small>
      </h2>
      <Heatmap
        panels={panels}
        rowLabels={EDGE_NAMES}
        columns={columns}
        columnKind="op"
        caption="Softmax of α per edge"
        step={snapshot.step}
      />
      <p className="hint">Rows: the 14 edges (input → node). Outlined: the op each kept edge takes.</p>
    </section>
  );
}

export function BetaHeatmaps() {
  const { snapshot, config, genotype, live } = useViewed();
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
    <section className="card weights" aria-label="Activation weights (beta)" data-step={snapshot.step}>
      <h2>
        Activation weights <span className="greek">β</span>
        <small>{note}</small>
      </h2>
      {panels ? (
        <Heatmap
          panels={panels}
          rowLabels={EDGE_NAMES}
          columns={BETA_COLUMNS}
          columnKind="activation"
          caption="Softmax of β per edge"
          step={snapshot.step}
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
