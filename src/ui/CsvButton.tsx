// A button that downloads one of the shown run's tables as CSV (built in the worker from the
// whole stored history, not from the thinned points the page draws).
import { downloadRunCsv } from '../store/controller';
import { useLab } from '../store/lab';
import type { CsvTable } from '../runs/csv';

/** `runId`: a given run (a re-training's); by default the run the search views show. */
export function CsvButton(props: { table: CsvTable; label: string; runId?: string | null }) {
  const { table, label } = props;
  const shown = useLab((s) => s.openedRun?.id ?? s.runId);
  const runId = props.runId === undefined ? shown : props.runId;
  return (
    <button
      type="button"
      className="small"
      disabled={!runId}
      title={runId ? undefined : 'Available once a run is stored (start one, or open one from Runs)'}
      onClick={() => runId && downloadRunCsv(runId, table)}
    >
      {label}
    </button>
  );
}
