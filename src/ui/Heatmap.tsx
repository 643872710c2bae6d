// A pair of heatmaps (normal and reduction cell) of softmaxed architecture weights: 14 edge
// rows × candidate columns, one colour scale with a legend, a tooltip naming edge, candidate
// and value. Fed plain arrays; D3 draws inside the component. With scale="difference" the
// values are differences of two runs' weights (B − A), on a diverging scale centred at 0.
// The scale's top comes from the values drawn, unless domainMax gives it (the comparison view
// passes one top to run A's and run B's heatmaps, so a colour means the same weight in both).
import { useEffect, useRef, useState } from 'react';
import * as d3 from 'd3';
import { EDGE_LIST } from '../search/space';
import { formatNumber, subscriptRuns } from './labels';
import { setSubscriptText } from './svg';
import { useDeferredDraw } from './deferred';

export interface HeatmapPanel {
  id: 'normal' | 'reduce';
  title: string;
  /** 14 rows of softmaxed weights. */
  values: number[][];
  /** Raw (pre-softmax) values, for the tooltip. */
  raw?: number[][] | null;
  /** "row:col" of cells the derived genotype keeps (outlined). */
  marks?: Set<string>;
}

export interface HeatmapProps {
  panels: HeatmapPanel[];
  rowLabels: string[];
  columns: string[];
  /** Shown in the tooltip: "op" or "activation". */
  columnKind: string;
  caption?: string;
  /** The snapshot's step: written to the svg (data-step) once its values are drawn. */
  step: number;
  /** 'weight' (default): values in [0, 1], sequential colours; 'difference': B − A, diverging. */
  scale?: 'weight' | 'difference';
  /**
   * The largest value the colour scale must cover (|value| for 'difference'), used instead of
   * the largest value in `panels`; rounded up to the same nice top. Left out: the panels' own.
   */
  domainMax?: number;
}

interface Hover {
  x: number;
  y: number;
  panel: string;
  edge: string;
  column: string;
  value: string;
}

const ROW_LABEL_W = 100;
const CELL_H = 15;
const GROUP_GAP = 5;
const LEGEND_H = 34;

function rowY(r: number): number {
  return r * CELL_H + EDGE_LIST[r]!.node * GROUP_GAP;
}

/** Diverging colours for B − A: blue where A weighs more, white at 0, red where B does. */
const differenceColour = (t: number) => d3.interpolateRdBu(1 - t);

/** Where everything of a heatmap sits: pure geometry from the columns, panels and rows. */
export interface HeatmapLayout {
  /** Many columns (non-factorized: 40): panels stacked, upright labels; else side by side. */
  many: boolean;
  cellW: number;
  angle: number;
  headerH: number;
  panelW: number;
  gridsH: number;
  width: number;
  height: number;
  /** The top-left corner of panel p. */
  origin(p: number): [number, number];
}

export function heatmapLayout(columns: string[], panelCount: number, rowCount: number): HeatmapLayout {
  const many = columns.length > 12;
  const cellW = many ? 17 : 16;
  const maxLabel = d3.max(columns, (c) => c.length) ?? 8;
  const angle = many ? 90 : 60;
  const rad = (angle * Math.PI) / 180;
  const labelLen = maxLabel * 6.2;
  const headerH = Math.ceil(labelLen * Math.sin(rad)) + 24;
  const panelW = columns.length * cellW;
  const gridH = rowY(rowCount - 1) + CELL_H;
  // Room on the right for the last column's slanted label.
  const overhang = Math.max(0, Math.ceil(labelLen * Math.cos(rad)) - cellW / 2);
  const panelGap = Math.max(14, overhang + 6);
  const stackGap = 10;
  const panelH = headerH + gridH;
  const width = many
    ? ROW_LABEL_W + panelW + 8
    : ROW_LABEL_W + panelCount * panelW + (panelCount - 1) * panelGap + Math.max(8, overhang);
  const gridsH = many ? panelCount * panelH + (panelCount - 1) * stackGap : panelH;
  return {
    many,
    cellW,
    angle,
    headerH,
    panelW,
    gridsH,
    width,
    height: gridsH + LEGEND_H + 8,
    origin: (p) => (many ? [ROW_LABEL_W, p * (panelH + stackGap)] : [ROW_LABEL_W + p * (panelW + panelGap), 0]),
  };
}

/** The colour of a value: sequential over [0, top] for weights, diverging over ±top for differences. */
function colourScale(
  panels: HeatmapPanel[],
  difference: boolean,
  domainMax: number | undefined,
): { top: number; colour: (v: number) => string } {
  let vmax = 0;
  if (domainMax !== undefined) vmax = domainMax;
  else
    for (const p of panels)
      for (const row of p.values)
        for (const v of row)
          if (Number.isFinite(v) && (difference ? Math.abs(v) : v) > vmax) vmax = difference ? Math.abs(v) : v;
  // Differences after a few steps can be ~1e-3: a nice bound of their own size, not a fixed one.
  const top = difference
    ? vmax > 0
      ? d3.scaleLinear().domain([0, vmax]).nice().domain()[1]!
      : 1
    : vmax > 0
      ? niceCeil(vmax)
      : 1;
  const scale = difference
    ? d3.scaleDiverging(differenceColour).domain([-top, 0, top])
    : d3.scaleSequential(d3.interpolateViridis).domain([0, top]);
  return { top, colour: (v) => scale(v) };
}

type Svg = d3.Selection<SVGSVGElement, unknown, null, undefined>;

/** Row labels, each panel's title, column labels and cells (returned as rects[panel][row][col]), and the legend. */
function drawStructure(
  svg: Svg,
  layout: HeatmapLayout,
  panels: HeatmapPanel[],
  rowLabels: string[],
  columns: string[],
  legendId: string,
  difference: boolean,
): SVGRectElement[][][] {
  const { many, cellW, angle, headerH, panelW } = layout;
  svg.selectAll('*').remove();
  for (let p = 0; p < (many ? panels.length : 1); p++) {
    const rows = svg
      .append('g')
      .attr('class', 'row-labels')
      .attr('transform', `translate(0,${layout.origin(p)[1] + headerH})`);
    rowLabels.forEach((label, r) => {
      const t = rows
        .append('text')
        .attr('x', ROW_LABEL_W - 6)
        .attr('y', rowY(r) + CELL_H / 2)
        .attr('dy', '0.35em')
        .attr('text-anchor', 'end')
        .attr('class', 'hm-row-label');
      setSubscriptText(t, label);
    });
  }
  const rects = panels.map((panel, p) => {
    const [x0, y0] = layout.origin(p);
    const g = svg
      .append('g')
      .attr('class', 'hm-panel')
      .attr('data-panel', panel.id)
      .attr('transform', `translate(${x0},${y0})`);
    g.append('text')
      .attr('class', 'hm-panel-title')
      .attr('x', many ? -ROW_LABEL_W : panelW / 2)
      .attr('y', 11)
      .attr('text-anchor', many ? 'start' : 'middle')
      .text(panel.title);
    const header = g.append('g').attr('transform', `translate(0,${headerH - 4})`);
    columns.forEach((c, k) => {
      header
        .append('text')
        .attr('class', 'hm-col-label')
        .attr('transform', `translate(${k * cellW + cellW / 2 + (many ? 4 : 3)},0) rotate(${-angle})`)
        .attr('text-anchor', 'start')
        .text(c);
    });
    const grid = g.append('g').attr('class', 'hm-grid').attr('transform', `translate(0,${headerH})`);
    return rowLabels.map((_, r) =>
      columns.map((column, k) =>
        grid
          .append('rect')
          .attr('class', 'hm-cell')
          .attr('data-cell', panel.id)
          .attr('data-row', r)
          .attr('data-col', k)
          .attr('data-op', column)
          .attr('x', k * cellW)
          .attr('y', rowY(r))
          .attr('width', cellW - 1)
          .attr('height', CELL_H - 1)
          .node()!,
      ),
    );
  });
  const legend = svg
    .append('g')
    .attr('class', 'hm-legend')
    .attr('transform', `translate(${ROW_LABEL_W},${layout.gridsH + 10})`);
  const grad = svg.append('defs').append('linearGradient').attr('id', legendId);
  d3.range(0, 1.0001, 0.1).forEach((t) =>
    grad
      .append('stop')
      .attr('offset', `${t * 100}%`)
      .attr('stop-color', difference ? differenceColour(t) : d3.interpolateViridis(t)),
  );
  legend.append('rect').attr('width', 150).attr('height', 8).attr('fill', `url(#${legendId})`).attr('rx', 1);
  legend.append('g').attr('class', 'hm-legend-axis').attr('transform', 'translate(0,8)');
  legend
    .append('text')
    .attr('class', 'hm-legend-title')
    .attr('x', 158)
    .attr('y', 8)
    .text(difference ? 'B − A' : 'softmax weight');
  return rects;
}

/** Colours every cell and writes its value (and raw value) and whether the genotype keeps it. */
function paintCells(rects: SVGRectElement[][][], panels: HeatmapPanel[], colour: (v: number) => string): void {
  panels.forEach((p, pi) => {
    rects[pi]?.forEach((row, r) =>
      row.forEach((rect, k) => {
        const v = p.values[r]?.[k];
        const rawV = p.raw?.[r]?.[k];
        rect.setAttribute('fill', v === undefined || !Number.isFinite(v) ? '#ccc' : colour(v));
        rect.setAttribute('data-value', v === undefined ? '' : String(v));
        if (rawV !== undefined) rect.setAttribute('data-raw', String(rawV));
        const marked = p.marks?.has(`${r}:${k}`) ?? false;
        if (rect.classList.contains('hm-kept') !== marked) rect.classList.toggle('hm-kept', marked);
      }),
    );
  });
}

export function Heatmap({
  panels,
  rowLabels,
  columns,
  columnKind,
  caption,
  step,
  scale = 'weight',
  domainMax,
}: HeatmapProps) {
  const difference = scale === 'difference';
  const svgRef = useRef<SVGSVGElement>(null);
  /** rects[panel][row][col], filled when the structure is drawn. */
  const rects = useRef<SVGRectElement[][][]>([]);
  const legendTop = useRef<number | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const layout = heatmapLayout(columns, panels.length, rowLabels.length);
  // The structure's identity: it is redrawn when one of these changes, not on every snapshot.
  const shape = [columns.join('|'), panels.map((p) => p.id + p.title).join('|'), rowLabels.join('|'), difference].join(
    '/',
  );

  useEffect(() => {
    const svg = d3.select(svgRef.current!);
    rects.current = drawStructure(
      svg,
      layout,
      panels,
      rowLabels,
      columns,
      `grad-${difference ? 'diff-' : ''}${columnKind}`,
      difference,
    );
    legendTop.current = null;
    // Pointer handling: one listener on the svg (cheaper than one per cell).
    svg.on('mousemove', (event: MouseEvent) => {
      const target = event.target as Element;
      if (!target.classList.contains('hm-cell')) {
        setHover(null);
        return;
      }
      const r = Number(target.getAttribute('data-row'));
      const k = Number(target.getAttribute('data-col'));
      const value = Number(target.getAttribute('data-value'));
      const raw = target.getAttribute('data-raw');
      const box = svgRef.current!.getBoundingClientRect();
      setHover({
        x: event.clientX - box.left,
        y: event.clientY - box.top,
        panel: panels.find((p) => p.id === target.getAttribute('data-cell'))?.title ?? '',
        edge: rowLabels[r] ?? '',
        column: `${columnKind} ${columns[k]}`,
        value: difference
          ? `${value > 0 ? '+' : ''}${formatNumber(value, 4)} (B − A)`
          : `${formatNumber(value, 4)}${raw !== null ? ` (raw α/β ${formatNumber(Number(raw), 4)})` : ''}`,
      });
    });
    svg.on('mouseleave', () => setHover(null));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the panels' values change every snapshot, the shape does not
  }, [shape]);

  // Values: recoloured on every snapshot, in a task of their own.
  useDeferredDraw(() => {
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const { top, colour } = colourScale(panels, difference, domainMax);
    paintCells(rects.current, panels, colour);
    if (legendTop.current !== top) {
      legendTop.current = top;
      const legendScale = d3
        .scaleLinear()
        .domain(difference ? [-top, top] : [0, top])
        .range([0, 150]);
      const axis = d3
        .axisBottom(legendScale)
        .ticks(4)
        .tickSize(3)
        .tickFormat(difference ? signed(legendScale.tickFormat(4, '+~g')) : d3.format('.2~f'));
      d3.select(svgEl).select<SVGGElement>('.hm-legend-axis').call(axis);
    }
    svgEl.setAttribute('data-step', String(step));
  }, [panels, step, columns.length, domainMax]);

  return (
    <div className="heatmap">
      <svg
        ref={svgRef}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        width={layout.width}
        height={layout.height}
        role="img"
        aria-label={caption}
      />
      {hover && (
        <div className="tooltip" style={{ left: hover.x + 14, top: hover.y + 10 }} role="tooltip">
          <div>
            {hover.panel}: <EdgeName name={hover.edge} />
          </div>
          <div>{hover.column}</div>
          <strong>{hover.value}</strong>
        </div>
      )}
    </div>
  );
}

/** A tick format with an explicit sign, and a plain 0 at the centre. */
function signed(format: (v: d3.NumberValue) => string): (v: d3.NumberValue) => string {
  return (v) => (Number(v) === 0 ? '0' : format(v));
}

function niceCeil(v: number): number {
  const steps = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1];
  return steps.find((s) => s >= v - 1e-9) ?? 1;
}

/** "c_{k-1} → node 2" with a real subscript. */
export function EdgeName({ name }: { name: string }) {
  return (
    <>
      {subscriptRuns(name).map((run, i) => (run.sub ? <sub key={i}>{run.text}</sub> : <span key={i}>{run.text}</span>))}
    </>
  );
}
