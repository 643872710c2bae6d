// Entry: restores the setup from the URL hash, loads the selected data set, renders the lab.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { ErrorBoundary } from './ui/ErrorBoundary';
import {
  feedMessages,
  findResumable,
  hangNextStep,
  holdCheckpointWrite,
  refuseNextAllocation,
  refreshRuns,
  initSetupFromHash,
  injectNaN,
  loadSelectedDataset,
  setStopTimeout,
  showLastRunOnLoad,
} from './store/controller';
import { useLab } from './store/lab';
import './ui/styles.css';

initSetupFromHash();
void loadSelectedDataset();
findResumable();
showLastRunOnLoad();
refreshRuns();

// Hooks for tests and for poking at a run from the console.
declare global {
  interface Window {
    __lab: {
      injectNaN(): void;
      hangNextStep(): void;
      refuseNextAllocation(bytes: number): void;
      holdCheckpointWrite(step: number, ms: number): void;
      setStopTimeout(ms: number | null): void;
      feed(messages: Parameters<typeof feedMessages>[0]): void;
      state(): ReturnType<typeof useLab.getState>;
    };
  }
}
window.__lab = {
  injectNaN,
  hangNextStep,
  holdCheckpointWrite,
  refuseNextAllocation,
  setStopTimeout,
  feed: feedMessages,
  state: () => useLab.getState(),
};

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ErrorBoundary name="The lab">
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
