// A re-training's curves: per step train loss and train accuracy (faint: per batch; solid:
// smoothed), and the test loss and accuracy at each scoring (dots joined by a line). Fed plain
// data; D3 redraws at most a few times a second.
import { useEffect, useRef } from 'react';
import * as d3 from 'd3';
import type { TrainCurvePoint } from '../store/lab';
import type { TrainEvaluation } from '../store/runs';

const W = 480;
const H = 190;
const PANEL_W = 215;
const M = { top: 22, right: 8, bottom: 28, left: 40 };
const MAX_POINTS = 400;

const COLOURS = { train: '#1f77b4', test: '#e4572e' } as const;

interface Props {
  curve: TrainCurvePoint[];
  evaluations: TrainEvaluation[];
}

function thin<T>(points: T[]): T[] {
  if (points.length <= MAX_POINTS) return points;
  const stride = points.length / MAX_POINTS;
  const out: T[] = [];
  for (let i = 0; i < MAX_POINTS; i++) out.push(points[Math.floor(i * stride)]!);
  out.push(points[points.length - 1]!);
  return out;
}

function ema(points: TrainCurvePoint[], key: 'trainLoss' | 'trainAccuracy', alpha: number): [number, number][] {
  let s = NaN;
  return points.map((p) => {
    const v = p[key];
    if (Number.isFinite(v)) s = Number.isFinite(s) ? alpha * s + (1 - alpha) * v : v;
    return [p.step, s];
  });
}

const PANELS = [
  { id: 'loss', title: 'Loss (cross-entropy)', train: 'trainLoss', test: 'testLoss', x: 0 },
  { id: 'acc', title: 'Accuracy', train: 'trainAccuracy', test: 'testAccuracy', x: PANEL_W + 30 },
] as const;

export function RetrainCurves({ curve, evaluations }: Props) {
  const svgRef = useRef<SVGSVGElement>(null);
  const lastDraw = useRef(0);
  const pending = useRef<number | null>(null);
  const latest = useRef({ curve, evaluations });

  useEffect(() => {
    const svg = d3.select(svgRef.current!);
    svg.selectAll('*').remove();
    for (const p of PANELS) {
      const g = svg.append('g').attr('class', `curve-panel ${p.id}`).attr('transform', `translate(${p.x + M.left},${M.top})`);
      g.append('text').attr('class', 'curve-title').attr('x', 0).attr('y', -9).text(p.title);
      g.append('g').attr('class', 'x-axis').attr('transform', `translate(0,${H - M.top - M.bottom})`);
      g.append('g').attr('class', 'y-axis');
      g.append('path').attr('class', 'raw train').attr('stroke', COLOURS.train);
      g.append('path').attr('class', 'smooth train').attr('stroke', COLOURS.train);
      g.append('path').attr('class', 'smooth test').attr('stroke', COLOURS.test);
      g.append('g').attr('class', 'test-points').attr('fill', COLOURS.test);
      g.append('text')
        .attr('class', 'curve-empty')
        .attr('x', (PANEL_W - M.left - M.right) / 2)
        .attr('y', (H - M.top - M.bottom) / 2)
        .attr('text-anchor', 'middle')
        .text('no steps yet');
    }
    svg.append('text').attr('class', 'curve-axis-label').attr('x', W / 2).attr('y', H - 2).attr('text-anchor', 'middle').text('training step');
  }, []);

  latest.current = { curve, evaluations };
  useEffect(() => {
    if (pending.current !== null) return; // the pending draw reads the latest points
    const wait = Math.max(0, lastDraw.current + 250 - performance.now());
    pending.current = window.setTimeout(() => {
      pending.current = null;
      lastDraw.current = performance.now();
      if (svgRef.current) draw(svgRef.current, latest.current.curve, latest.current.evaluations);
    }, wait);
  }, [curve, evaluations]);
  useEffect(
    () => () => {
      if (pending.current !== null) clearTimeout(pending.current);
      pending.current = null;
    },
    [],
  );

  return (
    <div className="retrain-curves">
      <svg
        ref={svgRef}
        viewBox={`0 0 ${W} ${H}`}
        className="curves-svg"
        role="img"
        aria-label="Re-training loss and accuracy per step, test scores as dots"
        data-points={curve.length}
        data-evaluations={evaluations.length}
      />
      <div className="curve-legend">
        <span>
          <i style={{ background: COLOURS.train }} />
          train (per batch, smoothed)
        </span>
        <span>
          <i style={{ background: COLOURS.test }} />
          test (each scoring)
        </span>
      </div>
    </div>
  );
}

function draw(el: SVGSVGElement, all: TrainCurvePoint[], evaluations: TrainEvaluation[]): void {
  const svg = d3.select(el);
  const points = thin(all);
  const innerW = PANEL_W - M.left - M.right;
  const innerH = H - M.top - M.bottom;
  const steps = [...points.map((p) => p.step), ...evaluations.map((e) => e.step)];
  const lo = steps.length ? Math.min(...steps) : 0;
  const hi = steps.length ? Math.max(...steps) : 1;
  const x = d3
    .scaleLinear()
    .domain([Math.min(lo, hi - 1), Math.max(hi, lo + 1)])
    .range([0, innerW]);
  svg.selectAll<SVGTextElement, unknown>('.curve-empty').attr('display', steps.length ? 'none' : 'inline');
  const fin = (v: number) => (Number.isFinite(v) ? v : 0);
  const maxLoss = Math.max(0.1, d3.max(points, (p) => fin(p.trainLoss)) ?? 1, d3.max(evaluations, (e) => fin(e.testLoss)) ?? 0);
  for (const p of PANELS) {
    const g = svg.select(`.curve-panel.${p.id}`);
    const y = d3
      .scaleLinear()
      .domain(p.id === 'loss' ? [0, maxLoss] : [0, 1])
      .nice()
      .range([innerH, 0]);
    g.select<SVGGElement>('.x-axis').call(d3.axisBottom(x).ticks(4).tickSizeOuter(0).tickFormat(d3.format('~s')));
    g.select<SVGGElement>('.y-axis').call(
      d3
        .axisLeft(y)
        .ticks(4)
        .tickSizeOuter(0)
        .tickFormat(p.id === 'loss' ? d3.format('.2~f') : d3.format('.0%')),
    );
    const raw = d3
      .line<TrainCurvePoint>()
      .defined((d) => Number.isFinite(d[p.train]))
      .x((d) => x(d.step))
      .y((d) => y(d[p.train]));
    g.select('path.raw.train').attr('d', raw(points) ?? '');
    const smooth = d3
      .line<[number, number]>()
      .defined((d) => Number.isFinite(d[1]))
      .x((d) => x(d[0]))
      .y((d) => y(d[1]));
    g.select('path.smooth.train').attr('d', smooth(ema(points, p.train, points.length > 50 ? 0.9 : 0.6)) ?? '');
    const test = d3
      .line<TrainEvaluation>()
      .x((d) => x(d.step))
      .y((d) => y(d[p.test]));
    g.select('path.smooth.test').attr('d', test(evaluations) ?? '');
    g.select('.test-points')
      .selectAll<SVGCircleElement, TrainEvaluation>('circle')
      .data(evaluations)
      .join('circle')
      .attr('r', 3)
      .attr('cx', (d) => x(d.step))
      .attr('cy', (d) => y(d[p.test]))
      .attr('data-step', (d) => d.step)
      .attr('data-value', (d) => d[p.test]);
  }
}
