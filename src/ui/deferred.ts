// D3 drawing in its own task: a store update re-renders React in the message's task, and each
// visual then redraws in a separate macrotask, so no single task grows long during a run.
import { useEffect, type DependencyList } from 'react';

export function useDeferredDraw(draw: () => void, deps: DependencyList): void {
  useEffect(() => {
    const handle = setTimeout(draw, 0);
    return () => clearTimeout(handle);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}
