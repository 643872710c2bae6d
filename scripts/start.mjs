// `npm start`: serves the lab with Vite's dev server, and opens it in a browser where there is
// a desktop to open one on (a headless machine gets the address to open instead).
import { spawn } from 'node:child_process';

const desktop =
  process.platform === 'darwin' ||
  process.platform === 'win32' ||
  Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const args = ['vite', ...(desktop ? ['--open'] : []), ...process.argv.slice(2)];
if (!desktop) console.log('No desktop to open a browser on: open the address below in yours.');
const child = spawn('npx', args, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
