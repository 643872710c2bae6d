// Backend parity in Debian's Chromium: webgpu (SwiftShader), webgl and wasm against cpu, for
// the forward value and gradients of every op and activation and for two search steps from the
// same seed (parity.html; cases and tolerances in src/parity/cases.ts); then, on each
// backend, the same search again gives the same losses, α and β bit for bit, and leaves no
// tensor or data buffer behind once disposed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, launch, watchPage } from './lab.mjs';

test(
  'every backend the lab offers computes what cpu computes (values and gradients)',
  { timeout: 900_000 },
  async () => {
    const browser = await launch({ webgpu: true });
    try {
      const page = await browser.newPage();
      const errors = watchPage(page, []);
      await page.goto(new URL('parity.html?backends=webgpu,webgl,wasm', BASE_URL).href);
      await page.waitForFunction(() => window.__parity?.done === true, null, { timeout: 850_000, polling: 1000 });
      const result = await page.evaluate(() => window.__parity);
      assert.deepEqual(errors, []);
      assert.equal(result.gpuError, null, `GPU error: ${result.gpuError}`);
      for (const backend of ['webgpu', 'webgl', 'wasm']) {
        assert.equal(result.unavailable[backend], undefined, `${backend} unavailable: ${result.unavailable[backend]}`);
        const rows = result.rows.filter((r) => r.backend === backend);
        assert.ok(rows.length >= 20, `${backend}: only ${rows.length} checks ran`);
        const failed = rows
          .filter((r) => !r.ok)
          .map((r) => `${r.check} (${r.detail ?? `${r.worst.toFixed(2)}x tolerance`})`);
        assert.deepEqual(failed, [], `${backend} differs from cpu`);
        for (const check of [
          'the same seed again: the same losses, α and β, bit for bit',
          'tensors and data buffers a disposed search leaves',
        ])
          assert.ok(
            rows.some((r) => r.check === check),
            `${backend}: "${check}" did not run`,
          );
      }
      console.log(`  parity: ${result.rows.length} checks passed on webgpu, webgl, wasm`);
    } finally {
      await browser.close();
    }
  },
);
