// The layering rule catches a wrong import, and the repository as it is passes it.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();
const lint = async (filePath: string, code: string) =>
  (await eslint.lintText(code, { filePath }))[0]!.messages.filter((m) => m.ruleId === 'lab/layers');

describe('lab/layers', () => {
  it('refuses an import against the direction of the layers, naming both folders', async () => {
    const [problem] = await lint(
      'src/worker/bad.ts',
      "import { useLab } from '../store/lab';\nexport const x = useLab;\n",
    );
    expect(problem?.message).toBe(
      'src/worker must not import from src/store: dependencies point one way (src/worker may import search, retrain, runs, data, platform, kernels, util).',
    );
    expect(await lint('src/kernels/bad.ts', "export { Supernet } from '../search/supernet';\n")).toHaveLength(1);
    expect(await lint('src/search/bad.ts', "import { main } from '../cli/main';\nvoid main;\n")).toHaveLength(1);
    expect(await lint('src/util/bad.ts', "export const load = () => import('../data/index');\n")).toHaveLength(1);
  });

  it('allows imports down the layers, within a folder, from packages, and in tests', async () => {
    expect(
      await lint(
        'src/worker/ok.ts',
        "import { SearchEngine } from '../search/engine';\nimport './protocol';\nimport * as tf from '@tensorflow/tfjs';\nvoid SearchEngine; void tf;\n",
      ),
    ).toEqual([]);
    expect(
      await lint('src/kernels/fused.test.ts', "import { batchNorm } from '../search/ops';\nvoid batchNorm;\n"),
    ).toEqual([]);
  });

  it('the repository keeps its layers', async () => {
    const results = await eslint.lintFiles(['src']);
    const problems = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === 'lab/layers').map((m) => `${r.filePath}:${m.line} ${m.message}`),
    );
    expect(problems).toEqual([]);
  }, 120_000);
});
