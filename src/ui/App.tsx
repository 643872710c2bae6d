// The lab page: setup on the left; run controls, α/β heatmaps, cells, curves and genotype on the
// right. Files dropped anywhere on the page are loaded as the data set.
import { useEffect, useState } from 'react';
import { loadOwnFiles } from '../store/controller';
import { useLab } from '../store/lab';
import { modeLabel } from '../store/setup';
import { Cells } from './Cells';
import { CompareRuns } from './CompareRuns';
import { ErrorBanner } from './ErrorBanner';
import { ErrorBoundary } from './ErrorBoundary';
import { GenotypePanel } from './GenotypePanel';
import { Explain } from './Explain';
import { ReplaySlider } from './ReplaySlider';
import { RetrainPanel } from './RetrainPanel';
import { RunControls } from './RunControls';
import { RunsPanel } from './RunsPanel';
import { SetupPanel } from './SetupPanel';
import { TrainingCurves } from './TrainingCurves';
import { AlphaHeatmaps, BetaHeatmaps, ColourScaleSelect } from './WeightsPanels';
import { AlphaOverTime, BetaOverTime, EdgeEntropy, GenotypeChanges } from './WeightsOverTime';

function hasFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer?.types ?? []).includes('Files');
}

function useFileDrop(): boolean {
  const [over, setOver] = useState(false);
  useEffect(() => {
    let depth = 0;
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      setOver(true);
    };
    const overFn = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const drop = (e: DragEvent) => {
      const files = Array.from(e.dataTransfer?.files ?? []);
      depth = 0;
      setOver(false);
      if (!files.length) return;
      e.preventDefault();
      void loadOwnFiles(files);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', overFn);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', overFn);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, []);
  return over;
}

export function App() {
  const dragging = useFileDrop();
  const runConfig = useLab((s) => s.runConfig);
  const runDataset = useLab((s) => s.runDataset);
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <h1>Factorized NAS Lab</h1>
          <span>A-DARTS: differentiable search over ops (α) and activations (β), on your GPU</span>
        </div>
        {runConfig && (
          <div className="run-tag">
            {modeLabel(runConfig.mode)} · {runDataset?.name ?? 'data'} · C={runConfig.channels}, {runConfig.layers}{' '}
            cells, batch {runConfig.batchSize}
            {runConfig.partialChannels > 1 ? `, K=${runConfig.partialChannels}` : ''}
          </div>
        )}
      </header>
      <div className="layout">
        <ErrorBoundary name="The setup panel">
          <SetupPanel />
        </ErrorBoundary>
        <main className="visuals">
          <ErrorBoundary name="The run controls">
            <RunControls />
          </ErrorBoundary>
          <ErrorBanner />
          <Explain />
          <ColourScaleSelect />
          <div className="weights-row">
            <ErrorBoundary name="The α heatmaps">
              <AlphaHeatmaps />
            </ErrorBoundary>
            <ErrorBoundary name="The β heatmaps">
              <BetaHeatmaps />
            </ErrorBoundary>
          </div>
          <ErrorBoundary name="The replay slider">
            <ReplaySlider />
          </ErrorBoundary>
          <ErrorBoundary name="The cell diagrams">
            <Cells />
          </ErrorBoundary>
          <div className="history-row">
            <ErrorBoundary name="The α chart">
              <AlphaOverTime />
            </ErrorBoundary>
            <ErrorBoundary name="The β chart">
              <BetaOverTime />
            </ErrorBoundary>
            <ErrorBoundary name="The entropy chart">
              <EdgeEntropy />
            </ErrorBoundary>
            <ErrorBoundary name="The genotype timeline">
              <GenotypeChanges />
            </ErrorBoundary>
          </div>
          <div className="bottom-row">
            <ErrorBoundary name="The training curves">
              <TrainingCurves />
            </ErrorBoundary>
            <ErrorBoundary name="The genotype panel">
              <GenotypePanel />
            </ErrorBoundary>
          </div>
          <ErrorBoundary name="The re-training">
            <RetrainPanel />
          </ErrorBoundary>
          <ErrorBoundary name="The runs list">
            <RunsPanel />
          </ErrorBoundary>
          <ErrorBoundary name="The run comparison">
            <CompareRuns />
          </ErrorBoundary>
        </main>
      </div>
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          <div>Drop data set files to load them (CIFAR-10 binary .tar.gz, .bin batches, IDX)</div>
        </div>
      )}
    </div>
  );
}
