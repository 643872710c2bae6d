// A line chart against the search step: a line per series, a legend, and the replay cursor (a
// vertical line at the step the heatmaps show). Fed plain series; D3 draws inside. Each line
// carries its name and last value (data-series, data-last) for tests and scripts.
import { useRef, type ReactNode } from 'react';
import * as d3 from 'd3';
import type { Series } from './history';
import { useDeferredDraw } from './deferred';
import { SaveChart } from './SaveChart';
import { formatStepTick, stepTicks } from './curves';

const W = 480;
const H = 210;
const M = { top: 10, right: 120, bottom: 28, left: 56 };
/** Series named in the legend at most; the rest are drawn thin and unnamed (non-factorized has 40). */
const LEGEND_MAX = 10;

export interface TimeChartProps {
  /** The region's accessible name ("α over time"). */
  label: string;
  title: ReactNode;
  note?: ReactNode;
  series: Series[];
  /** A fixed value range, or the values' own (capped at `yMax`, e.g. an entropy's 100%). */
  yDomain: [number, number] | 'auto';
  yMax?: number;
  /** Tick labels: plain numbers or percentages, with as many digits as the range needs. */
  yKind: 'number' | 'percent';
  yLabel: string;
  /** The step the replay shows, or null when it follows the run. */
  cursorStep: number | null;
  /** A series drawn over the others, thick. */
  highlight?: string | null;
  empty: string;
  fileName: string;
  /** More buttons beside Save PNG / Save SVG. */
  actions?: ReactNode;
}

export function TimeChart(props: TimeChartProps) {
  const {
    label,
    title,
    note,
    series,
    yDomain,
    yMax = Infinity,
    yKind,
    yLabel,
    cursorStep,
    highlight = null,
    actions,
    empty,
    fileName,
  } = props;
  const svgRef = useRef<SVGSVGElement>(null);
  const points = series.reduce((n, s) => n + s.points.length, 0);
  useDeferredDraw(() => {
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const svg = d3.select(svgEl);
    svg.selectAll('*').remove();
    const plotW = W - M.left - M.right;
    const plotH = H - M.top - M.bottom;
    const g = svg.append('g').attr('transform', `translate(${M.left},${M.top})`);
    const steps = series.flatMap((s) => s.points.map((p) => p[0]));
    if (!steps.length) {
      g.append('text')
        .attr('class', 'curve-empty')
        .attr('x', plotW / 2)
        .attr('y', plotH / 2)
        .attr('text-anchor', 'middle')
        .text(empty);
      return;
    }
    const lo = d3.min(steps)!;
    const hi = Math.max(d3.max(steps)!, lo + 1);
    const x = d3.scaleLinear().domain([lo, hi]).range([0, plotW]);
    const values = series.flatMap((s) => s.points.map((p) => p[1]));
    const [vLo, vHi] = yDomain === 'auto' ? [d3.min(values)!, d3.max(values)!] : yDomain;
    const pad = yDomain === 'auto' ? Math.max((vHi - vLo) * 0.08, 1e-6) : 0;
    const y = d3
      .scaleLinear()
      .domain([vLo - pad, Math.min(vHi + pad, yMax)])
      .range([plotH, 0]);
    g.append('g')
      .attr('class', 'x-axis')
      .attr('transform', `translate(0,${plotH})`)
      .call(
        d3
          .axisBottom(x)
          .tickValues(stepTicks([lo, hi], 5))
          .tickFormat(formatStepTick)
          .tickSizeOuter(0),
      );
    g.append('g')
      .attr('class', 'y-axis')
      .call(
        d3
          .axisLeft(y)
          .ticks(4)
          .tickFormat(y.tickFormat(4, yKind === 'percent' ? '%' : undefined))
          .tickSizeOuter(0),
      );
    g.append('text')
      .attr('class', 'curve-axis-label')
      .attr('x', plotW / 2)
      .attr('y', plotH + 26)
      .attr('text-anchor', 'middle')
      .text('step');
    g.append('text')
      .attr('class', 'curve-axis-label')
      .attr('transform', `translate(-48,${plotH / 2}) rotate(-90)`)
      .attr('text-anchor', 'middle')
      .text(yLabel);
    // The legend names the series that end highest (and the highlighted one).
    const last = (s: Series) => s.points[s.points.length - 1]?.[1] ?? -Infinity;
    const named = new Set(
      [...series]
        .sort((a, b) => last(b) - last(a))
        .slice(0, LEGEND_MAX)
        .map((s) => s.name),
    );
    if (highlight) named.add(highlight);
    const colour = d3.scaleOrdinal<string, string>(d3.schemeTableau10).domain(series.map((s) => s.name));
    const line = d3
      .line<[number, number]>()
      .x((p) => x(p[0]))
      .y((p) => y(p[1]));
    const ordered = [...series].sort((a, b) => Number(a.name === highlight) - Number(b.name === highlight));
    for (const s of ordered) {
      const strong = s.name === highlight;
      g.append('path')
        .attr('class', `time-line${strong ? ' highlighted' : ''}`)
        .attr('d', line(s.points) ?? '')
        .attr('fill', 'none')
        .attr('stroke', named.has(s.name) ? colour(s.name) : '#bbb')
        .attr('stroke-width', strong ? 2.5 : named.has(s.name) ? 1.4 : 0.7)
        .attr('data-series', s.name)
        .attr('data-points', s.points.length)
        .attr('data-last', s.points.length ? String(last(s)) : '');
    }
    const legend = svg
      .append('g')
      .attr('class', 'time-legend')
      .attr('transform', `translate(${W - M.right + 8},${M.top})`);
    [...named].slice(0, LEGEND_MAX + 1).forEach((name, i) => {
      const item = legend.append('g').attr('transform', `translate(0,${i * 14})`);
      item
        .append('line')
        .attr('x2', 12)
        .attr('y1', 5)
        .attr('y2', 5)
        .attr('stroke', colour(name))
        .attr('stroke-width', name === highlight ? 3 : 2);
      item.append('text').attr('x', 16).attr('y', 8).attr('class', 'legend-text').text(name);
    });
    if (series.length > named.size)
      legend
        .append('text')
        .attr('y', named.size * 14 + 8)
        .attr('class', 'legend-text')
        .text(`+${series.length - named.size} more (grey)`);
    if (cursorStep !== null && cursorStep >= lo && cursorStep <= hi)
      g.append('line')
        .attr('class', 'replay-cursor')
        .attr('x1', x(cursorStep))
        .attr('x2', x(cursorStep))
        .attr('y1', 0)
        .attr('y2', plotH)
        .attr('data-step', cursorStep);
  }, [series, cursorStep, highlight, yDomain, yMax, yKind]);
  return (
    <section className="card time-chart" aria-label={label} data-points={points} data-cursor={cursorStep ?? ''}>
      <div className="card-head">
        <h2>{title}</h2>
        <span className="card-actions">
          {actions}
          <SaveChart svg={svgRef} name={fileName} title={label} />
        </span>
      </div>
      {note && <p className="hint">{note}</p>}
      <svg ref={svgRef} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label} chart`} />
    </section>
  );
}
