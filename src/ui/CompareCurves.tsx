// The compared runs' training curves on shared axes: loss (validation batch solid, train dashed;
// the axis spans the losses, not from 0) and accuracy (the batch accuracy solid; each run's
// validation accuracy, its held-out scorings, dashed with dots), one x scale (in steps) for
// both panels and every run, so a position means the same step in each run. The legend is part
// of the SVG, so a saved chart names its runs too. Fed plain points; D3 draws.
import { useEffect, useRef, type ReactNode } from 'react';
import * as d3 from 'd3';
import type { ComparedPoint } from '../store/compare';
import type { HeldOutEvaluation } from '../runs/format';
import { useDeferredDraw } from './deferred';
import { SaveChart } from './SaveChart';
import {
  formatStepTick,
  stepTicks,
  appendCurvePanels,
  drawPanelAxes,
  rawPath,
  smoothPath,
  stepScale,
  thin,
  valueScale,
  type CurvePanelFrame,
  type CurvesLayout,
} from './curves';

export interface ComparedCurve {
  id: string;
  /** "A", "B", … */
  letter: string;
  name: string;
  colour: string;
  points: ComparedPoint[];
  /** The run's held-out scorings (its validation accuracy), in step order. */
  heldOut: HeldOutEvaluation[];
}

export interface CompareCurvesProps {
  /** The card's heading, beside the save buttons. */
  title: ReactNode;
  runs: ComparedCurve[];
  /** The shared x domain, in steps. */
  stepDomain: [number, number];
}

/** Wider panels than a card's: the view spans the page. */
const LAYOUT: CurvesLayout = {
  width: 720,
  height: 210,
  panelWidth: 345,
  margin: { top: 22, right: 10, bottom: 30, left: 42 },
};
/** The legend under the panels: two runs a line while their labels fit half the width (10 px
 * text: about 60 characters), else one; longer labels are cut (the full one is the tooltip). */
const LEGEND_ROW = 16;
const HALF_WIDTH_CHARS = 58;
const FULL_WIDTH_CHARS = 120;

const labelOf = (r: ComparedCurve) => `${r.letter}: ${r.name}`;
function legendColumns(runs: ComparedCurve[]): number {
  return runs.every((r) => labelOf(r).length <= HALF_WIDTH_CHARS) ? 2 : 1;
}

type SeriesKey = 'trainLoss' | 'valLoss' | 'valAccuracy';
const PANELS: (CurvePanelFrame & { series: SeriesKey[] })[] = [
  { id: 'loss', title: 'Loss (cross-entropy)', series: ['valLoss', 'trainLoss'], x: 0 },
  { id: 'acc', title: 'Accuracy', series: ['valAccuracy'], x: LAYOUT.panelWidth + 30 },
];

function legendHeight(runs: ComparedCurve[]): number {
  return (Math.ceil(runs.length / legendColumns(runs)) + 1) * LEGEND_ROW + 6;
}

export function CompareCurves({ title, runs, stepDomain }: CompareCurvesProps) {
  const svgRef = useRef<SVGSVGElement>(null);
  const height = LAYOUT.height + legendHeight(runs);

  // Axes, one group per panel for the lines, and the legend's group; drawn into below.
  useEffect(() => {
    appendCurvePanels(svgRef.current!, LAYOUT, PANELS, 'search step', (g) => g.append('g').attr('class', 'lines'));
    d3.select(svgRef.current!)
      .append('g')
      .attr('class', 'compare-legend')
      .attr('transform', `translate(${LAYOUT.margin.left},${LAYOUT.height + 8})`);
  }, []);

  useDeferredDraw(() => {
    const el = svgRef.current;
    if (!el) return;
    const svg = d3.select(el);
    const x = stepScale(LAYOUT, stepDomain);
    const thinned = runs.map((r) => ({ ...r, points: thin(r.points) }));
    // The losses' own range, not from 0: runs' losses are close, and their gaps are the point.
    const losses = thinned.flatMap((r) => r.points.flatMap((p) => [p.trainLoss, p.valLoss])).filter(Number.isFinite);
    const [lo, hi] = losses.length ? (d3.extent(losses) as [number, number]) : [0, 1];
    const pad = Math.max(0.05, (hi - lo) * 0.05);
    const domains: Record<'loss' | 'acc', [number, number]> = { loss: [Math.max(0, lo - pad), hi + pad], acc: [0, 1] };
    for (const panel of PANELS) {
      const g = svg.select(`.curve-panel.${panel.id}`);
      const y = valueScale(LAYOUT, domains[panel.id]);
      drawPanelAxes(g, panel.id, x, y, 5);
      // Whole steps only: a short run's axis would otherwise read "500m" between steps.
      g.select<SVGGElement>('.x-axis').call(
        d3.axisBottom(x).tickValues(stepTicks(stepDomain, 5)).tickSizeOuter(0).tickFormat(formatStepTick),
      );
      // Redrawn whole: the runs (and so the lines) come and go.
      const lines = g.select<SVGGElement>('.lines');
      lines.selectAll('*').remove();
      for (const r of thinned)
        for (const key of panel.series) {
          const dash = key === 'trainLoss' ? '5 3' : null;
          lines
            .append('path')
            .attr('class', 'raw')
            .attr('stroke', r.colour)
            .attr('stroke-dasharray', dash)
            .attr('d', rawPath(r.points, key, x, y));
          lines
            .append('path')
            .attr('class', 'smooth')
            .attr('data-run', r.letter)
            .attr('data-run-id', r.id)
            .attr('data-series', key)
            .attr('data-points', r.points.length)
            .attr('stroke', r.colour)
            .attr('stroke-dasharray', dash)
            .attr('d', smoothPath(r.points, key, x, y));
        }
      if (panel.id !== 'acc') continue;
      const heldOutLine = d3
        .line<HeldOutEvaluation>()
        .x((e) => x(e.step))
        .y((e) => y(e.testAccuracy));
      for (const r of runs) {
        lines
          .append('path')
          .attr('class', 'held-out')
          .attr('data-run', r.letter)
          .attr('data-run-id', r.id)
          .attr('data-points', r.heldOut.length)
          .attr('stroke', r.colour)
          .attr('fill', 'none')
          .attr('d', heldOutLine(r.heldOut) ?? '');
        lines
          .append('g')
          .attr('class', 'held-out-dots')
          .attr('fill', r.colour)
          .selectAll('circle')
          .data(r.heldOut)
          .join('circle')
          .attr('r', 2.5)
          .attr('cx', (e) => x(e.step))
          .attr('cy', (e) => y(e.testAccuracy));
      }
    }
    drawLegend(svg.select<SVGGElement>('.compare-legend'), runs);
    el.setAttribute('data-x-domain', stepDomain.join(','));
  }, [runs, stepDomain]);

  return (
    <div className="compare-curves-chart">
      <div className="card-head">
        <h2>{title}</h2>
        <SaveChart svg={svgRef} name="compared-runs-curves" title="Curves of the compared runs" />
      </div>
      <svg
        ref={svgRef}
        viewBox={`0 0 ${LAYOUT.width} ${height}`}
        className="curves-svg"
        role="img"
        aria-label={`Loss, batch accuracy and validation (held-out) accuracy per step of runs ${runs.map((r) => r.letter).join(', ')}`}
      />
    </div>
  );
}

/** A swatch and "A: name" per run, then how to read the lines. */
function drawLegend(g: d3.Selection<SVGGElement, unknown, null, undefined>, runs: ComparedCurve[]): void {
  g.selectAll('*').remove();
  const columns = legendColumns(runs);
  const columnWidth = (LAYOUT.width - LAYOUT.margin.left) / columns;
  runs.forEach((r, i) => {
    const item = g
      .append('g')
      .attr('class', 'legend-run')
      .attr('data-run', r.letter)
      .attr('data-run-id', r.id)
      .attr('transform', `translate(${(i % columns) * columnWidth},${Math.floor(i / columns) * LEGEND_ROW})`);
    item.append('line').attr('x2', 16).attr('y1', 5).attr('y2', 5).attr('stroke', r.colour).attr('stroke-width', 3);
    const label = labelOf(r);
    item.append('title').text(label);
    item
      .append('text')
      .attr('class', 'legend-text')
      .attr('x', 22)
      .attr('y', 9)
      .text(label.length > FULL_WIDTH_CHARS ? `${label.slice(0, FULL_WIDTH_CHARS - 1)}…` : label);
  });
  g.append('text')
    .attr('class', 'legend-text muted')
    .attr('y', Math.ceil(runs.length / columns) * LEGEND_ROW + 9)
    .text(
      'solid: validation batch · dashed: train loss · dashed with dots: validation accuracy (held-out) · faint: per batch',
    );
}
