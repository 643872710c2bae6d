// The crash check on the default setup (Quick demo, Backend auto, the built-in data set), as a
// user would do it: Start, wait, reload. Every time the page must offer "Resume run", at most a
// minute of search behind (checkpoints are taken at least once a minute; a step that crosses the
// minute counts whole), and the resumed run must take the same next steps, bit for bit, as an
// uninterrupted run of the same seed. The e2e test e2e/12-crash.test.mjs checks the same on a
// tiny setup at random moments; this is the full-size check (minutes a seed).
//
//   npm run crash-check -- [--seeds 1,2,3] [--wait 75] [--compare-steps 3] [--backend auto]
//
// Builds the lab, serves it, and drives Debian's Chromium (CHROMIUM_PATH to override). Exits 1
// on the first seed that fails, naming what went wrong.
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { serveBuiltLab } from '../e2e/server.mjs';
import { defaultSetup } from '../src/store/setup.ts';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    wait: { type: 'string', default: '75' },
    'compare-steps': { type: 'string', default: '3' },
    backend: { type: 'string', default: 'auto' },
  },
});
const seeds = args.seeds.split(',').map(Number);
const waitSeconds = Number(args.wait);
const compareSteps = Number(args['compare-steps']);
const MINUTE = 60;

const server = await serveBuiltLab();
process.env.E2E_BASE_URL = server.baseUrl; // read by e2e/lab.mjs as it loads
const { launch, openPage, hashOf, watchPage } = await import('../e2e/lab.mjs');
const browser = await launch({ webgpu: true });
const started = Date.now();
const say = (line) => console.log(`${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s  ${line}`);

/** Polls the page's progress until `done(progress)`; returns step → engine seconds. */
async function watchProgress(page, done, timeoutMs) {
  const seconds = new Map([[0, 0]]);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const p = await page.evaluate(() => {
      const s = window.__lab.state();
      if (s.phase === 'error') return { error: s.error?.message };
      return s.progress && { step: s.progress.step, seconds: s.progress.seconds };
    });
    if (p?.error) throw new Error(`the search failed: ${p.error}`);
    if (p) seconds.set(p.step, p.seconds);
    if (done(p, seconds) || Date.now() > end) return seconds;
    await page.waitForTimeout(200);
  }
}

const curveOf = (page, from, to) =>
  page.evaluate(
    ([from, to]) =>
      window.__lab
        .state()
        .curve.filter((p) => p.step > from && p.step <= to)
        .map((p) => [p.step, p.trainLoss, p.valLoss, p.valAccuracy]),
    [from, to],
  );

let failed = false;
try {
  for (const seed of seeds) {
    const setup = defaultSetup();
    const hash = hashOf({ ...setup, backend: args.backend, config: { ...setup.config, seed } });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    const { page } = await openPage(context, hash, { errors });
    await page.getByRole('button', { name: 'Start search' }).click();
    const clicked = Date.now();
    const seconds = await watchProgress(page, () => Date.now() - clicked >= waitSeconds * 1000, waitSeconds * 1000);
    const reached = Math.max(...seconds.keys());
    await page.reload();
    const notice = page.getByRole('region', { name: 'Interrupted run' });
    await notice.waitFor({ timeout: 60_000 });
    const offered = Number((await notice.textContent()).match(/from step (\d+)/)?.[1]);
    const stepSeconds = Math.max(
      ...[...seconds.entries()].filter(([s]) => s > 0 && seconds.has(s - 1)).map(([s, t]) => t - seconds.get(s - 1)),
    );
    const lost = seconds.get(reached) - (seconds.get(offered) ?? 0);
    say(
      `seed ${seed}: reloaded at step ${reached} after ${waitSeconds} s; offered from step ${offered}: ` +
        `${lost.toFixed(1)} s of search lost (a step takes up to ${stepSeconds.toFixed(1)} s)`,
    );
    assert.ok(Number.isInteger(offered) && offered <= reached, `seed ${seed}: offered step ${offered}`);
    assert.ok(lost <= Math.max(MINUTE, stepSeconds) + stepSeconds, `seed ${seed}: ${lost.toFixed(1)} s lost`);

    if (compareSteps > 0) {
      await page.getByRole('button', { name: 'Resume run' }).click();
      const to = offered + compareSteps;
      await watchProgress(page, (p) => (p?.step ?? 0) >= to, 30 * 60_000);
      const resumed = await curveOf(page, offered, to);
      // The same seed, never interrupted, up to the same step (its own browser context).
      const straight = await browser.newContext();
      const other = await straight.newPage();
      watchPage(other, errors);
      await other.goto(server.baseUrl + hash);
      await other.getByRole('button', { name: 'Start search' }).click();
      await watchProgress(other, (p) => (p?.step ?? 0) >= to, 30 * 60_000);
      const expected = await curveOf(other, offered, to);
      await straight.close();
      assert.equal(resumed.length, compareSteps, `seed ${seed}: ${compareSteps} steps after resuming`);
      assert.deepEqual(resumed, expected, `seed ${seed}: the resumed steps equal the uninterrupted run's`);
      say(`seed ${seed}: steps ${offered + 1}–${to} after resuming equal the uninterrupted run's, bit for bit`);
    }
    assert.deepEqual(errors, [], `seed ${seed}: page errors or console warnings`);
    await context.close();
  }
} catch (e) {
  failed = true;
  console.error(`crash check failed: ${e.message}`);
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
