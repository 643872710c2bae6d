import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Cross-origin isolation lets tfjs's wasm backend use threads (SharedArrayBuffer) and gives
// precise timers; every resource is same-origin, so require-corp costs nothing.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));
// The lab, plus the backend-parity page when it exists (e2e/8-parity.test.mjs loads it) and the
// bench page (npm run bench:browser).
const input: Record<string, string> = { main: page('index.html') };
if (existsSync(page('parity.html'))) input.parity = page('parity.html');
if (existsSync(page('bench.html'))) input.bench = page('bench.html');

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: isolation },
  optimizeDeps: {
    // Scan the worker too, so the first run does not discover deps late and reload the page.
    entries: Object.keys(input)
      .map((k) => (k === 'main' ? 'index.html' : `${k}.html`))
      .concat(['src/worker/search.worker.ts']),
    // The wasm backend is told where its .wasm files are (setWasmPaths with ?url imports), so it
    // can be prebundled like the rest of tfjs (one tfjs-core instance for all backends).
    include: [
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-backend-wasm',
      'd3',
      'react',
      'react-dom/client',
      'react/jsx-runtime',
      'react/jsx-dev-runtime',
      'zustand',
    ],
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    rolldownOptions: { input },
  },
});
