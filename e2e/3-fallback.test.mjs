// backend "auto" without usable hardware WebGPU runs on a fallback and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashOf, launch, openLab, status, tinySetup, waitForPhase, waitForStep } from './lab.mjs';

test('auto without WebGPU falls back to wasm and says why', { timeout: 240_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'auto', maxSteps: 1 })), {
      // Chromium's own warning when requestAdapter finds none: the very case this test sets up.
      allowConsole: [/^No available adapters\.$/],
    });
    assert.equal(
      await page.evaluate(async () => Boolean(navigator.gpu && (await navigator.gpu.requestAdapter()))),
      false,
      'this browser has no WebGPU adapter',
    );
    await page.getByRole('button', { name: 'Start search' }).click();
    await waitForPhase(page, ['running', 'done'], 120_000);
    const text = await status(page).textContent();
    assert.match(text, /\bwasm \(.*WebGPU.*\)/, `status names the fallback and the reason: ${text}`);
    assert.match(text, /no WebGPU adapter|navigator\.gpu is missing/);
    await waitForStep(page, 1, 180_000);
    await waitForPhase(page, 'done', 60_000);
    assert.match(await status(page).textContent(), /done.*wasm/i);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test(
  'auto with only a software WebGPU adapter (SwiftShader) prefers wasm and says so',
  { timeout: 120_000 },
  async () => {
    const browser = await launch({ webgpu: true });
    try {
      const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'auto', maxSteps: 1 })));
      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForPhase(page, ['running', 'done'], 120_000);
      const text = await status(page).textContent();
      assert.match(text, /wasm \(WebGPU adapter is a software fallback \(SwiftShader\)\)/, text);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
