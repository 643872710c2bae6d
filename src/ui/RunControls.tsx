// Start/Pause/Resume/Stop, the epoch and step bars, throughput and ETA, and the status line.
import { useLab, isActive, type LabState } from '../store/lab';
import {
  discardResumable,
  pauseSearch,
  requestCheckpoint,
  resumeSearch,
  resumeStoredRun,
  runStepShape,
  stepTimeStorage,
  startSearch,
  stopSearch,
} from '../store/controller';
import { formatDuration, formatEpochs, formatNumber } from './labels';
import { setupMemoryChecks, setupProblems } from '../store/setup';
import { estimateRun, plannedSteps } from '../store/step-times';

/** The status line's word on the compiled step (webgpu): how the steps run, and why they do not replay. */
export function compiledText(c: NonNullable<NonNullable<LabState['progress']>['compiled']>): string {
  if (c.state === 'compiled')
    return `Compiled step: ${c.dispatches.toLocaleString('en-US')} dispatches, recorded in ${Math.round(c.recordMilliseconds).toLocaleString('en-US')} ms${c.reason ? ` (${c.reason})` : ''}.`;
  return `Uncompiled step: ${c.reason ?? 'every step runs its code'}.`;
}

export function statusText(s: Pick<LabState, 'phase' | 'backend' | 'progress' | 'done' | 'error' | 'setup'>): string {
  const b = s.backend;
  const backend = b ? `${b.backend}${b.fallbackReason ? ` (${b.fallbackReason})` : ''}` : null;
  const on = backend ? ` on ${backend}` : '';
  switch (s.phase) {
    case 'idle':
      return `Ready. Backend: ${s.setup.backend}${s.setup.backend === 'auto' ? ' (hardware WebGPU if available, else wasm, webgl, cpu)' : ''}.`;
    case 'starting':
      return 'Starting: loading the data set and the backend…';
    case 'running':
      return `Searching${on}.`;
    case 'pausing':
      return `Pausing after the current step${on}…`;
    case 'paused':
      return `Paused at step ${s.progress?.step ?? 0}${on}.`;
    case 'stopping':
      return `Stopping after the current step${on}…`;
    case 'done': {
      const d = s.done;
      if (!d) return `Search done${on}.`;
      // A stored run opened from the list: what it is now, not only how far it got.
      if (d.stored && d.stored.status !== 'done')
        return `Stored run, ${d.stored.status} at step ${d.step}${d.stored.message ? `: ${d.stored.message}` : '.'}`;
      const how = d.reason === 'finished' ? `${d.step} step${d.step === 1 ? '' : 's'}` : `stopped at step ${d.step}`;
      return `Search done: ${how} in ${formatDuration(d.seconds)}${on}.`;
    }
    case 'error':
      return `Stopped with an error${on}: ${s.error?.message ?? 'see the message below'}`;
  }
}

export function RunControls() {
  const phase = useLab((s) => s.phase);
  const progress = useLab((s) => s.progress);
  const compiled = progress?.compiled ?? null;
  const backend = useLab((s) => s.backend);
  const done = useLab((s) => s.done);
  const error = useLab((s) => s.error);
  const setup = useLab((s) => s.setup);
  const checkpointStep = useLab((s) => s.checkpointStep);
  const resumable = useLab((s) => s.resumable);
  const storageWarning = useLab((s) => s.storageWarning);
  const checkpointProblem = useLab((s) => s.checkpointProblem);
  const storageProblems = useLab((s) => s.storageProblems);
  const datasets = useLab((s) => s.datasets);
  const active = isActive(phase);
  // Start waits for a setup that can run, and says why.
  const data = datasets[setup.dataset];
  const problems = setupProblems(setup, data, setupMemoryChecks(setup, data, backend).refusal);
  const blocked = !active && problems.length > 0;
  // cpu and wasm compute as they record: there the whole step is CPU.
  const onGpu = backend?.backend === 'webgpu' || backend?.backend === 'webgl';
  const status = statusText({ phase, backend, progress, done, error, setup });

  const step = progress?.step ?? 0;
  const stepsTotal = progress?.stepsTotal ?? 0;
  const stepsPerEpoch = progress?.stepsPerEpoch ?? 1;
  // Epochs as fractions of the data: done, and planned (a step limit may end the run mid-epoch).
  const epochsDone = step / stepsPerEpoch;
  const epochsPlanned = stepsTotal / stepsPerEpoch;
  const secondsPerStep = progress && step > 0 ? progress.seconds / step : NaN;
  const eta = progress ? (stepsTotal - step) * secondsPerStep : NaN;

  return (
    <section className="card run" aria-label="Search run">
      {resumable && !active && (
        <div className="resume-notice" role="region" aria-label="Interrupted run">
          <span>
            Resume ‘{resumable.name}’ from step {resumable.step}
          </span>
          <button type="button" className="primary small" onClick={() => void resumeStoredRun()}>
            Resume run
          </button>
          <button type="button" className="small" onClick={discardResumable}>
            Discard
          </button>
        </div>
      )}
      <div className="run-buttons">
        <button
          type="button"
          className="primary"
          onClick={() => void startSearch()}
          disabled={active || problems.length > 0}
          aria-describedby={blocked ? 'start-blocked' : undefined}
        >
          Start search
        </button>
        <button type="button" onClick={pauseSearch} disabled={phase !== 'running'}>
          Pause
        </button>
        <button type="button" onClick={resumeSearch} disabled={phase !== 'paused'}>
          Resume
        </button>
        <button type="button" onClick={stopSearch} disabled={!active || phase === 'stopping'}>
          Stop
        </button>
        <span className="spacer" />
        <button
          type="button"
          className="small"
          onClick={requestCheckpoint}
          disabled={phase !== 'running' && phase !== 'paused'}
        >
          Save checkpoint
        </button>
        <button
          type="button"
          className="small"
          onClick={() => void startSearch({ fromCheckpoint: true })}
          disabled={active || checkpointStep === null || problems.length > 0}
          title="Continue from the last checkpoint with the current settings (e.g. lower learning rates)"
        >
          Continue from checkpoint{checkpointStep !== null ? ` (step ${checkpointStep})` : ''}
        </button>
      </div>
      {!active && !blocked && <RunEstimate />}
      {blocked && (
        <p id="start-blocked" className="hint invalid">
          Start waits for the setup: {problems.join('; ')}.
        </p>
      )}
      <div className="run-main">
        <div className="bars">
          <Bar
            label="Epoch progress"
            title="Epoch"
            caption={progress ? `${formatEpochs(epochsDone)} / ${formatEpochs(epochsPlanned)}` : '– / –'}
            now={epochsDone}
            max={epochsPlanned}
            fraction={stepsTotal ? step / stepsTotal : 0}
          />
          <Bar
            label="Search progress"
            title="Step"
            caption={`${step} / ${stepsTotal || '–'}`}
            now={step}
            max={stepsTotal}
            fraction={stepsTotal ? step / stepsTotal : 0}
          />
        </div>
        <dl className="stats">
          <div>
            <dt>ETA</dt>
            <dd>{active && Number.isFinite(eta) ? formatDuration(eta) : phase === 'done' ? 'done' : '–'}</dd>
          </div>
          <div>
            <dt>images/s</dt>
            <dd>{progress ? Math.round(progress.imagesPerSecond).toLocaleString('en-US') : '–'}</dd>
          </div>
          <div>
            <dt>step time</dt>
            <dd>{progress ? `${Math.round(progress.stepMilliseconds).toLocaleString('en-US')} ms` : '–'}</dd>
          </div>
          {progress && onGpu ? (
            // A GPU step is dispatch-bound at the lab's sizes when this is most of the step time.
            <div title="Time the step took on the CPU: building its batches, then recording and submitting its GPU kernels (the first step also compiles them). When it is most of the step time, the GPU waits for the CPU.">
              <dt>CPU side</dt>
              <dd>{`${Math.round(progress.recordMilliseconds).toLocaleString('en-US')} ms`}</dd>
            </div>
          ) : null}
          <div>
            <dt>learning rate</dt>
            <dd>{progress ? formatNumber(progress.learningRate, 4) : '–'}</dd>
          </div>
          <div>
            <dt>elapsed</dt>
            <dd>{progress ? formatDuration(progress.seconds) : '–'}</dd>
          </div>
        </dl>
      </div>
      <p role="status" className={`status ${phase}`} data-phase={phase} data-backend={backend?.backend ?? ''}>
        {status}
        {backend?.adapter && <span className="adapter"> WebGPU adapter: {backend.adapter}.</span>}
        {compiled && <span className="compiled-step"> {compiledText(compiled)}</span>}
        {storageWarning && <span className="storage-warning"> Runs are not saved: {storageWarning}</span>}
      </p>
      {checkpointProblem && (
        <p role="alert" className="checkpoint-problem">
          {checkpointProblem}
        </p>
      )}
      {storageProblems.map((problem) => (
        <p key={problem} role="alert" className="checkpoint-problem">
          {problem}
        </p>
      ))}
    </section>
  );
}

/**
 * Before Start: how long the run should take here, from this device's last measured step time
 * for the same setup (or one scaled from another size), or a note that the first steps measure it.
 */
function RunEstimate() {
  const setup = useLab((s) => s.setup);
  const dataset = useLab((s) => s.datasets[s.setup.dataset]);
  const lastBackend = useLab((s) => s.backend);
  if (!dataset) return null;
  const steps = plannedSteps(setup.config, dataset.trainCount);
  // auto: the backend it chose last time here, else WebGPU, else wasm.
  const candidates =
    setup.backend !== 'auto'
      ? [setup.backend]
      : lastBackend?.requested === 'auto'
        ? [lastBackend.backend]
        : ['webgpu', 'wasm'];
  const storage = stepTimeStorage();
  let estimate = null;
  let backend = candidates[0]!;
  for (const b of candidates) {
    const shape = runStepShape(b, setup.config, dataset);
    estimate = shape && estimateRun(storage, shape, steps);
    backend = b;
    if (estimate) break;
  }
  if (!estimate)
    return (
      <p className="hint run-estimate" data-estimate="">
        {`Estimated time: not known yet for this setup on this device; the first steps will measure it (${steps.toLocaleString('en-US')} steps planned).`}
      </p>
    );
  const m = estimate.measured;
  const ms = estimate.msPerStep;
  const perStep = ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  const basis =
    estimate.basis === 'same'
      ? `this setup, measured here on ${backend} on ${m.at.slice(0, 10)}`
      : `scaled from C=${m.shape.channels}, ${m.shape.layers} cells, batch ${m.shape.batchSize}, measured here on ${backend}; rough`;
  return (
    <p className="hint run-estimate" data-estimate={Math.round(estimate.seconds)}>
      {`Estimated time: about ${formatDuration(estimate.seconds)} (${steps.toLocaleString('en-US')} steps at ${perStep}; ${basis}).`}
    </p>
  );
}

function Bar({
  label,
  title,
  caption,
  now,
  max,
  fraction,
}: {
  label: string;
  title: string;
  caption: string;
  now: number;
  max: number;
  fraction: number;
}) {
  return (
    <div className="bar">
      <span className="bar-title">{title}</span>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={now}
        aria-valuetext={`${title} ${caption}`}
        className="bar-track"
      >
        <div className="bar-fill" style={{ transform: `scaleX(${Math.max(0, Math.min(1, fraction))})` }} />
      </div>
      <span className="bar-value">{caption}</span>
    </div>
  );
}
