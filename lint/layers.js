// ESLint rule: the folders under src/ depend on each other one way only (see README, "Layout").
// A relative import from src/A/… into src/B/… is allowed when B is in A's list below. Tests
// (*.test.ts, *.cases.ts) may reach across, as a test of a kernel compares it with the algorithm.
import { dirname, relative, resolve, sep } from 'node:path';

/** What each folder may import, besides itself. Nothing imports the CLI. */
export const LAYERS = {
  util: [],
  kernels: ['util'],
  data: ['util'],
  search: ['kernels', 'data', 'util'],
  retrain: ['search', 'kernels', 'data', 'util'],
  runs: ['search', 'retrain', 'data', 'util'],
  platform: ['kernels', 'util'],
  worker: ['search', 'retrain', 'runs', 'data', 'platform', 'kernels', 'util'],
  store: ['worker', 'runs', 'search', 'retrain', 'data', 'platform', 'util'],
  ui: ['store', 'runs', 'search', 'retrain', 'data', 'platform', 'util'],
  bench: ['search', 'retrain', 'kernels', 'data', 'runs', 'platform', 'util'],
  parity: ['search', 'retrain', 'kernels', 'data', 'platform', 'util'],
  cli: ['bench', 'parity', 'search', 'retrain', 'kernels', 'data', 'runs', 'platform', 'util'],
};

const TEST_FILE = /\.(test|cases)\.[cm]?[jt]sx?$/;

/** The folder under src/ a path is in ('' for src/ itself, null outside src/). */
function layerOf(srcRoot, file) {
  const rel = relative(srcRoot, file);
  if (rel.startsWith('..') || rel === '') return null;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0] : '';
}

export const layersRule = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'imports between the folders of src/ point one way (ui → store → worker → search/retrain → kernels → util)',
    },
    schema: [],
    messages: {
      upward:
        'src/{{from}} must not import from src/{{to}}: dependencies point one way (src/{{from}} may import {{allowed}}).',
      unknown: 'src/{{from}} is not a known folder: add it to lint/layers.js.',
    },
  },
  create(context) {
    const file = context.filename;
    const srcRoot = resolve(context.cwd, 'src');
    const from = layerOf(srcRoot, file);
    if (from === null || TEST_FILE.test(file)) return {};
    if (from !== '' && !(from in LAYERS)) {
      return { Program: (node) => context.report({ node, messageId: 'unknown', data: { from } }) };
    }
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = layerOf(srcRoot, resolve(dirname(file), source));
      if (to === null || to === '' || to === from) return;
      // src/main.tsx (the page's entry) mounts the UI and its store.
      const allowed = from === '' ? ['ui', 'store'] : LAYERS[from];
      if (!allowed.includes(to))
        context.report({
          node,
          messageId: 'upward',
          data: { from: from || '.', to, allowed: allowed.join(', ') || 'nothing' },
        });
    };
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};
