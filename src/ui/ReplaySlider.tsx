// Replays how α and β evolved: picks one of the snapshots kept during the run.
import { useId } from 'react';
import { useLab } from '../store/lab';

export function ReplaySlider() {
  const snapshots = useLab((s) => s.snapshots);
  const viewIndex = useLab((s) => s.viewIndex);
  const setViewIndex = useLab((s) => s.setViewIndex);
  const id = useId();
  const n = snapshots.length;
  const index = viewIndex ?? Math.max(0, n - 1);
  const step = snapshots[index]?.step ?? 0;
  const following = viewIndex === null;
  return (
    <div className="replay">
      <label htmlFor={id}>Replay step</label>
      <input
        id={id}
        type="range"
        min={0}
        max={Math.max(0, n - 1)}
        value={index}
        disabled={n < 2}
        aria-valuetext={`step ${step}`}
        onChange={(e) => {
          const i = Number(e.target.value);
          setViewIndex(i >= n - 1 ? null : i);
        }}
      />
      <span className="replay-step">
        step {step}
        {n > 0 ? ` · ${index + 1}/${n} snapshots` : ''}
      </span>
      <button type="button" className="small" disabled={following} onClick={() => setViewIndex(null)}>
        Follow live
      </button>
    </div>
  );
}
