// Which stored runs a job is running now, in this tab or another: each job holds a Web Lock
// named after its run while it runs, and the browser releases it when the job ends or its
// worker or tab goes away (closed, reloaded, crashed, terminated). A run left 'running' whose
// lock nobody holds was interrupted. Without Web Locks (an old browser, Node) no run is live.

const PREFIX = 'factorized-nas-lab-run:';

interface LockManagerLike {
  request(name: string, callback: () => Promise<void>): Promise<unknown>;
  request(name: string, options: { signal?: AbortSignal }, callback: () => unknown): Promise<unknown>;
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

/**
 * The runs whose lock some job holds now (any tab of this origin). With `graceMs`, a lock that is
 * let go within that time does not count: a reloaded or closed tab's worker may still be going
 * away while the new tab looks (seen in Chromium), and another tab's live run holds on.
 */
export async function liveRunIds({ graceMs = 0 } = {}): Promise<Set<string>> {
  const locks = lockManager();
  if (!locks) return new Set();
  const { held = [] } = await locks.query();
  const ids = held.flatMap((l) => (l.name?.startsWith(PREFIX) ? [l.name.slice(PREFIX.length)] : []));
  if (graceMs <= 0) return new Set(ids);
  const stillHeld = await Promise.all(
    ids.map(async (id) => {
      const give = new AbortController();
      const timer = setTimeout(() => give.abort(), graceMs);
      try {
        await locks.request(PREFIX + id, { signal: give.signal }, () => undefined);
        return false; // granted: its holder went away
      } catch {
        return true; // still held when the time was up
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return new Set(ids.filter((_, i) => stillHeld[i]));
}
