// Builds the lab and serves it with `vite preview` on a free localhost port (e2e and screenshots).
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, 'localhost', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Builds into `outDir` (unless reuse and it is there) and serves it; returns { baseUrl, close }. */
export async function serveBuiltLab({ outDir = join(root, 'e2e', 'out', 'dist'), reuse = false } = {}) {
  if (!reuse || !existsSync(join(outDir, 'index.html'))) {
    await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  }
  const port = await freePort();
  const server = await preview({
    root,
    logLevel: 'warn',
    build: { outDir },
    preview: { port, strictPort: true, host: 'localhost', open: false },
  });
  return {
    baseUrl: `http://localhost:${port}/`,
    close: () => new Promise((res) => server.httpServer.close(res)),
  };
}
