// What went wrong in the search and what the user can do about it.
import { useLab } from '../store/lab';

const TITLES: Record<string, string> = {
  'nan-loss': 'The loss became NaN',
  'device-lost': 'The GPU device was lost',
  'gpu-error': 'WebGPU reported an error',
  'worker-crash': 'The search worker crashed',
  backend: 'No backend could start',
  dataset: 'The data set could not be used',
  'bad-config': 'The setup is not valid',
  'bad-checkpoint': 'The checkpoint does not fit',
  'no-checkpoint': 'No checkpoint yet',
  busy: 'A search is already running',
  internal: 'The search stopped with an error',
};

export function ErrorBanner() {
  const error = useLab((s) => s.error);
  const dismiss = useLab((s) => s.dismissError);
  if (!error) return null;
  return (
    <div className="error-banner" role="alert" data-code={error.code}>
      <div>
        <strong>{TITLES[error.code] ?? 'Error'}.</strong> {error.message}
      </div>
      <button type="button" className="small" onClick={dismiss} aria-label="Dismiss error">
        Dismiss
      </button>
    </div>
  );
}
