// What the line charts share (a search's curves, a re-training's, two runs' side by side): the
// panels' frame and axes, raw and smoothed lines, and the legend, so all three read the same way.
// Each chart keeps its own data, series and colours and calls these with plain values.
import * as d3 from 'd3';

/** A chart of two panels side by side, in viewBox units. */
export interface CurvesLayout {
  width: number;
  height: number;
  panelWidth: number;
  margin: { top: number; right: number; bottom: number; left: number };
}

/** The two small panels of a card (a search's and a re-training's curves). */
export const CARD_CURVES: CurvesLayout = {
  width: 480,
  height: 190,
  panelWidth: 215,
  margin: { top: 22, right: 8, bottom: 28, left: 40 },
};

/** Every chart's panels: loss (cross-entropy) and an accuracy. */
export type CurvePanelId = 'loss' | 'acc';

export interface CurvePanelFrame {
  id: CurvePanelId;
  title: string;
  /** Left edge of the panel in the chart. */
  x: number;
}

export type PanelGroup = d3.Selection<SVGGElement, unknown, null, undefined>;

export function plotSize(layout: CurvesLayout): { width: number; height: number } {
  const { panelWidth, height, margin: m } = layout;
  return { width: panelWidth - m.left - m.right, height: height - m.top - m.bottom };
}

/**
 * Empties the svg and draws each panel's frame (title, empty axes) and the x-axis label; `fill`
 * adds what the panel's draws update, and `emptyNote` a note shown while there is nothing.
 */
export function appendCurvePanels<P extends CurvePanelFrame>(
  el: SVGSVGElement,
  layout: CurvesLayout,
  panels: readonly P[],
  xLabel: string,
  fill: (g: PanelGroup, panel: P) => void,
  emptyNote?: string,
): void {
  const { margin: m } = layout;
  const plot = plotSize(layout);
  const svg = d3.select(el);
  svg.selectAll('*').remove();
  for (const p of panels) {
    const g = svg
      .append('g')
      .attr('class', `curve-panel ${p.id}`)
      .attr('transform', `translate(${p.x + m.left},${m.top})`);
    g.append('text').attr('class', 'curve-title').attr('x', 0).attr('y', -9).text(p.title);
    g.append('g').attr('class', 'x-axis').attr('transform', `translate(0,${plot.height})`);
    g.append('g').attr('class', 'y-axis');
    fill(g, p);
    if (emptyNote)
      g.append('text')
        .attr('class', 'curve-empty')
        .attr('x', plot.width / 2)
        .attr('y', plot.height / 2)
        .attr('text-anchor', 'middle')
        .text(emptyNote);
  }
  svg
    .append('text')
    .attr('class', 'curve-axis-label')
    .attr('x', layout.width / 2)
    .attr('y', layout.height - 2)
    .attr('text-anchor', 'middle')
    .text(xLabel);
}

/** A step domain that spans the steps and is never empty ([0, 1] while there are none). */
export function stepDomain(steps: readonly number[]): [number, number] {
  if (!steps.length) return [0, 1];
  const lo = Math.min(...steps);
  const hi = Math.max(...steps);
  return [Math.min(lo, hi - 1), Math.max(hi, lo + 1)];
}

/** The step scale of a panel (one for both panels, so a step is at the same x in each). */
export function stepScale(layout: CurvesLayout, domain: [number, number]): d3.ScaleLinear<number, number> {
  return d3
    .scaleLinear()
    .domain(domain)
    .range([0, plotSize(layout).width]);
}

/** The value scale of a panel: losses from 0 to their maximum, accuracies from 0 to 1. */
export function valueScale(layout: CurvesLayout, domain: [number, number]): d3.ScaleLinear<number, number> {
  return d3
    .scaleLinear()
    .domain(domain)
    .nice()
    .range([plotSize(layout).height, 0]);
}

/** Integer step ticks (a step axis never reads "200m" or "1.5"). */
export function stepTicks(domain: [number, number], count: number): number[] {
  const ticks = d3.ticks(domain[0], domain[1], count).filter(Number.isInteger);
  return ticks.length ? ticks : [Math.round(domain[0])];
}

/** A step as a tick reads: whole numbers ("1,500"), short from 10,000 on ("12k"). */
export function formatStepTick(step: d3.NumberValue): string {
  const n = Number(step);
  return Math.abs(n) >= 10_000 ? d3.format('~s')(n) : d3.format(',d')(n);
}

/** Draws a panel's axes: whole steps, losses with two decimals, accuracies in %. */
export function drawPanelAxes(
  g: d3.Selection<d3.BaseType, unknown, null, undefined>,
  panel: CurvePanelId,
  x: d3.ScaleLinear<number, number>,
  y: d3.ScaleLinear<number, number>,
  tickCount = 4,
): void {
  g.select<SVGGElement>('.x-axis').call(
    d3
      .axisBottom(x)
      .tickValues(stepTicks(x.domain() as [number, number], tickCount))
      .tickSizeOuter(0)
      .tickFormat(formatStepTick),
  );
  g.select<SVGGElement>('.y-axis').call(
    d3
      .axisLeft(y)
      .ticks(4)
      .tickSizeOuter(0)
      .tickFormat(panel === 'acc' ? d3.format('.0%') : d3.format('.2~f')),
  );
}

/** Beyond this many points a line draws an even sample (first and last kept): long runs stay cheap. */
const MAX_POINTS = 400;

export function thin<T>(points: T[]): T[] {
  if (points.length <= MAX_POINTS) return points;
  const stride = points.length / MAX_POINTS;
  const out: T[] = [];
  for (let i = 0; i < MAX_POINTS; i++) out.push(points[Math.floor(i * stride)]!);
  out.push(points[points.length - 1]!);
  return out;
}

/** A point of a curve: its step and the values of its series. */
export type StepPoint<K extends string> = { step: number } & Record<K, number>;

/** Exponential moving average (per-batch values are noisy; the faint raw line keeps them). */
function smoothed<K extends string>(points: readonly StepPoint<K>[], key: K): [number, number][] {
  const alpha = points.length > 50 ? 0.9 : 0.6;
  let s = NaN;
  return points.map((p) => {
    const v = p[key];
    if (Number.isFinite(v)) s = Number.isFinite(s) ? alpha * s + (1 - alpha) * v : v;
    return [p.step, s];
  });
}

/** The path of one series as recorded (gaps where a value is not finite). */
export function rawPath<K extends string>(
  points: readonly StepPoint<K>[],
  key: K,
  x: d3.ScaleLinear<number, number>,
  y: d3.ScaleLinear<number, number>,
): string {
  const line = d3
    .line<StepPoint<K>>()
    .defined((d) => Number.isFinite(d[key]))
    .x((d) => x(d.step))
    .y((d) => y(d[key]));
  return line(points) ?? '';
}

/** The path of one series smoothed. */
export function smoothPath<K extends string>(
  points: readonly StepPoint<K>[],
  key: K,
  x: d3.ScaleLinear<number, number>,
  y: d3.ScaleLinear<number, number>,
): string {
  const line = d3
    .line<[number, number]>()
    .defined((d) => Number.isFinite(d[1]))
    .x((d) => x(d[0]))
    .y((d) => y(d[1]));
  return line(smoothed(points, key)) ?? '';
}

/** A value for a scale's maximum: a missing (NaN) value counts as 0. */
export function finiteOr0(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

export interface LegendEntry {
  key: string;
  colour: string;
  text: string;
  /** Its data-run attribute (the compare view names runs "a" and "b"). */
  run?: string;
}

/** A colour swatch and text per series, and an optional muted note on how to read the lines. */
export function CurveLegend({ entries, note }: { entries: LegendEntry[]; note?: string }) {
  return (
    <div className="curve-legend">
      {entries.map((e) => (
        <span key={e.key} data-run={e.run}>
          <i style={{ background: e.colour }} />
          {e.text}
        </span>
      ))}
      {note && <span className="muted">{note}</span>}
    </div>
  );
}
