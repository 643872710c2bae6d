// Train/validation loss and validation accuracy per step (raw, faint; smoothed, solid). D3 draws
// at most once per animation frame, on at most a few hundred points.
import { useEffect, useRef } from 'react';
import * as d3 from 'd3';
import { useLab, type CurvePoint } from '../store/lab';

const W = 480;
const H = 190;
const PANEL_W = 215;
const M = { top: 22, right: 8, bottom: 28, left: 40 };
const MAX_POINTS = 400;

const SERIES = {
  trainLoss: { colour: '#1f77b4', label: 'train loss' },
  valLoss: { colour: '#e4572e', label: 'val loss' },
  valAccuracy: { colour: '#2a8a4a', label: 'val accuracy' },
} as const;
type Key = keyof typeof SERIES;

function thin(points: CurvePoint[]): CurvePoint[] {
  if (points.length <= MAX_POINTS) return points;
  const stride = points.length / MAX_POINTS;
  const out: CurvePoint[] = [];
  for (let i = 0; i < MAX_POINTS; i++) out.push(points[Math.floor(i * stride)]!);
  out.push(points[points.length - 1]!);
  return out;
}

function ema(points: CurvePoint[], key: Key, alpha: number): [number, number][] {
  let s = NaN;
  return points.map((p) => {
    const v = p[key];
    if (Number.isFinite(v)) s = Number.isFinite(s) ? alpha * s + (1 - alpha) * v : v;
    return [p.step, s];
  });
}

export function TrainingCurves() {
  const curve = useLab((s) => s.curve);
  const svgRef = useRef<SVGSVGElement>(null);
  const lastDraw = useRef(0);
  const pending = useRef<number | null>(null);
  const latest = useRef(curve);

  useEffect(() => {
    const svg = d3.select(svgRef.current!);
    svg.selectAll('*').remove();
    const panels = [
      { id: 'loss', title: 'Loss (cross-entropy)', keys: ['trainLoss', 'valLoss'] as Key[], x: 0 },
      { id: 'acc', title: 'Validation accuracy', keys: ['valAccuracy'] as Key[], x: PANEL_W + 30 },
    ];
    for (const p of panels) {
      const g = svg.append('g').attr('class', `curve-panel ${p.id}`).attr('transform', `translate(${p.x + M.left},${M.top})`);
      g.append('text').attr('class', 'curve-title').attr('x', 0).attr('y', -9).text(p.title);
      g.append('g').attr('class', 'x-axis').attr('transform', `translate(0,${H - M.top - M.bottom})`);
      g.append('g').attr('class', 'y-axis');
      for (const k of p.keys) {
        g.append('path').attr('class', `raw ${k}`).attr('stroke', SERIES[k].colour);
        g.append('path').attr('class', `smooth ${k}`).attr('stroke', SERIES[k].colour);
      }
      g.append('text')
        .attr('class', 'curve-empty')
        .attr('x', (PANEL_W - M.left - M.right) / 2)
        .attr('y', (H - M.top - M.bottom) / 2)
        .attr('text-anchor', 'middle')
        .text('no steps yet');
    }
    svg
      .append('text')
      .attr('class', 'curve-axis-label')
      .attr('x', W / 2)
      .attr('y', H - 2)
      .attr('text-anchor', 'middle')
      .text('search step');
  }, []);

  // Redrawn in a task of its own, at most a few times a second.
  latest.current = curve;
  useEffect(() => {
    if (pending.current !== null) return; // the pending draw will read the latest points
    const wait = Math.max(0, lastDraw.current + 250 - performance.now());
    pending.current = window.setTimeout(() => {
      pending.current = null;
      lastDraw.current = performance.now();
      if (svgRef.current) draw(svgRef.current, latest.current);
    }, wait);
  }, [curve]);
  useEffect(
    () => () => {
      if (pending.current !== null) clearTimeout(pending.current);
      pending.current = null;
    },
    [],
  );

  const last = curve[curve.length - 1];
  return (
    <section className="card curves" aria-label="Training curves" data-points={curve.length}>
      <h2>
        Training curves
        <small>{last ? `step ${last.step}` : ''}</small>
      </h2>
      <svg ref={svgRef} viewBox={`0 0 ${W} ${H}`} className="curves-svg" role="img" aria-label="Loss and accuracy per step" />
      <div className="curve-legend">
        {(Object.keys(SERIES) as Key[]).map((k) => (
          <span key={k}>
            <i style={{ background: SERIES[k].colour }} />
            {SERIES[k].label}
            {last && Number.isFinite(last[k]) ? `: ${k === 'valAccuracy' ? (last[k] * 100).toFixed(1) + '%' : last[k].toFixed(3)}` : ''}
          </span>
        ))}
        <span className="muted">faint: per batch · solid: smoothed</span>
      </div>
    </section>
  );
}

function draw(el: SVGSVGElement, all: CurvePoint[]): void {
  const svg = d3.select(el);
  const points = thin(all);
  const innerW = PANEL_W - M.left - M.right;
  const innerH = H - M.top - M.bottom;
  const steps = d3.extent(points, (p) => p.step) as [number, number] | [undefined, undefined];
  const x = d3
    .scaleLinear()
    .domain(steps[0] === undefined ? [0, 1] : [Math.min(steps[0], steps[1]! - 1), Math.max(steps[1]!, steps[0] + 1)])
    .range([0, innerW]);
  svg.selectAll<SVGTextElement, unknown>('.curve-empty').attr('display', points.length ? 'none' : 'inline');
  const panels: { id: string; keys: Key[]; domain: [number, number]; format: (v: d3.NumberValue) => string }[] = [
    {
      id: 'loss',
      keys: ['trainLoss', 'valLoss'],
      domain: [0, Math.max(0.1, d3.max(points, (p) => Math.max(fin(p.trainLoss), fin(p.valLoss))) ?? 1)],
      format: d3.format('.2~f'),
    },
    { id: 'acc', keys: ['valAccuracy'], domain: [0, 1], format: d3.format('.0%') },
  ];
  for (const p of panels) {
    const g = svg.select(`.curve-panel.${p.id}`);
    const y = d3.scaleLinear().domain(p.domain).nice().range([innerH, 0]);
    g.select<SVGGElement>('.x-axis').call(d3.axisBottom(x).ticks(4).tickSizeOuter(0).tickFormat(d3.format('~s')));
    g.select<SVGGElement>('.y-axis').call(d3.axisLeft(y).ticks(4).tickSizeOuter(0).tickFormat(p.format));
    for (const k of p.keys) {
      const raw = d3
        .line<CurvePoint>()
        .defined((d) => Number.isFinite(d[k]))
        .x((d) => x(d.step))
        .y((d) => y(d[k]));
      g.select(`path.raw.${k}`).attr('d', raw(points) ?? '');
      const smooth = d3
        .line<[number, number]>()
        .defined((d) => Number.isFinite(d[1]))
        .x((d) => x(d[0]))
        .y((d) => y(d[1]));
      g.select(`path.smooth.${k}`).attr('d', smooth(ema(points, k, points.length > 50 ? 0.9 : 0.6)) ?? '');
    }
  }
}

function fin(v: number): number {
  return Number.isFinite(v) ? v : 0;
}
