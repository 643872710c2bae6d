// The "Re-training" region: what is being re-trained, its progress, pause/resume/stop, the
// curves, and the test accuracy at the end. Shown once a re-training starts or one is opened.
import { isTraining, useLab, type TrainingState } from '../store/lab';
import { pauseTraining, resumeTraining, stopTraining } from '../store/controller';
import { formatDuration, formatNumber } from './labels';
import { RetrainCurves } from './RetrainCurves';

export function retrainStatusText(t: TrainingState): string {
  const on = t.started?.backend
    ? ` on ${t.started.backend}${t.started.fallbackReason ? ` (${t.started.fallbackReason})` : ''}`
    : '';
  const step = t.progress?.step ?? 0;
  const total = t.progress?.stepsTotal ?? t.started?.stepsTotal ?? 0;
  switch (t.phase) {
    case 'starting':
      return 'Starting: loading the data set and the backend, building the network…';
    case 'running':
      return `Re-training${on}: step ${step} of ${total}${t.progress ? `, epoch ${t.progress.epoch + 1} of ${t.progress.epochsTotal}` : ''}.`;
    case 'pausing':
      return `Pausing after the current step${on}…`;
    case 'paused':
      return `Paused at step ${step}${on}.`;
    case 'stopping':
      return `Stopping after the current step${on}…`;
    case 'error':
      return 'Stopped with an error (see the message above).';
    case 'done': {
      const r = t.result;
      if (!r) return 'Done.';
      const how = r.reason === 'finished' ? `${r.step} step${r.step === 1 ? '' : 's'}` : `stopped at step ${r.step}`;
      return `${t.stored ? 'Stored re-training' : 'Re-training done'}: ${how} in ${formatDuration(r.seconds)}${on}.`;
    }
  }
}

const percent = (v: number) => `${(v * 100).toFixed(1)}%`;

export function RetrainPanel() {
  const t = useLab((s) => s.training);
  if (!t) return null;
  const active = isTraining(t);
  const s = t.started;
  const p = t.progress;
  const step = p?.step ?? t.result?.step ?? 0;
  const total = p?.stepsTotal ?? s?.stepsTotal ?? 0;
  const lastEval = t.evaluations[t.evaluations.length - 1] ?? null;
  const result = t.result;
  const finalAccuracy = result?.reason === 'finished' ? result.testAccuracy : null;
  const lastPoint = t.curve[t.curve.length - 1];
  return (
    <section
      className="card retrain"
      aria-label="Re-training"
      data-phase={t.phase}
      data-run-id={t.runId ?? ''}
      data-points={t.curve.length}
      data-evaluations={t.evaluations.length}
      data-test-accuracy={finalAccuracy ?? ''}
    >
      <div className="card-head">
        <h2>
          Re-training
          <small>
            {t.source}
            {s
              ? ` · ${s.preset} preset${s.allRelu ? ' · all activations ReLU' : ''} · C=${s.config.channels}, ${s.config.layers} cells, batch ${s.config.batchSize}`
              : ''}
          </small>
        </h2>
        {active && (
          <div className="buttons">
            {t.phase === 'paused' || t.phase === 'pausing' ? (
              <button type="button" onClick={resumeTraining}>
                Resume re-training
              </button>
            ) : (
              <button type="button" onClick={pauseTraining} disabled={t.phase !== 'running'}>
                Pause re-training
              </button>
            )}
            <button type="button" onClick={stopTraining} disabled={t.phase === 'stopping'}>
              Stop re-training
            </button>
          </div>
        )}
      </div>
      <p className={`retrain-status ${t.phase}`} aria-live="polite">
        {retrainStatusText(t)}
      </p>
      {s && (
        <p className="hint">
          {s.params.toLocaleString('en-US')} parameters
          {s.auxiliary
            ? ` + ${s.auxiliaryParams.toLocaleString('en-US')} in the auxiliary head`
            : ' (no auxiliary head at this image size)'}
          {s.cutout ? ' · cutout' : ''} · {s.datasetName}
          {s.darts && (
            <>
              {' · '}
              <code className="retrain-darts">{s.darts}</code>
            </>
          )}
        </p>
      )}
      <div className="bar">
        <span className="bar-title">Step</span>
        <div
          role="progressbar"
          aria-label="Re-training progress"
          aria-valuemin={0}
          aria-valuemax={total}
          aria-valuenow={step}
          aria-valuetext={`Step ${step} / ${total || '–'}`}
          className="bar-track"
        >
          <div className="bar-fill" style={{ transform: `scaleX(${total ? Math.min(1, step / total) : 0})` }} />
        </div>
        <span className="bar-value">
          {step} / {total || '–'}
        </span>
      </div>
      <dl className="stats">
        <div>
          <dt>train loss</dt>
          <dd>{lastPoint ? formatNumber(lastPoint.trainLoss, 3) : '–'}</dd>
        </div>
        <div>
          <dt>train acc.</dt>
          <dd>{lastPoint ? percent(lastPoint.trainAccuracy) : '–'}</dd>
        </div>
        <div>
          <dt>last test acc.</dt>
          <dd>{lastEval ? `${percent(lastEval.testAccuracy)} (step ${lastEval.step})` : '–'}</dd>
        </div>
        <div>
          <dt>learning rate</dt>
          <dd>{p ? formatNumber(p.learningRate, 4) : '–'}</dd>
        </div>
        <div>
          <dt>images/s</dt>
          <dd>{p ? Math.round(p.imagesPerSecond).toLocaleString('en-US') : '–'}</dd>
        </div>
      </dl>
      <RetrainCurves
        curve={t.curve}
        evaluations={t.evaluations}
        auxiliaryWeight={s?.auxiliary ? s.config.auxiliaryWeight : null}
        runId={t.runId}
      />
      {t.problems.map((problem) => (
        <p key={problem} role="alert" className="checkpoint-problem">
          {problem}
        </p>
      ))}
      {result && (
        <p className="retrain-result" data-testid="retrain-result">
          {finalAccuracy !== null ? (
            <>
              <strong>Test accuracy: {percent(finalAccuracy)}</strong> on {result.testCount?.toLocaleString('en-US')}{' '}
              test images after {result.step} steps
            </>
          ) : result.testAccuracy !== null ? (
            <>Stopped before the end: the last test accuracy was {percent(result.testAccuracy)}.</>
          ) : (
            <>Stopped before the test images were scored.</>
          )}
        </p>
      )}
    </section>
  );
}
