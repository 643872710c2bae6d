// Soak: feeds the page a long search's messages (10,000 steps by default) and reports the main
// thread's longest task per 1,000 steps, the DOM's size and heap over the run, and the longest
// task while the replay slider is scrubbed over the whole history and while a stored run of the
// same length is imported and opened.
//   node --import tsx scripts/soak.mjs [--steps 10000] [--rate 100]   (steps fed per second)
import { serveBuiltLab } from '../e2e/server.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const steps = arg('steps', 10_000);
const rate = arg('rate', 100);
const server = await serveBuiltLab({ reuse: Boolean(process.env.E2E_SKIP_BUILD) });
process.env.E2E_BASE_URL = server.baseUrl;
// Imported once the server's address is known (the e2e helpers read it as they load).
const { longTasksByBin, soak } = await import('../e2e/soak.mjs');
try {
  const r = await soak({ steps, stepsPerSecond: rate, onProgress: (s) => process.stderr.write(`fed ${s} steps\n`) });
  const bins = longTasksByBin(r.longTasks, steps, 1000);
  console.log(
    JSON.stringify(
      {
        steps,
        rate,
        bins,
        kept: r.kept,
        replay: r.replay,
        storedRun: r.storedRun,
        probeMs: r.probeMs,
        domByRegion: r.domByRegion,
        samples: r.samples.filter((_, i) => i % 4 === 3),
        errors: r.errors,
      },
      null,
      1,
    ),
  );
  // An 80 ms task made on purpose: if the observer missed it, every 0 above means nothing.
  if (!(r.probeMs >= 75)) {
    console.error(`the long-task observer missed an 80 ms task (saw ${r.probeMs} ms): the figures are void`);
    process.exitCode = 1;
  }
  const worst = Math.max(...bins.map((b) => b.longestMs));
  console.error(`longest main-thread task: ${worst} ms; tasks over 50 ms: ${bins.reduce((a, b) => a + b.over50, 0)}`);
  console.error(
    `replay over the history (${r.replay.moves} moves): longest task ${r.replay.longestMs} ms, ${r.replay.over50} over 50 ms`,
  );
  console.error(
    `a stored ${steps}-step run: longest task ${r.storedRun.importLongestMs} ms importing it, ${r.storedRun.longestMs} ms opening it`,
  );
} finally {
  await server.close();
}
