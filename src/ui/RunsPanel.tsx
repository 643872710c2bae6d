// The stored runs (kept by the search worker in IndexedDB): open one read-only, delete or
// export it, import a run file (or a genotype file), or tick 2 to 8 to compare them side by side.
// Damaged stored runs are listed as a note.
import { useState } from 'react';
import { JsonFileButton } from './JsonFileButton';
import {
  compareStoredRuns,
  deleteStoredRun,
  exportStoredRun,
  importRunFile,
  openStoredRun,
  resumableOf,
  resumeStoredRun,
  undoDeleteRun,
} from '../store/controller';
import { MAX_COMPARED_RUNS, RUN_LETTERS } from '../store/compare';
import { isActive, isTraining, useLab } from '../store/lab';
import { modeLabel } from '../store/setup';

export function RunsPanel() {
  const runs = useLab((s) => s.runs);
  const problems = useLab((s) => s.runProblems);
  const message = useLab((s) => s.runsMessage);
  const opened = useLab((s) => s.openedRun);
  const currentRunId = useLab((s) => s.runId);
  const phase = useLab((s) => s.phase);
  const training = isTraining(useLab((s) => s.training));
  const active = isActive(phase);
  // Ticked for comparison, in the order ticked: the first is the reference (A), then B, C, …
  const [ticked, setTicked] = useState<string[]>([]);
  const picked = ticked.filter((id) => runs.some((r) => r.id === id));
  const toggle = (id: string) =>
    setTicked((t) => {
      const live = t.filter((x) => runs.some((r) => r.id === x));
      return live.includes(id) ? live.filter((x) => x !== id) : [...live, id].slice(0, MAX_COMPARED_RUNS);
    });
  return (
    <section className="card runs" aria-label="Runs">
      <div className="runs-head">
        <h2>Runs</h2>
        {runs.length > 1 && (
          <button
            type="button"
            className="small"
            disabled={picked.length < 2}
            title={
              picked.length >= 2
                ? `Show the ${picked.length} ticked runs side by side, against the first ticked (A)`
                : `Tick 2 to ${MAX_COMPARED_RUNS} runs to compare them`
            }
            onClick={() => compareStoredRuns(picked)}
          >
            Compare selected
          </button>
        )}
        <JsonFileButton
          label="Import run or genotype"
          inputLabel="Import run or genotype"
          onFile={(f) => void importRunFile(f)}
        />
      </div>
      {opened && <p className="note">Showing the stored run ‘{opened.name}’ (read-only).</p>}
      {message && (
        <p
          className={message.kind === 'error' ? 'runs-error' : 'note'}
          role={message.kind === 'error' ? 'alert' : undefined}
          data-kind={message.kind}
        >
          {message.text}
          {message.undo && (
            <>
              {' '}
              <button type="button" className="small" onClick={() => undoDeleteRun(message.undo!)}>
                Undo delete
              </button>
            </>
          )}
        </p>
      )}
      {problems.length > 0 && (
        <div className="runs-problems" role="note" aria-label="Runs that could not be read">
          {problems.map((p) => (
            <p key={p.id}>{p.message}</p>
          ))}
        </div>
      )}
      {runs.length === 0 ? (
        <p className="note">No stored runs yet: every search and re-training is stored in this browser as it runs.</p>
      ) : (
        <table className="runs-table">
          <thead>
            <tr>
              <th scope="col">Compare</th>
              <th scope="col">Name</th>
              <th scope="col">Mode</th>
              <th scope="col">Data set</th>
              <th scope="col">Steps</th>
              <th scope="col">Best val. / test acc.</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => {
              const live = active && r.id === currentRunId;
              const slot = picked.indexOf(r.id);
              const resumable = resumableOf(r);
              return (
                <tr
                  key={r.id}
                  data-run-id={r.id}
                  data-status={r.status}
                  data-kind={r.kind}
                  aria-current={opened?.id === r.id ? 'true' : undefined}
                >
                  <td className="runs-compare">
                    <input
                      type="checkbox"
                      checked={slot >= 0}
                      disabled={slot < 0 && picked.length >= MAX_COMPARED_RUNS}
                      onChange={() => toggle(r.id)}
                      aria-label={`Compare ${r.name}`}
                    />
                    {slot >= 0 && <span className="run-badge">{RUN_LETTERS[slot]}</span>}
                  </td>
                  <th scope="row">{r.name}</th>
                  <td>
                    {r.kind === 'train'
                      ? `re-train (${r.training?.preset ?? '?'}${r.training?.allRelu ? ', all ReLU' : ''})`
                      : modeLabel(r.mode)}
                  </td>
                  <td>{r.dataset.name}</td>
                  <td>
                    {r.steps}
                    {r.stepsTotal ? ` / ${r.stepsTotal}` : ''}
                  </td>
                  <td data-test-accuracy={r.training?.testAccuracy ?? undefined}>
                    {r.kind === 'train'
                      ? r.training?.testAccuracy == null
                        ? '–'
                        : `test ${(r.training.testAccuracy * 100).toFixed(1)}%`
                      : r.bestValAccuracy === null
                        ? '–'
                        : `${(r.bestValAccuracy * 100).toFixed(1)}%`}
                  </td>
                  <td title={r.message ?? undefined}>{r.status}</td>
                  <td className="runs-actions">
                    {resumable && (
                      <button
                        type="button"
                        className="small primary"
                        onClick={() => void resumeStoredRun(resumable)}
                        disabled={active || training}
                        title={`Go on from its checkpoint at step ${resumable.step}`}
                        aria-label={`Resume ${r.name}`}
                      >
                        Resume
                      </button>
                    )}
                    <button
                      type="button"
                      className="small"
                      onClick={() => openStoredRun(r.id)}
                      disabled={active}
                      aria-label={`Open ${r.name}`}
                    >
                      Open
                    </button>
                    <button
                      type="button"
                      className="small"
                      onClick={() => deleteStoredRun(r.id)}
                      disabled={live}
                      title={`Delete ‘${r.name}’: its history (${r.metricCount} rows), α/β snapshots${r.checkpointStep !== null ? ` and checkpoint (step ${r.checkpointStep})` : ''}. Undo puts it back until the page is reloaded.`}
                      aria-label={`Delete ${r.name}`}
                    >
                      Delete
                    </button>
                    <button
                      type="button"
                      className="small"
                      onClick={() => exportStoredRun(r.id)}
                      aria-label={`Export ${r.name}`}
                    >
                      Export
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
