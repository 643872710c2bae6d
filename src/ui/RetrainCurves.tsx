// A re-training's curves: per step train loss and train accuracy (faint: per batch; solid:
// smoothed), and the test loss and accuracy at each scoring (dots joined by a line). Fed plain
// data; D3 redraws at most a few times a second.
import { useEffect, useRef } from 'react';
import * as d3 from 'd3';
import type { TrainCurvePoint } from '../store/lab';
import type { TrainEvaluation } from '../runs/store';
import { useThrottledDraw } from './deferred';
import { CsvButton } from './CsvButton';
import { SaveChart } from './SaveChart';
import {
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
  type CurvesLayout,
  type PanelGroup,
} from './curves';

/** As wide as the two runs' chart: the region spans the page, so the panels get room to show the steps. */
const LAYOUT: CurvesLayout = {
  width: 720,
  height: 210,
  panelWidth: 345,
  margin: { top: 22, right: 10, bottom: 30, left: 42 },
};
const { width: W, height: H, panelWidth: PANEL_W } = LAYOUT;

const COLOURS = { train: '#1f77b4', test: '#e4572e' } as const;

interface Props {
  curve: TrainCurvePoint[];
  evaluations: TrainEvaluation[];
  /** The auxiliary head's loss weight when the head is on: the train loss includes it, the test loss does not. */
  auxiliaryWeight?: number | null;
  /** The stored re-training (its metrics download as CSV), or null. */
  runId?: string | null;
}

const PANELS = [
  { id: 'loss', title: 'Loss (cross-entropy)', train: 'trainLoss', test: 'testLoss', x: 0 },
  { id: 'acc', title: 'Accuracy', train: 'trainAccuracy', test: 'testAccuracy', x: PANEL_W + 30 },
] as const;

/** A panel's train line (faint raw, solid smoothed) and its test scores; draw sets their points. */
function appendPaths(g: PanelGroup): void {
  g.append('path').attr('class', 'raw train').attr('stroke', COLOURS.train);
  g.append('path').attr('class', 'smooth train').attr('stroke', COLOURS.train);
  g.append('path').attr('class', 'smooth test').attr('stroke', COLOURS.test);
  g.append('g').attr('class', 'test-points').attr('fill', COLOURS.test);
}

export function RetrainCurves({ curve, evaluations, auxiliaryWeight = null, runId = null }: Props) {
  const svgRef = useRef<SVGSVGElement>(null);

  useEffect(() => appendCurvePanels(svgRef.current!, LAYOUT, PANELS, 'training step', appendPaths, 'no steps yet'), []);

  useThrottledDraw(() => {
    if (svgRef.current) draw(svgRef.current, curve, evaluations);
  }, [curve, evaluations]);

  return (
    <div className="retrain-curves">
      <div className="card-actions">
        <CsvButton table="metrics" label="Download metrics (CSV)" runId={runId} />
        <SaveChart svg={svgRef} name="retraining-curves" title="Re-training curves" />
      </div>
      <svg
        ref={svgRef}
        viewBox={`0 0 ${W} ${H}`}
        className="curves-svg"
        role="img"
        aria-label="Re-training loss and accuracy per step, test scores as dots"
        data-points={curve.length}
        data-evaluations={evaluations.length}
      />
      <CurveLegend
        entries={[
          { key: 'train', colour: COLOURS.train, text: 'train (per batch, smoothed)' },
          { key: 'test', colour: COLOURS.test, text: 'test (each scoring)' },
        ]}
        note={
          auxiliaryWeight
            ? `train loss includes ${auxiliaryWeight} × the auxiliary head’s; test loss is the network’s alone`
            : undefined
        }
      />
    </div>
  );
}

function draw(el: SVGSVGElement, all: TrainCurvePoint[], evaluations: TrainEvaluation[]): void {
  const svg = d3.select(el);
  const points = thin(all);
  const steps = [...points.map((p) => p.step), ...evaluations.map((e) => e.step)];
  const x = stepScale(LAYOUT, stepDomain(steps));
  svg.selectAll<SVGTextElement, unknown>('.curve-empty').attr('display', steps.length ? 'none' : 'inline');
  const maxLoss = Math.max(
    0.1,
    d3.max(points, (p) => finiteOr0(p.trainLoss)) ?? 1,
    d3.max(evaluations, (e) => finiteOr0(e.testLoss)) ?? 0,
  );
  for (const p of PANELS) {
    const g = svg.select(`.curve-panel.${p.id}`);
    const y = valueScale(LAYOUT, p.id === 'loss' ? [0, maxLoss] : [0, 1]);
    drawPanelAxes(g, p.id, x, y);
    g.select('path.raw.train').attr('d', rawPath(points, p.train, x, y));
    g.select('path.smooth.train').attr('d', smoothPath(points, p.train, x, y));
    // Test scores are few and exact: joined as they are, each one a dot.
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
