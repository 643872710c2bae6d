// Which stored runs a job is running now, in this tab or another: each job holds a Web Lock
// named after its run while it runs, and the browser releases it when the job ends or its
// worker or tab goes away (closed, reloaded, crashed, terminated). A run left 'running' whose
// lock nobody holds was interrupted. Without Web Locks (an old browser, Node) no run is live.

const PREFIX = 'factorized-nas-lab-run:';

interface LockManagerLike {
  request(name: string, callback: () => Promise<void>): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

function lockManager(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks ?? null;
}

/** Holds the run's lock until the returned function is called. */
export function holdRunLock(runId: string): () => void {
  const locks = lockManager();
  if (!locks) return () => {};
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  // A lock that cannot be taken only makes the run look interrupted to another tab.
  locks.request(PREFIX + runId, () => held).catch(() => undefined);
  return release;
}

/** The runs whose lock some job holds now (any tab of this origin). */
export async function liveRunIds(): Promise<Set<string>> {
  const locks = lockManager();
  if (!locks) return new Set();
  const { held = [] } = await locks.query();
  return new Set(held.flatMap((l) => (l.name?.startsWith(PREFIX) ? [l.name.slice(PREFIX.length)] : [])));
}
