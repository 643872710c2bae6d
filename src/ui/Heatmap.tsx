// A pair of heatmaps (normal and reduction cell) of softmaxed architecture weights: 14 edge
// rows × candidate columns, one colour scale with a legend, a tooltip naming edge, candidate
// and value. Fed plain arrays; D3 draws inside the component. A cell's colour shows, by
// `scale`: its softmax weight; its deviation from uniform (w − 1/k, diverging around 0: a
// search's weights stay near 1/k for many steps, so this shows movement from the first steps);
// its rank within its edge; or, for two runs, the difference B − A (diverging around 0). The
// scale's top comes from the values drawn, unless domainMax gives it (the comparison view passes
// one top to run A's and run B's heatmaps, so a colour means the same weight in both). The
// values are reachable by keyboard: arrows move a cursor that reads its cell, Enter picks its row.
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
  /** What a colour shows (see the top of this file); 'weight' by default. */
  scale?: HeatmapScale;
  /**
   * The largest value the colour scale must cover (|value| for 'difference'), used instead of
   * the largest value in `panels`; rounded up to the same nice top. Left out: the panels' own.
   */
  domainMax?: number;
  /** The legend's title instead of the scale's (the comparison names its runs: "C − A"). */
  legendTitle?: string;
  /** The row picked (outlined label), and what picking a row (click, Enter) calls. */
  selectedRow?: { panel: 'normal' | 'reduce'; row: number } | null;
  onSelectRow?: (panel: 'normal' | 'reduce', row: number) => void;
}

export type HeatmapScale = 'weight' | 'deviation' | 'rank' | 'difference';

interface Hover {
  x: number;
  y: number;
  panel: string;
  edge: string;
  column: string;
  value: string;
}

/** A cell of the grid, addressed by panel index, row and column. */
export interface CellRef {
  p: number;
  r: number;
  k: number;
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
/** Diverging colours around uniform: purple below 1/k, white at it, green above. */
const deviationColour = (t: number) => d3.interpolatePRGn(t);
/** Rank 1 (the edge's strongest) brightest. */
const rankColour = (t: number) => d3.interpolateViridis(1 - t);

const LEGEND_TITLES: Record<HeatmapScale, string> = {
  weight: 'softmax weight',
  deviation: 'weight − 1/k',
  rank: 'rank in its edge (1: strongest)',
  difference: 'B − A',
};
const gradientOf = (scale: HeatmapScale): ((t: number) => string) =>
  scale === 'difference'
    ? differenceColour
    : scale === 'deviation'
      ? deviationColour
      : scale === 'rank'
        ? rankColour
        : d3.interpolateViridis;
const diverging = (scale: HeatmapScale) => scale === 'difference' || scale === 'deviation';

/** Each value's rank within its row (1: the largest; ties share the better rank). */
export function rowRanks(row: readonly number[]): number[] {
  return row.map((v) => 1 + row.filter((w) => w > v).length);
}

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

/**
 * What a cell's colour encodes (the shown value) and its colour: a weight sequential over
 * [0, top]; a deviation from 1/k or a difference diverging over ±top; a rank over 1..k.
 */
function colourScale(
  panels: HeatmapPanel[],
  scale: HeatmapScale,
  domainMax: number | undefined,
  columns: number,
): { top: number; shown: (p: number, r: number, k: number) => number | undefined; colour: (v: number) => string } {
  const uniform = 1 / Math.max(1, columns);
  const ranks = scale === 'rank' ? panels.map((p) => p.values.map((row) => rowRanks(row))) : null;
  const shown = (p: number, r: number, k: number): number | undefined => {
    const v = panels[p]?.values[r]?.[k];
    if (v === undefined) return undefined;
    if (scale === 'deviation') return v - uniform;
    if (scale === 'rank') return ranks![p]![r]![k];
    return v;
  };
  if (scale === 'rank') {
    const range = d3.scaleSequential(rankColour).domain([1, Math.max(2, columns)]);
    return { top: columns, shown, colour: (v) => range(v) };
  }
  let vmax = domainMax ?? 0;
  if (domainMax === undefined)
    panels.forEach((panel, p) =>
      panel.values.forEach((row, r) =>
        row.forEach((_, k) => {
          const v = shown(p, r, k)!;
          const magnitude = diverging(scale) ? Math.abs(v) : v;
          if (Number.isFinite(magnitude) && magnitude > vmax) vmax = magnitude;
        }),
      ),
    );
  // Differences and deviations after a few steps can be ~1e-3: a nice bound of their own size.
  const top = diverging(scale)
    ? vmax > 0
      ? d3.scaleLinear().domain([0, vmax]).nice().domain()[1]!
      : 1
    : vmax > 0
      ? niceCeil(vmax)
      : 1;
  const range = diverging(scale)
    ? d3.scaleDiverging(gradientOf(scale)).domain([-top, 0, top])
    : d3.scaleSequential(d3.interpolateViridis).domain([0, top]);
  return { top, shown, colour: (v) => range(v) };
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
  scale: HeatmapScale,
  legendTitle: string,
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
        .attr('class', 'hm-row-label')
        .attr('data-row', r)
        .attr('data-panel', many ? panels[p]!.id : 'all');
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
      .attr('stop-color', gradientOf(scale)(t)),
  );
  legend.append('rect').attr('width', 150).attr('height', 8).attr('fill', `url(#${legendId})`).attr('rx', 1);
  legend.append('g').attr('class', 'hm-legend-axis').attr('transform', 'translate(0,8)');
  legend.append('text').attr('class', 'hm-legend-title').attr('x', 158).attr('y', 8).text(legendTitle);
  // The keyboard cursor (hidden until the grid has focus).
  svg
    .append('rect')
    .attr('class', 'hm-cursor')
    .attr('width', layout.cellW - 1)
    .attr('height', CELL_H - 1)
    .attr('display', 'none');
  return rects;
}

/** Colours every cell and writes its value, what its colour shows, its raw value and whether the genotype keeps it. */
function paintCells(
  rects: SVGRectElement[][][],
  panels: HeatmapPanel[],
  shown: (p: number, r: number, k: number) => number | undefined,
  colour: (v: number) => string,
): void {
  panels.forEach((p, pi) => {
    rects[pi]?.forEach((row, r) =>
      row.forEach((rect, k) => {
        const v = p.values[r]?.[k];
        const s = shown(pi, r, k);
        const rawV = p.raw?.[r]?.[k];
        rect.setAttribute('fill', s === undefined || !Number.isFinite(s) ? '#ccc' : colour(s));
        rect.setAttribute('data-value', v === undefined ? '' : String(v));
        rect.setAttribute('data-shown', s === undefined ? '' : String(s));
        if (rawV !== undefined) rect.setAttribute('data-raw', String(rawV));
        const marked = p.marks?.has(`${r}:${k}`) ?? false;
        if (rect.classList.contains('hm-kept') !== marked) rect.classList.toggle('hm-kept', marked);
      }),
    );
  });
}

/** What the tooltip (and the keyboard's live text) says of a cell. */
function describeCell(rect: Element, scale: HeatmapScale, columns: number): { value: string; detail: string } {
  const value = Number(rect.getAttribute('data-value'));
  const raw = rect.getAttribute('data-raw');
  if (scale === 'difference') return { value: `${value > 0 ? '+' : ''}${formatNumber(value, 4)} (B − A)`, detail: '' };
  const row = [
    ...(rect.parentElement?.querySelectorAll(`rect.hm-cell[data-row="${rect.getAttribute('data-row')}"]`) ?? []),
  ].map((c) => Number(c.getAttribute('data-value')));
  const rank = 1 + row.filter((w) => w > value).length;
  const deviation = value - 1 / Math.max(1, columns);
  return {
    value: `${formatNumber(value, 4)}${raw !== null ? ` (raw ${formatNumber(Number(raw), 4)})` : ''}`,
    detail: `${deviation >= 0 ? '+' : ''}${formatNumber(deviation, 4)} from uniform · rank ${rank} of ${row.length}`,
  };
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
  legendTitle = LEGEND_TITLES[scale],
  selectedRow = null,
  onSelectRow,
}: HeatmapProps) {
  const svgRef = useRef<SVGSVGElement>(null);
  /** rects[panel][row][col], filled when the structure is drawn. */
  const rects = useRef<SVGRectElement[][][]>([]);
  const legendTop = useRef<string | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const [cursor, setCursor] = useState<CellRef | null>(null);
  const layout = heatmapLayout(columns, panels.length, rowLabels.length);
  // The structure's identity: it is redrawn when one of these changes, not on every snapshot.
  const shape = [
    columns.join('|'),
    panels.map((p) => p.id + p.title).join('|'),
    rowLabels.join('|'),
    scale,
    legendTitle,
  ].join('/');
  const select = useRef(onSelectRow);
  select.current = onSelectRow;

  /** The tooltip for a cell, placed at (x, y) in the svg's box. */
  const hoverOf = (rect: Element, x: number, y: number): Hover => {
    const r = Number(rect.getAttribute('data-row'));
    const k = Number(rect.getAttribute('data-col'));
    const { value, detail } = describeCell(rect, scale, columns.length);
    return {
      x,
      y,
      panel: panels.find((p) => p.id === rect.getAttribute('data-cell'))?.title ?? '',
      edge: rowLabels[r] ?? '',
      column: `${columnKind} ${columns[k]}`,
      value: detail ? `${value} · ${detail}` : value,
    };
  };

  useEffect(() => {
    const svg = d3.select(svgRef.current!);
    rects.current = drawStructure(
      svg,
      layout,
      panels,
      rowLabels,
      columns,
      `grad-${scale}-${columnKind}`,
      scale,
      legendTitle,
    );
    legendTop.current = null;
    // Pointer handling: one listener on the svg (cheaper than one per cell).
    svg.on('mousemove', (event: MouseEvent) => {
      const target = event.target as Element;
      if (!target.classList.contains('hm-cell')) {
        setHover(null);
        return;
      }
      const box = svgRef.current!.getBoundingClientRect();
      setHover(hoverOf(target, event.clientX - box.left, event.clientY - box.top));
    });
    svg.on('mouseleave', () => setHover(null));
    svg.on('click', (event: MouseEvent) => {
      const target = event.target as Element;
      const panel = target.getAttribute('data-cell') as 'normal' | 'reduce' | null;
      if (target.classList.contains('hm-cell') && panel)
        select.current?.(panel, Number(target.getAttribute('data-row')));
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the panels' values change every snapshot, the shape does not
  }, [shape]);

  // Values: recoloured on every snapshot, in a task of their own.
  useDeferredDraw(() => {
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const { top, shown, colour } = colourScale(panels, scale, domainMax, columns.length);
    paintCells(rects.current, panels, shown, colour);
    const legendKey = `${scale}:${top}`;
    if (legendTop.current !== legendKey) {
      legendTop.current = legendKey;
      drawLegendAxis(svgEl, scale, top);
    }
    markSelectedRow(svgEl, selectedRow);
    svgEl.setAttribute('data-step', String(step));
  }, [panels, step, columns.length, domainMax, scale, selectedRow?.panel, selectedRow?.row]);

  // The keyboard cursor: arrows move it over the cells, Enter or Space picks its row.
  const cursorRect = cursor ? rects.current[cursor.p]?.[cursor.r]?.[cursor.k] : undefined;
  useEffect(() => {
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const mark = d3.select(svgEl).select<SVGRectElement>('.hm-cursor');
    if (!cursorRect) {
      mark.attr('display', 'none');
      return;
    }
    const [x0, y0] = layout.origin(cursor!.p);
    mark
      .attr('display', null)
      .attr('x', x0 + Number(cursorRect.getAttribute('x')))
      .attr('y', y0 + layout.headerH + Number(cursorRect.getAttribute('y')));
  });
  const onKeyDown = (e: React.KeyboardEvent<SVGSVGElement>) => {
    const move: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
    };
    if (e.key in move) {
      e.preventDefault();
      const size = { panels: panels.length, rows: rowLabels.length, columns: columns.length };
      setCursor((c) => moveCursor(c, move[e.key]!, size));
    } else if ((e.key === 'Enter' || e.key === ' ') && cursor) {
      e.preventDefault();
      onSelectRow?.(panels[cursor.p]!.id, cursor.r);
    } else if (e.key === 'Escape') setCursor(null);
  };
  const cursorText = cursorRect ? hoverOf(cursorRect, 0, 0) : null;
  // The pointer's cell, else the keyboard cursor's (shown under the grid).
  const tooltip = hover ?? (cursorText ? { ...cursorText, x: 0, y: layout.height - 40 } : null);

  return (
    <div className="heatmap">
      <svg
        ref={svgRef}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        width={layout.width}
        height={layout.height}
        role="img"
        aria-label={caption}
        tabIndex={0}
        onKeyDown={onKeyDown}
        onFocus={() => setCursor((c) => c ?? { p: 0, r: 0, k: 0 })}
        onBlur={() => setCursor(null)}
      />
      {/* What the cursor's cell holds, read out as it moves. */}
      <p className="visually-hidden" aria-live="polite">
        {cursorText
          ? `${cursorText.panel}, ${rowLabels[cursor!.r]!.replace(/_\{([^}]*)\}/g, '$1')}, ${cursorText.column}: ${cursorText.value}`
          : ''}
      </p>
      {tooltip && <Tooltip hover={tooltip} />}
    </div>
  );
}

/** The legend's axis for the colour scale's range (0..top, ±top, or ranks 1..top). */
function drawLegendAxis(svgEl: SVGSVGElement, scale: HeatmapScale, top: number): void {
  const legendScale = d3
    .scaleLinear()
    .domain(scale === 'rank' ? [1, top] : diverging(scale) ? [-top, top] : [0, top])
    .range([0, 150]);
  const axis = d3
    .axisBottom(legendScale)
    .ticks(scale === 'rank' ? Math.min(4, top - 1) : 4)
    .tickSize(3)
    .tickFormat(
      scale === 'rank'
        ? d3.format('d')
        : diverging(scale)
          ? signed(legendScale.tickFormat(4, '+~g'))
          : d3.format('.2~f'),
    );
  d3.select(svgEl).select<SVGGElement>('.hm-legend-axis').call(axis);
}

/** Marks the picked edge's row label (in its panel, or in the labels shared by all panels). */
function markSelectedRow(svgEl: SVGSVGElement, selectedRow: { panel: string; row: number } | null): void {
  d3.select(svgEl)
    .selectAll<SVGTextElement, unknown>('.hm-row-label')
    .classed('hm-row-selected', function () {
      const panel = this.getAttribute('data-panel');
      return (
        selectedRow !== null &&
        Number(this.getAttribute('data-row')) === selectedRow.row &&
        (panel === 'all' || panel === selectedRow.panel)
      );
    });
}

/**
 * The keyboard cursor after an arrow key: rows clamp; past a panel's last column it enters the
 * next panel's first (and back); with no cursor yet it starts at the first cell.
 */
export function moveCursor(
  c: CellRef | null,
  [dr, dk]: [number, number],
  size: { panels: number; rows: number; columns: number },
): CellRef {
  if (!c) return { p: 0, r: 0, k: 0 };
  let { p, k } = c;
  const r = Math.max(0, Math.min(size.rows - 1, c.r + dr));
  k += dk;
  if (k >= size.columns && p < size.panels - 1) [p, k] = [p + 1, 0];
  else if (k < 0 && p > 0) [p, k] = [p - 1, size.columns - 1];
  k = Math.max(0, Math.min(size.columns - 1, k));
  return { p, r, k };
}

function Tooltip({ hover }: { hover: Hover }) {
  return (
    <div className="tooltip" style={{ left: hover.x + 14, top: hover.y + 10 }} role="tooltip">
      <div>
        {hover.panel}: <EdgeName name={hover.edge} />
      </div>
      <div>{hover.column}</div>
      <strong>{hover.value}</strong>
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
