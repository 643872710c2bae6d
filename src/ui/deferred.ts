// D3 drawing in its own task: a store update re-renders React in the message's task, and each
// visual then redraws in a separate macrotask, so no single task grows long during a run.
import { useEffect, useRef, type DependencyList } from 'react';

export function useDeferredDraw(draw: () => void, deps: DependencyList): void {
  useEffect(() => {
    const handle = setTimeout(draw, 0);
    return () => clearTimeout(handle);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}

/**
 * Like useDeferredDraw, but at most once per `everyMs` (a live run's curves change on every
 * step): a draw already waiting is not scheduled again, and it runs the latest `draw`.
 */
export function useThrottledDraw(draw: () => void, deps: DependencyList, everyMs = 250): void {
  const latest = useRef(draw);
  const lastDraw = useRef(0);
  const pending = useRef<number | null>(null);
  latest.current = draw;
  useEffect(() => {
    if (pending.current !== null) return; // the pending draw will read the latest points
    const wait = Math.max(0, lastDraw.current + everyMs - performance.now());
    pending.current = window.setTimeout(() => {
      pending.current = null;
      lastDraw.current = performance.now();
      latest.current();
    }, wait);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(
    () => () => {
      if (pending.current !== null) clearTimeout(pending.current);
      pending.current = null;
    },
    [],
  );
}
