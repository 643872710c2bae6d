// Two runs' training curves on shared axes: loss (validation solid, train dashed; the axis spans
// the losses, not from 0) and validation accuracy per step, one x scale (in steps) for both
// panels and both runs, so a curve's position means the same step in A and in B. Fed plain
// points; D3 draws.
import { useEffect, useRef } from 'react';
import * as d3 from 'd3';
import type { ComparedPoint } from '../store/compare';
import { useDeferredDraw } from './deferred';
import {
  CurveLegend,
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
  key: 'a' | 'b';
  /** "A" or "B". */
  label: string;
  name: string;
  colour: string;
  points: ComparedPoint[];
}

export interface CompareCurvesProps {
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

type SeriesKey = 'trainLoss' | 'valLoss' | 'valAccuracy';
const PANELS: (CurvePanelFrame & { series: SeriesKey[] })[] = [
  { id: 'loss', title: 'Loss (cross-entropy)', series: ['valLoss', 'trainLoss'], x: 0 },
  { id: 'acc', title: 'Validation accuracy', series: ['valAccuracy'], x: LAYOUT.panelWidth + 30 },
];

export function CompareCurves({ runs, stepDomain }: CompareCurvesProps) {
  const svgRef = useRef<SVGSVGElement>(null);

  // Axes and one group per panel; the lines are drawn below.
  useEffect(
    () =>
      appendCurvePanels(svgRef.current!, LAYOUT, PANELS, 'search step', (g) => g.append('g').attr('class', 'lines')),
    [],
  );

  useDeferredDraw(() => {
    const el = svgRef.current;
    if (!el) return;
    const svg = d3.select(el);
    const x = stepScale(LAYOUT, stepDomain);
    const thinned = runs.map((r) => ({ ...r, points: thin(r.points) }));
    // The losses' own range, not from 0: two runs' losses are close, and their gap is the point.
    const losses = thinned.flatMap((r) => r.points.flatMap((p) => [p.trainLoss, p.valLoss])).filter(Number.isFinite);
    const [lo, hi] = losses.length ? (d3.extent(losses) as [number, number]) : [0, 1];
    const pad = Math.max(0.05, (hi - lo) * 0.05);
    const domains: Record<'loss' | 'acc', [number, number]> = { loss: [Math.max(0, lo - pad), hi + pad], acc: [0, 1] };
    for (const panel of PANELS) {
      const g = svg.select(`.curve-panel.${panel.id}`);
      const y = valueScale(LAYOUT, domains[panel.id]);
      drawPanelAxes(g, panel.id, x, y, 5);
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
            .attr('data-run', r.key)
            .attr('data-series', key)
            .attr('data-points', r.points.length)
            .attr('stroke', r.colour)
            .attr('stroke-dasharray', dash)
            .attr('d', smoothPath(r.points, key, x, y));
        }
    }
    el.setAttribute('data-x-domain', stepDomain.join(','));
  }, [runs, stepDomain]);

  return (
    <div className="compare-curves-chart">
      <svg
        ref={svgRef}
        viewBox={`0 0 ${LAYOUT.width} ${LAYOUT.height}`}
        className="curves-svg"
        role="img"
        aria-label="Loss and validation accuracy of both runs per step"
      />
      <CurveLegend
        entries={runs.map((r) => ({ key: r.key, run: r.key, colour: r.colour, text: `${r.label}: ${r.name}` }))}
        note="solid: validation · dashed: train loss · faint: per batch"
      />
    </div>
  );
}
