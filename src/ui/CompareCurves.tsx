// Two runs' training curves on shared axes: loss (validation solid, train dashed) and
// validation accuracy per step, one x scale (in steps) for both panels and both runs, so a
// curve's position means the same step in A and in B. Fed plain points; D3 draws.
import { useEffect, useRef } from 'react';
import * as d3 from 'd3';
import type { ComparedPoint } from '../store/compare';
import { useDeferredDraw } from './deferred';

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

const W = 720;
const H = 210;
const PANEL_W = 345;
const M = { top: 22, right: 10, bottom: 30, left: 42 };
const MAX_POINTS = 400;

type SeriesKey = 'trainLoss' | 'valLoss' | 'valAccuracy';
const PANELS: { id: 'loss' | 'acc'; title: string; series: SeriesKey[]; x: number }[] = [
  { id: 'loss', title: 'Loss (cross-entropy)', series: ['valLoss', 'trainLoss'], x: 0 },
  { id: 'acc', title: 'Validation accuracy', series: ['valAccuracy'], x: PANEL_W + 30 },
];

function thin(points: ComparedPoint[]): ComparedPoint[] {
  if (points.length <= MAX_POINTS) return points;
  const stride = points.length / MAX_POINTS;
  const out: ComparedPoint[] = [];
  for (let i = 0; i < MAX_POINTS; i++) out.push(points[Math.floor(i * stride)]!);
  out.push(points[points.length - 1]!);
  return out;
}

/** Exponential moving average (per-batch values are noisy; the faint line keeps them). */
function smoothed(points: ComparedPoint[], key: SeriesKey): [number, number][] {
  const alpha = points.length > 50 ? 0.9 : 0.6;
  let s = NaN;
  return points.map((p) => {
    const v = p[key];
    if (Number.isFinite(v)) s = Number.isFinite(s) ? alpha * s + (1 - alpha) * v : v;
    return [p.step, s];
  });
}

export function CompareCurves({ runs, stepDomain }: CompareCurvesProps) {
  const svgRef = useRef<SVGSVGElement>(null);

  // Axes and one group per panel; the lines are drawn below.
  useEffect(() => {
    const svg = d3.select(svgRef.current!);
    svg.selectAll('*').remove();
    for (const p of PANELS) {
      const g = svg.append('g').attr('class', `curve-panel ${p.id}`).attr('transform', `translate(${p.x + M.left},${M.top})`);
      g.append('text').attr('class', 'curve-title').attr('x', 0).attr('y', -9).text(p.title);
      g.append('g').attr('class', 'x-axis').attr('transform', `translate(0,${H - M.top - M.bottom})`);
      g.append('g').attr('class', 'y-axis');
      g.append('g').attr('class', 'lines');
    }
    svg.append('text').attr('class', 'curve-axis-label').attr('x', W / 2).attr('y', H - 2).attr('text-anchor', 'middle').text('search step');
  }, []);

  useDeferredDraw(() => {
    const el = svgRef.current;
    if (!el) return;
    const svg = d3.select(el);
    const innerW = PANEL_W - M.left - M.right;
    const innerH = H - M.top - M.bottom;
    const x = d3.scaleLinear().domain(stepDomain).range([0, innerW]);
    const thinned = runs.map((r) => ({ ...r, points: thin(r.points) }));
    const lossMax = d3.max(thinned, (r) => d3.max(r.points, (p) => Math.max(fin(p.trainLoss), fin(p.valLoss)))) ?? 1;
    const domains: Record<'loss' | 'acc', [number, number]> = { loss: [0, Math.max(0.1, lossMax)], acc: [0, 1] };
    for (const panel of PANELS) {
      const g = svg.select(`.curve-panel.${panel.id}`);
      const y = d3.scaleLinear().domain(domains[panel.id]).nice().range([innerH, 0]);
      g.select<SVGGElement>('.x-axis').call(d3.axisBottom(x).ticks(5).tickSizeOuter(0).tickFormat(d3.format('~s')));
      g.select<SVGGElement>('.y-axis').call(
        d3.axisLeft(y).ticks(4).tickSizeOuter(0).tickFormat(panel.id === 'acc' ? d3.format('.0%') : d3.format('.2~f')),
      );
      const lines = g.select<SVGGElement>('.lines');
      lines.selectAll('*').remove();
      for (const r of thinned)
        for (const key of panel.series) {
          const dash = key === 'trainLoss' ? '5 3' : null;
          const raw = d3
            .line<ComparedPoint>()
            .defined((d) => Number.isFinite(d[key]))
            .x((d) => x(d.step))
            .y((d) => y(d[key]));
          const smooth = d3
            .line<[number, number]>()
            .defined((d) => Number.isFinite(d[1]))
            .x((d) => x(d[0]))
            .y((d) => y(d[1]));
          lines.append('path').attr('class', 'raw').attr('stroke', r.colour).attr('stroke-dasharray', dash).attr('d', raw(r.points) ?? '');
          lines
            .append('path')
            .attr('class', 'smooth')
            .attr('data-run', r.key)
            .attr('data-series', key)
            .attr('data-points', r.points.length)
            .attr('stroke', r.colour)
            .attr('stroke-dasharray', dash)
            .attr('d', smoothed(r.points, key).length ? (smooth(smoothed(r.points, key)) ?? '') : '');
        }
    }
    el.setAttribute('data-x-domain', stepDomain.join(','));
  }, [runs, stepDomain]);

  return (
    <div className="compare-curves-chart">
      <svg ref={svgRef} viewBox={`0 0 ${W} ${H}`} className="curves-svg" role="img" aria-label="Loss and validation accuracy of both runs per step" />
      <div className="curve-legend">
        {runs.map((r) => (
          <span key={r.key} data-run={r.key}>
            <i style={{ background: r.colour }} />
            {r.label}: {r.name}
          </span>
        ))}
        <span className="muted">solid: validation · dashed: train loss · faint: per batch</span>
      </div>
    </div>
  );
}

function fin(v: number): number {
  return Number.isFinite(v) ? v : 0;
}
