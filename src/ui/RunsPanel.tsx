// The stored runs (kept by the search worker in IndexedDB) as a table: sortable by every column,
// filterable by mode, data set and status, with the hyperparameters that tell runs apart and a
// note per run, edited in place. A row opens, resumes, exports or deletes its run; ticking 2 to
// 8 rows compares them. Damaged stored runs are listed as a note. The rows are plain data from
// store/runs-table.ts.
import { useId, useMemo, useState, type KeyboardEvent, type ReactNode } from 'react';
import { JsonFileButton } from './JsonFileButton';
import {
  compareStoredRuns,
  deleteStoredRun,
  exportStoredRun,
  importRunFile,
  openStoredRun,
  resumableOf,
  resumeStoredRun,
  setRunNote,
  undoDeleteRun,
} from '../store/controller';
import { MAX_COMPARED_RUNS, RUN_LETTERS } from '../store/compare';
import { isActive, isTraining, useLab } from '../store/lab';
import { modeLabel } from '../store/setup';
import {
  accuracyOf,
  datasetNames,
  hyperparameters,
  MODE_FILTERS,
  modeText,
  nextSort,
  NO_FILTERS,
  RETRAIN_MODE,
  STATUS_FILTERS,
  visibleRuns,
  type RunColumn,
  type RunFilters,
  type RunSort,
} from '../store/runs-table';
import { NOTE_MAX_LENGTH, validationOf, type RunSummary } from '../runs/store';

/** Column headers: the visible text (the sort button's name) and what it means, when short. */
const HEADERS: { column: RunColumn; text: string; title?: string; numeric?: boolean }[] = [
  { column: 'compare', text: 'Compare', title: 'Tick 2 to 8 runs, then "Compare selected"' },
  { column: 'name', text: 'Name' },
  { column: 'note', text: 'Note' },
  { column: 'mode', text: 'Mode' },
  { column: 'dataset', text: 'Data set' },
  { column: 'status', text: 'Status' },
  { column: 'steps', text: 'Steps', numeric: true },
  {
    column: 'accuracy',
    text: 'Val. acc.',
    title: 'Validation accuracy: the latest scoring on the held-out test images (a re-training: its test accuracy)',
    numeric: true,
  },
  { column: 'channels', text: 'C', title: 'Initial channels', numeric: true },
  { column: 'cells', text: 'Cells', numeric: true },
  { column: 'batch', text: 'Batch', title: 'Batch size', numeric: true },
  { column: 'learningRate', text: 'LR ω', title: 'Initial learning rate of the weights ω', numeric: true },
  { column: 'alphaLearningRate', text: 'LR α', title: 'Learning rate of α', numeric: true },
  { column: 'betaLearningRate', text: 'LR β', title: 'Learning rate of β (factorized only)', numeric: true },
  { column: 'seed', text: 'Seed', numeric: true },
  { column: 'partialChannels', text: 'K', title: 'Partial channels K (PC-DARTS; 1: off)', numeric: true },
  { column: 'order', text: 'Order', title: 'First or second order', numeric: true },
];

const STATUS_TEXT: Record<(typeof STATUS_FILTERS)[number], string> = {
  all: 'All',
  running: 'running',
  paused: 'paused',
  done: 'done',
  stopped: 'stopped',
  failed: 'failed',
  interrupted: 'interrupted',
};

const dash = (v: number | null, show: (v: number) => string = String) => (v === null ? '–' : show(v));
/** A learning rate as typed: 0.05, 6e-4 (no float noise, no long zeros). */
const rate = (v: number) => (v !== 0 && Math.abs(v) < 0.01 ? v.toExponential().replace(/\.?0+e/, 'e') : String(v));
const percent = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : String(v));

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
  const [filters, setFilters] = useState<RunFilters>(NO_FILTERS);
  const [sort, setSort] = useState<RunSort>(null);
  const picked = ticked.filter((id) => runs.some((r) => r.id === id));
  const toggle = (id: string) =>
    setTicked((t) => {
      const live = t.filter((x) => runs.some((r) => r.id === x));
      return live.includes(id) ? live.filter((x) => x !== id) : [...live, id].slice(0, MAX_COMPARED_RUNS);
    });
  const shown = useMemo(() => visibleRuns(runs, filters, sort, picked), [runs, filters, sort, picked.join('|')]); // eslint-disable-line react-hooks/exhaustive-deps
  const datasets = useMemo(() => datasetNames(runs), [runs]);
  const canCompare = picked.length >= 2 && picked.length <= MAX_COMPARED_RUNS;

  return (
    <section className="card runs" aria-label="Runs">
      <div className="runs-head">
        <h2>Runs</h2>
        {runs.length > 1 && (
          <>
            <span className="hint" aria-live="polite">
              {picked.length} of at most {MAX_COMPARED_RUNS} ticked
            </span>
            <button
              type="button"
              className="small"
              disabled={!canCompare}
              title={
                canCompare
                  ? `Show the ${picked.length} ticked runs side by side, against the first ticked (A)`
                  : `Tick 2 to ${MAX_COMPARED_RUNS} runs to compare them`
              }
              onClick={() => compareStoredRuns(picked)}
            >
              Compare selected
            </button>
          </>
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
        <>
          <div className="runs-filters">
            <Filter
              label="Filter by mode"
              value={filters.mode}
              onChange={(mode) => setFilters((f) => ({ ...f, mode: mode as RunFilters['mode'] }))}
            >
              {MODE_FILTERS.map((m) => (
                <option key={m} value={m}>
                  {m === 'all' ? 'All' : m === RETRAIN_MODE ? 're-training' : m}
                </option>
              ))}
            </Filter>
            <Filter
              label="Filter by data set"
              value={filters.dataset}
              onChange={(dataset) => setFilters((f) => ({ ...f, dataset }))}
            >
              <option value="all">All</option>
              {[...new Set([...datasets, ...(filters.dataset === 'all' ? [] : [filters.dataset])])].map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </Filter>
            <Filter
              label="Filter by status"
              value={filters.status}
              onChange={(status) => setFilters((f) => ({ ...f, status: status as RunFilters['status'] }))}
            >
              {STATUS_FILTERS.map((s) => (
                <option key={s} value={s}>
                  {STATUS_TEXT[s]}
                </option>
              ))}
            </Filter>
            <span className="hint" data-shown={shown.length}>
              {shown.length === runs.length
                ? `${runs.length} run${runs.length === 1 ? '' : 's'}`
                : `${shown.length} of ${runs.length} runs shown`}
              {sort ? '' : ', newest first'}
            </span>
          </div>
          <div className="runs-table-scroll">
            <table className="runs-table">
              <thead>
                <tr>
                  {HEADERS.map((h) => (
                    <th
                      key={h.column}
                      scope="col"
                      aria-sort={sort?.column === h.column ? sort.direction : undefined}
                      className={h.numeric ? 'numeric' : undefined}
                      data-column={h.column}
                    >
                      <button
                        type="button"
                        className="sort"
                        title={h.title ? `${h.title}: sort` : 'Sort'}
                        onClick={() => setSort((s) => nextSort(s, h.column))}
                      >
                        {h.text}
                        <span className="sort-mark" aria-hidden="true">
                          {sort?.column === h.column ? (sort.direction === 'ascending' ? '▲' : '▼') : ''}
                        </span>
                      </button>
                    </th>
                  ))}
                  <th scope="col" className="runs-actions-cell">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <RunRow
                    key={r.id}
                    run={r}
                    slot={picked.indexOf(r.id)}
                    full={picked.length >= MAX_COMPARED_RUNS}
                    onToggle={() => toggle(r.id)}
                    live={active && r.id === currentRunId}
                    current={opened?.id === r.id}
                    busy={active || training}
                    searching={active}
                  />
                ))}
              </tbody>
            </table>
            {shown.length === 0 && <p className="note">No run matches these filters.</p>}
          </div>
        </>
      )}
    </section>
  );
}

function Filter({
  label,
  value,
  onChange,
  children,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <span className="runs-filter">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {children}
      </select>
    </span>
  );
}

function RunRow({
  run: r,
  slot,
  full,
  onToggle,
  live,
  current,
  busy,
  searching,
}: {
  run: RunSummary;
  /** Its place among the ticked runs (-1: not ticked). */
  slot: number;
  /** As many runs ticked as can be compared. */
  full: boolean;
  onToggle: () => void;
  /** The search running now is this run. */
  live: boolean;
  current: boolean;
  /** A search or a re-training runs (no resume). */
  busy: boolean;
  /** A search runs (no open). */
  searching: boolean;
}) {
  const resumable = resumableOf(r);
  const hp = hyperparameters(r);
  const accuracy = accuracyOf(r);
  return (
    <tr data-run-id={r.id} data-status={r.status} data-kind={r.kind} aria-current={current ? 'true' : undefined}>
      <td className="runs-compare">
        <input
          type="checkbox"
          checked={slot >= 0}
          disabled={slot < 0 && full}
          title={slot < 0 && full ? `At most ${MAX_COMPARED_RUNS} runs are compared at once` : undefined}
          onChange={onToggle}
          aria-label={`Compare ${r.name}`}
        />
        {slot >= 0 && <span className="run-badge">{RUN_LETTERS[slot]}</span>}
      </td>
      <th scope="row" className="run-name">
        {r.name}
      </th>
      <td className="run-note-cell">
        <NoteField run={r} />
      </td>
      <td title={r.kind === 'search' ? modeLabel(r.mode) : undefined}>{modeText(r)}</td>
      <td>{r.dataset.name}</td>
      <td title={r.message ?? undefined}>{r.status}</td>
      <td className="numeric">
        {r.steps}
        {r.stepsTotal ? ` / ${r.stepsTotal}` : ''}
      </td>
      <td className="numeric" data-test-accuracy={r.training?.testAccuracy ?? undefined} title={heldOutTitle(r)}>
        {accuracy === null ? '–' : `${r.kind === 'train' ? 'test ' : ''}${percent(accuracy)}`}
      </td>
      <td className="numeric">{dash(hp.channels)}</td>
      <td className="numeric">{dash(hp.cells)}</td>
      <td className="numeric">{dash(hp.batch)}</td>
      <td className="numeric">{dash(hp.learningRate, rate)}</td>
      <td className="numeric">{dash(hp.alphaLearningRate, rate)}</td>
      <td className="numeric">{dash(hp.betaLearningRate, rate)}</td>
      <td className="numeric">{dash(hp.seed)}</td>
      <td className="numeric">{dash(hp.partialChannels)}</td>
      <td className="numeric">{hp.order === null ? '–' : hp.order === 1 ? '1st' : '2nd'}</td>
      <td className="runs-actions-cell">
        <div className="runs-actions">
          {resumable && (
            <button
              type="button"
              className="small primary"
              onClick={() => void resumeStoredRun(resumable)}
              disabled={busy}
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
            disabled={searching}
            aria-label={`Open ${r.name}`}
          >
            Open
          </button>
          <button type="button" className="small" onClick={() => exportStoredRun(r.id)} aria-label={`Export ${r.name}`}>
            Export
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
        </div>
      </td>
    </tr>
  );
}

/** The run's note, saved when the field loses focus or on Enter; Escape puts the stored note back. */
function NoteField({ run }: { run: RunSummary }) {
  const stored = run.note ?? '';
  const save = (value: string) => {
    if (value.trim() !== stored) setRunNote(run.id, value);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') e.currentTarget.blur();
    else if (e.key === 'Escape') {
      e.currentTarget.value = stored;
      e.currentTarget.blur();
    }
  };
  return (
    <input
      // A stored note that changed (saved here, or imported) replaces what the field shows.
      key={stored}
      type="text"
      className="run-note"
      defaultValue={stored}
      maxLength={NOTE_MAX_LENGTH}
      placeholder="add a note"
      title={stored || undefined}
      aria-label={`Note for ${run.name}`}
      onBlur={(e) => save(e.currentTarget.value)}
      onKeyDown={onKeyDown}
    />
  );
}

/** Where a search's validation accuracy comes from, for its cell's tooltip. */
function heldOutTitle(r: RunSummary): string | undefined {
  if (r.kind !== 'search') return undefined;
  const v = validationOf(r);
  return v
    ? `held-out: ${v.testCount.toLocaleString('en-US')} test images, at step ${v.step}`
    : 'not scored on held-out images (a run from before held-out scoring, or stopped before its first)';
}
