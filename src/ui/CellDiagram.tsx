// One derived cell as a DAG: inputs c_{k-2}, c_{k-1}, nodes 0–3 and the output c_{k} on a line,
// each kept edge an arc labelled "op · activation" (the geometry, and labels kept apart, in
// cell-layout.ts).
import { useEffect, useRef } from 'react';
import * as d3 from 'd3';
import type { GenotypeEdge } from '../search/genotype';
import { stateName } from './labels';
import { saveBlob, setSubscriptText, svgToFile, svgToPng } from './svg';
import { useDeferredDraw } from './deferred';
import { BASE_Y, H, LABEL_HEIGHT, R, W, edgeGeometry, edgeText, posX } from './cell-layout';

export interface CellDiagramProps {
  id: 'normal' | 'reduce';
  title: string;
  /** 8 entries, 2 per node (null before a run: the empty cell). */
  edges: GenotypeEdge[] | null;
  step: number | null;
  /** Prefix for the SVG marker ids, so several diagrams of one cell type can share a page. */
  markerScope?: string;
}

export const OP_COLOURS: Record<string, string> = {
  sep_conv_3x3: '#1f6fb2',
  sep_conv_5x5: '#3b8fd4',
  dil_conv_3x3: '#7b4bb7',
  dil_conv_5x5: '#9c6ad6',
  max_pool_3x3: '#8a5a00',
  avg_pool_3x3: '#b07a1a',
  skip_connect: '#2a8a4a',
  none: '#999',
};

const LABEL_FONT = '600 10.5px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const widthCache = new Map<string, number>();
let measureContext: CanvasRenderingContext2D | null = null;

/** Text width in px for a CSS font, from a 2D canvas (cached; a rough estimate without one). */
function textWidth(text: string, font: string): number {
  const key = font + '|' + text;
  const cached = widthCache.get(key);
  if (cached !== undefined) return cached;
  measureContext ??= document.createElement('canvas').getContext('2d');
  let w = text.length * 6;
  if (measureContext) {
    measureContext.font = font;
    w = measureContext.measureText(text).width;
  }
  widthCache.set(key, w);
  return w;
}

export function CellDiagram({ id, title, edges, step, markerScope = '' }: CellDiagramProps) {
  const markers = markerScope + id;
  const svgRef = useRef<SVGSVGElement>(null);
  const drawnKey = useRef<string | null>(null);
  // Redraw only when the cell itself changes (not on every snapshot).
  const edgesKey = edges ? edges.map(edgeText).join('|') + '|' + edges.map((e) => e.from).join(',') : '';

  // The fixed parts: markers, baseline, concat arcs, the 7 states.
  useEffect(() => {
    const svg = d3.select(svgRef.current!);
    svg.selectAll('*').remove();
    drawnKey.current = null;
    const defs = svg.append('defs');
    for (const [op, colour] of Object.entries(OP_COLOURS)) {
      defs
        .append('marker')
        .attr('id', `arrow-${markers}-${op}`)
        .attr('viewBox', '0 0 10 10')
        .attr('refX', 9)
        .attr('refY', 5)
        .attr('markerWidth', 7)
        .attr('markerHeight', 7)
        .attr('orient', 'auto-start-reverse')
        .append('path')
        .attr('d', 'M0,0 L10,5 L0,10 z')
        .attr('fill', colour);
    }
    defs
      .append('marker')
      .attr('id', `arrow-${markers}-concat`)
      .attr('viewBox', '0 0 10 10')
      .attr('refX', 9)
      .attr('refY', 5)
      .attr('markerWidth', 6)
      .attr('markerHeight', 6)
      .attr('orient', 'auto')
      .append('path')
      .attr('d', 'M0,0 L10,5 L0,10 z')
      .attr('fill', '#aaa');
    svg.append('rect').attr('width', W).attr('height', H).attr('fill', '#fff');
    svg
      .append('line')
      .attr('x1', posX(0))
      .attr('x2', posX(6))
      .attr('y1', BASE_Y)
      .attr('y2', BASE_Y)
      .attr('class', 'cell-baseline');

    // Output: every intermediate node is concatenated into c_{k} (small grey arcs below).
    const concat = svg.append('g').attr('class', 'cell-concat');
    for (let node = 0; node < 4; node++) {
      const sx = posX(node + 2);
      const tx = posX(6);
      const h = 8 + 5 * (3 - node);
      concat
        .append('path')
        .attr('d', `M${sx},${BASE_Y + R} C${sx},${BASE_Y + R + h} ${tx},${BASE_Y + R + h} ${tx - 4},${BASE_Y + R - 1}`)
        .attr('marker-end', `url(#arrow-${markers}-concat)`);
    }
    svg.append('g').attr('class', 'cell-edges');
    svg.append('g').attr('class', 'cell-labels');

    const nodes = svg.append('g').attr('class', 'cell-nodes');
    for (let pos = 0; pos <= 6; pos++) {
      const x = posX(pos);
      const kind = pos < 2 ? 'input' : pos === 6 ? 'output' : 'inner';
      const g = nodes.append('g').attr('class', `cell-node ${kind}`).attr('transform', `translate(${x},${BASE_Y})`);
      if (kind === 'inner') {
        g.append('circle').attr('r', R);
        g.append('text')
          .attr('text-anchor', 'middle')
          .attr('dy', '0.35em')
          .text(String(pos - 2));
      } else {
        g.append('rect')
          .attr('x', -R - 9)
          .attr('y', -R)
          .attr('width', 2 * R + 18)
          .attr('height', 2 * R)
          .attr('rx', 6);
        const t = g.append('text').attr('text-anchor', 'middle').attr('dy', '0.3em');
        setSubscriptText(t, pos === 0 ? 'c_{k-2}' : pos === 1 ? 'c_{k-1}' : 'c_{k}');
      }
    }
    svg
      .append('text')
      .attr('class', 'cell-empty')
      .attr('x', W / 2)
      .attr('y', 28)
      .attr('text-anchor', 'middle')
      .text('Edges appear when the search starts');
  }, [markers]);

  // The 8 kept edges, redrawn (in a task of their own) when the derived cell changes.
  useDeferredDraw(() => {
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const svg = d3.select(svgEl);
    if (drawnKey.current !== edgesKey) {
      drawnKey.current = edgesKey;
      drawEdges(svg, markers, edges);
    }
    svgEl.setAttribute('data-step', step === null ? '' : String(step));
  }, [edgesKey, markers, step]);

  const save = async (kind: 'png' | 'svg') => {
    const caption = `${title}${step !== null ? ` (step ${step})` : ''}`;
    const blob = kind === 'svg' ? svgToFile(svgRef.current!, caption) : await svgToPng(svgRef.current!, caption);
    saveBlob(blob, `${id === 'normal' ? 'normal' : 'reduction'}-cell${step !== null ? `-step${step}` : ''}.${kind}`);
  };

  return (
    <section className="card cell" aria-label={title} data-step={step ?? ''}>
      <div className="card-head">
        <h2>
          {title}
          <small>{step !== null ? `derived at step ${step}` : 'not searched yet'}</small>
        </h2>
        <span className="save-chart">
          <button
            type="button"
            className="small"
            onClick={() => void save('png')}
            disabled={!edges}
            title={`Save ${title.toLowerCase()} as PNG`}
          >
            Save PNG
          </button>
          <button
            type="button"
            className="small"
            onClick={() => void save('svg')}
            disabled={!edges}
            title={`Save ${title.toLowerCase()} as SVG`}
          >
            Save SVG
          </button>
        </span>
      </div>
      <svg ref={svgRef} className="cell-svg" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title} diagram`} />
    </section>
  );
}

function drawEdges(
  svg: d3.Selection<SVGSVGElement, unknown, null, undefined>,
  id: string,
  edges: GenotypeEdge[] | null,
): void {
  svg.select('.cell-empty').attr('display', edges ? 'none' : null);
  const edgeLayer = svg.select<SVGGElement>('g.cell-edges');
  const labelLayer = svg.select<SVGGElement>('g.cell-labels');
  edgeLayer.selectAll('*').remove();
  labelLayer.selectAll('*').remove();
  // Measured with a canvas (no layout pass), not getBBox: redraws stay cheap during a run.
  const geometry = edgeGeometry(edges ?? [], (text) => textWidth(text, LABEL_FONT));
  const labelYs = geometry.map((g) => g.labelY);
  for (const { edge: e, index: i, node, source, target, up, h, sign, label, width, labelY: ly } of geometry) {
    const sx = posX(source);
    const tx = posX(target);
    const y0 = BASE_Y + sign * (R - 2);
    const c = BASE_Y + sign * h * 1.33;
    const colour = OP_COLOURS[e.op] ?? '#444';
    const g = edgeLayer
      .append('g')
      .attr('class', 'cell-edge')
      .attr('data-edge', i)
      .attr('data-from', source)
      .attr('data-node', node)
      .attr('data-op', e.op)
      .attr('data-activation', e.activation ?? '')
      .attr('data-label', label);
    g.append('title').text(`${stateName(source)} → node ${node}: ${label}`);
    g.append('path')
      .attr('d', `M${sx + (up ? 3 : 3)},${y0} C${sx},${c} ${tx},${c} ${tx - 3},${y0}`)
      .attr('stroke', colour)
      .attr('fill', 'none')
      .attr('stroke-width', e.op === 'skip_connect' ? 1.6 : 2)
      .attr('stroke-dasharray', e.op === 'skip_connect' ? '5 3' : null)
      .attr('marker-end', `url(#arrow-${id}-${e.op})`);
    const lx = (sx + tx) / 2;
    const lg = labelLayer
      .append('g')
      .attr('class', 'cell-edge-label')
      .attr('data-label-for', i)
      .attr('transform', `translate(${lx},${ly})`);
    // A label moved off its arc's top is tied to it by a thin line.
    if (Math.abs(ly - (BASE_Y + sign * h)) > 0.5)
      lg.append('line')
        .attr('class', 'cell-label-leader')
        .attr('x1', 0)
        .attr('x2', 0)
        .attr('y1', 0)
        .attr('y2', BASE_Y + sign * h - ly)
        .attr('stroke', colour);
    const text = lg.append('text').attr('text-anchor', 'middle').attr('dy', '0.35em').attr('fill', colour);
    text.append('tspan').attr('class', 'op').text(e.op);
    if (e.activation) {
      text.append('tspan').attr('class', 'sep').text(' · ');
      text.append('tspan').attr('class', 'act').text(e.activation);
    }
    lg.insert('rect', 'text')
      .attr('x', -width / 2 - 4)
      .attr('y', -LABEL_HEIGHT / 2)
      .attr('width', width + 8)
      .attr('height', LABEL_HEIGHT)
      .attr('rx', 3)
      .attr('class', 'cell-label-bg')
      .attr('stroke', colour);
  }
  // Labels moved outward may pass the drawing's edge: the view grows to hold them.
  const top = Math.min(0, ...labelYs.map((y) => y - 10));
  const bottom = Math.max(H, ...labelYs.map((y) => y + 10));
  svg.attr('viewBox', `0 ${top} ${W} ${bottom - top}`);
}
