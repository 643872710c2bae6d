// The comparison view's state, apart from the lab's (lab.ts): which stored runs are compared, in
// the order picked, against which reference run, and the comparison once they are read
// (null while the worker reads them). The controller sets it; CompareRuns draws it.
import { create } from 'zustand';
import type { RunComparison } from './compare';

export interface ComparisonState {
  runIds: string[];
  referenceId: string;
  result: RunComparison | null;
}

export const useComparison = create<{ comparison: ComparisonState | null }>()(() => ({ comparison: null }));
