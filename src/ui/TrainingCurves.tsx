// Train/validation loss and the validation batch's accuracy per step (raw, faint; smoothed,
// solid), and the run's validation accuracy: its scorings on the held-out test images (dots). D3
// draws at most a few times a second, on at most a few hundred points.
import { useEffect, useRef } from 'react';
import * as d3 from 'd3';
import { useLab, type CurvePoint } from '../store/lab';
import type { HeldOutEvaluation } from '../runs/store';
import { useThrottledDraw } from './deferred';
import { CsvButton } from './CsvButton';
import { SaveChart } from './SaveChart';
import {
  CARD_CURVES,
  CurveLegend,
  appendCurvePanels,
  drawPanelAxes,
  finiteOr0,
  rawPath,
  smoothPath,
  stepDomain,
  stepScale,
  thin,
  valueScale,
  type CurvePanelFrame,
  type LegendEntry,
  type PanelGroup,
} from './curves';

const { width: W, height: H, panelWidth: PANEL_W } = CARD_CURVES;

const SERIES = {
  trainLoss: { colour: '#1f77b4', label: 'train loss' },
  valLoss: { colour: '#e4572e', label: 'val loss' },
  valAccuracy: { colour: '#8fbf9f', label: 'batch accuracy' },
} as const;
type Key = keyof typeof SERIES;
const HELD_OUT_COLOUR = '#1b6e37';

type Panel = CurvePanelFrame & { keys: Key[] };
const PANELS: Panel[] = [
  { id: 'loss', title: 'Loss (cross-entropy)', keys: ['trainLoss', 'valLoss'], x: 0 },
  { id: 'acc', title: 'Accuracy', keys: ['valAccuracy'], x: PANEL_W + 30 },
];

/** A panel's lines, a faint raw and a solid smoothed one per series; draw sets their points. */
function appendPaths(g: PanelGroup, panel: Panel): void {
  for (const k of panel.keys) {
    g.append('path').attr('class', `raw ${k}`).attr('stroke', SERIES[k].colour);
    g.append('path').attr('class', `smooth ${k}`).attr('stroke', SERIES[k].colour);
  }
  if (panel.id === 'acc') {
    g.append('path').attr('class', 'held-out').attr('stroke', HELD_OUT_COLOUR);
    g.append('g').attr('class', 'held-out-dots').attr('fill', HELD_OUT_COLOUR);
  }
}

/** The legend's words for the run's validation accuracy: its latest held-out scoring. */
export function heldOutText(e: HeldOutEvaluation | undefined): string {
  if (!e) return 'val accuracy (held-out): not scored yet';
  return `val accuracy (held-out ${e.testCount.toLocaleString('en-US')} images, step ${e.step}): ${(e.testAccuracy * 100).toFixed(1)}%`;
}

export function TrainingCurves() {
  const curve = useLab((s) => s.curve);
  const heldOut = useLab((s) => s.heldOut);
  const svgRef = useRef<SVGSVGElement>(null);

  useEffect(
    () => appendCurvePanels(svgRef.current!, CARD_CURVES, PANELS, 'search step', appendPaths, 'no steps yet'),
    [],
  );

  // Redrawn in a task of its own, at most a few times a second.
  useThrottledDraw(() => {
    if (svgRef.current) draw(svgRef.current, curve, heldOut);
  }, [curve, heldOut]);

  const last = curve[curve.length - 1];
  return (
    <section className="card curves" aria-label="Training curves" data-points={curve.length}>
      <div className="card-head">
        <h2>
          Training curves
          <small>{last ? `step ${last.step}` : ''}</small>
        </h2>
        <span className="card-actions">
          <CsvButton table="metrics" label="Download metrics (CSV)" />
          <SaveChart svg={svgRef} name="training-curves" title="Training curves" />
        </span>
      </div>
      <svg
        ref={svgRef}
        viewBox={`0 0 ${W} ${H}`}
        className="curves-svg"
        role="img"
        aria-label="Loss and accuracy per step"
      />
      <CurveLegend
        entries={(Object.keys(SERIES) as Key[])
          .map((k): LegendEntry => ({
            key: k,
            colour: SERIES[k].colour,
            text:
              SERIES[k].label +
              (last && Number.isFinite(last[k])
                ? `: ${k === 'valAccuracy' ? (last[k] * 100).toFixed(1) + '%' : last[k].toFixed(3)}`
                : ''),
          }))
          .concat([{ key: 'heldOut', colour: HELD_OUT_COLOUR, text: heldOutText(heldOut.at(-1)) }])}
        note="faint: per batch · solid: smoothed · dots: held-out scorings"
      />
    </section>
  );
}

function draw(el: SVGSVGElement, all: CurvePoint[], heldOut: HeldOutEvaluation[]): void {
  const svg = d3.select(el);
  const points = thin(all);
  const x = stepScale(CARD_CURVES, stepDomain(points.map((p) => p.step).concat(heldOut.map((e) => e.step))));
  svg.selectAll<SVGTextElement, unknown>('.curve-empty').attr('display', points.length ? 'none' : 'inline');
  const maxLoss = d3.max(points, (p) => Math.max(finiteOr0(p.trainLoss), finiteOr0(p.valLoss))) ?? 1;
  for (const p of PANELS) {
    const g = svg.select(`.curve-panel.${p.id}`);
    const y = valueScale(CARD_CURVES, p.id === 'loss' ? [0, Math.max(0.1, maxLoss)] : [0, 1]);
    drawPanelAxes(g, p.id, x, y);
    for (const k of p.keys) {
      g.select(`path.raw.${k}`).attr('d', rawPath(points, k, x, y));
      g.select(`path.smooth.${k}`).attr('d', smoothPath(points, k, x, y));
    }
    if (p.id !== 'acc') continue;
    const line = d3
      .line<HeldOutEvaluation>()
      .x((e) => x(e.step))
      .y((e) => y(e.testAccuracy));
    g.select('path.held-out').attr('d', line(heldOut) ?? '');
    g.select('.held-out-dots')
      .selectAll('circle')
      .data(heldOut)
      .join('circle')
      .attr('r', 2.5)
      .attr('cx', (e) => x(e.step))
      .attr('cy', (e) => y(e.testAccuracy));
  }
}
