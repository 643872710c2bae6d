// Headless lab: `npm run --silent lab -- COMMAND [--flags]` prints one JSON object to stdout;
// errors go to stderr with a non-zero exit, and nothing is written half-done.
import { readFile, rename, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { NODE_BACKENDS, useBackend, useNullWebGpu, type NodeBackend } from '../platform/node';
import { FlagError, parseFlags, type Flags } from '../util/flags';
import {
  ACTIVATIONS,
  EDGES,
  PRESETS,
  SEARCH_MODES,
  candidateOps,
  makeConfig,
  type PresetName,
  type SearchConfig,
  type SearchMode,
} from '../search/space';
import { Supernet } from '../search/supernet';
import { Random } from '../util/random';
import { SearchEngine, SearchError } from '../search/engine';
import {
  deriveGenotype,
  genotypeOf,
  parseGenotypeInput,
  stringifyGenotypeFile,
  toGenotypeFile,
  withAllRelu,
  type ArchWeights,
} from '../search/genotype';
import { exportPytorch } from '../retrain/pytorch';
import { loadDatasetNode } from '../data/node';
import { evalBatches, makeSearchStreams, type Dataset } from '../data/index';
import { runBench } from '../bench/node-bench';
import { runParity } from './parity';
import { dispatchCostOptions, measureDispatchCost } from '../bench/dispatch-cost';
import { runCompiledCheck } from '../bench/compiled-check';
import { exportSearchScript } from '../retrain/pytorch-search';
import { makeSearchInit, stringifySearchInit } from '../retrain/search-init';
import { DEFAULT_HELD_OUT_IMAGES, decodeRunFile } from '../runs/format';
import { measureStepMemory, trackBuffers } from '../bench/memory';
import { checkFits, memoryBackendOf } from '../search/memory-estimate';

// The cpu backend's "install tfjs-node" banner would only confuse a CLI user.
tf.env().set('PROD', true);

export class UsageError extends Error {}

const USAGE = `usage: npm run --silent lab -- COMMAND [--flags]
  count           --mode M --channels C --layers L --in-channels 3 --classes 10 [--partial-channels K]
  count-genotype  --genotype FILE --channels C --layers L [--auxiliary] [--classes 10] [--in-channels 3]
  derive          --weights FILE [--mode M]
  search          --dataset NAME|PATH [--preset quick|paper] [--mode M] [--steps N] [--seed S] --out FILE
                  [--backend wasm|cpu|webgpu] and any config field as a flag (--channels, --layers,
                  --batch-size, --partial-channels, --order, --activation, --learning-rate, ...);
                  --eval-images N (default 500, the page's "Held-out images"): the held-out test images
                  the final supernet is scored on (valAccuracy)
  train           --genotype FILE --dataset NAME|PATH [--preset quick|full] [--epochs N] [--steps N]
  export-pytorch  --genotype FILE --out model.py
  bench           [--backend wasm|cpu|webgpu] [--sizes quick,paper] [--modes darts,factorized,nonfactorized] [--steps N] [--row-seconds N] [--no-compiled]
                  [--recompute auto|on|off] [--budget-gb G] (a GPU's memory: cells are kept when the step fits it)
  parity          [--backend webgpu|wasm|cpu] [--search-steps 20]: every op, gradient and a short search
                  against the cpu reference; exits 1 when a check fails
  compiled-check  [--null] [--steps 20] [--modes M,M]: the compiled webgpu step against the uncompiled
                  one in every mode (what each step issues; with a device that runs the work, the
                  losses and weights bit for bit); exits 1 when they differ
  dispatch-cost   [--channels 16] [--layers 8] [--modes darts,factorized] [--steps 8] [--compare compiled|packed-sgd|fused|grouped]:
                  the CPU side of a webgpu step (compiled, the default; --compare compiled adds the
                  uncompiled step), on Dawn's null adapter (no GPU runs anything)
  export-search   --out search.py [--preset quick|paper] [--mode M] [--steps N] and the config flags of search:
                  the search as one PyTorch script (torchrun --nproc_per_node=N search.py --data PATH --out run.json)
  export-init     --out init.json --dataset NAME|PATH and the same setup flags: the lab's initial weights,
                  first batches and random draws, for search.py --init-from
  import-run      FILE: checks a run file (the lab's, or one search.py wrote) and prints its summary
  memory          [--preset paper|quick] [--mode M] [--backend wasm|cpu|webgpu] [--null] [--recompute auto|on|off]
                  [--budget-gb G] [--steps 1] and any config field (--batch-size, --channels, ...): one search
                  step's memory, measured (peak and held bytes of live buffers, wasm's heap) and estimated`;

async function main(argv: string[]): Promise<unknown> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stderr.write(USAGE + '\n');
    if (!command) throw new UsageError('no command given');
    return null;
  }
  if (command === 'import-run') return importRunCommand(rest);
  const flags = parseFlags(rest);
  switch (command) {
    case 'count':
      return count(flags);
    case 'count-genotype':
      return countGenotype(flags);
    case 'derive':
      return derive(flags);
    case 'search':
      return search(flags);
    case 'train':
      return train(flags);
    case 'export-pytorch':
      return exportPytorchCommand(flags);
    case 'bench':
      return runBench(flags);
    case 'parity': {
      const report = await runParity(flags);
      if (!report.passed) {
        process.stdout.write(JSON.stringify(report) + '\n');
        throw new Error(`parity failed on ${report.backend}: ${report.deviceError ?? report.failed.join('; ')}`);
      }
      return report;
    }
    case 'compiled-check': {
      const report = await runCompiledCheck(flags);
      if (!report.passed) {
        process.stdout.write(JSON.stringify(report) + '\n');
        throw new Error(
          `the compiled step differs from the uncompiled one: ${
            report.deviceError ??
            report.rows
              .filter((r) => !r.ok)
              .map((r) => r.mode)
              .join(', ')
          }`,
        );
      }
      return report;
    }
    case 'dispatch-cost':
      return measureDispatchCost(dispatchCostOptions(flags), (line) => process.stderr.write(line + '\n'));
    case 'export-search':
      return exportSearchCommand(flags, rest);
    case 'export-init':
      return exportInitCommand(flags);
    case 'memory':
      return memory(flags);
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
}

// ---------------------------------------------------------------------------------------------

async function count(flags: Flags): Promise<unknown> {
  await useBackend('cpu');
  const mode = flags.enumOf('mode', SEARCH_MODES, 'factorized');
  const config = makeConfig({
    mode,
    channels: flags.int('channels', 16),
    layers: flags.int('layers', 8),
    partialChannels: flags.int('partial-channels', 1),
    activation: flags.enumOf('activation', ACTIVATIONS, 'relu'),
  });
  const input = { height: 32, width: 32, channels: flags.int('in-channels', 3), classes: flags.int('classes', 10) };
  flags.assertAllUsed();
  const net = new Supernet({ config, input }, new Random(0));
  const result = {
    supernetParams: net.countWeights(),
    alphaShape: [EDGES, candidateOps(mode).length],
    betaShape: mode === 'factorized' ? [EDGES, ACTIVATIONS.length] : null,
  };
  net.dispose();
  return result;
}

async function countGenotype(flags: Flags): Promise<unknown> {
  await useBackend('cpu');
  const file = flags.string('genotype');
  const genotype = genotypeOf(parseGenotypeInput(await readText(file)));
  const options = {
    genotype,
    channels: flags.int('channels', 36),
    layers: flags.int('layers', 20),
    classes: flags.int('classes', 10),
    inChannels: flags.int('in-channels', 3),
    auxiliary: flags.bool('auxiliary'),
    dropPathProb: 0,
  };
  flags.assertAllUsed();
  const { DiscreteNetwork } = await import('../retrain/network');
  const net = new DiscreteNetwork(options, new Random(0));
  const counts = net.countParams();
  net.dispose();
  return { params: counts.params, auxiliaryParams: counts.auxiliaryParams };
}

async function derive(flags: Flags): Promise<unknown> {
  const file = flags.string('weights');
  const modeFlag = flags.optionalString('mode');
  flags.assertAllUsed();
  let weights: ArchWeights;
  try {
    weights = JSON.parse(await readText(file));
  } catch (e) {
    throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
  }
  if (typeof weights !== 'object' || weights === null)
    throw new UsageError(`${file}: expected an object with alphaNormal and alphaReduce`);
  for (const key of ['alphaNormal', 'alphaReduce'] as const)
    if (!Array.isArray(weights[key]))
      throw new UsageError(`${file}: ${key} is missing (expected ${EDGES} rows of 8 or 40 numbers)`);
  const width = weights.alphaNormal[0]?.length;
  const mode: SearchMode = modeFlag
    ? (flagEnum('mode', modeFlag, SEARCH_MODES) as SearchMode)
    : width === 40
      ? 'nonfactorized'
      : weights.betaNormal
        ? 'factorized'
        : 'darts';
  const genotype = deriveGenotype(weights, mode);
  return toGenotypeFile(genotype, { weights });
}

/** Config flags: every SearchConfig field, kebab-cased (--batch-size, --arch-learning-rate ...). */
function configFromFlags(flags: Flags, preset: PresetName): SearchConfig {
  const base = PRESETS[preset];
  const overrides: Record<string, unknown> = {};
  for (const key of Object.keys(base) as (keyof SearchConfig)[]) {
    if (key === 'fixedBeta') continue;
    const flag = key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    if (!flags.has(flag)) continue;
    const current = base[key];
    overrides[key] = typeof current === 'number' ? flags.number(flag) : flags.string(flag);
  }
  if (flags.has('steps')) overrides.maxSteps = flags.int('steps');
  return makeConfig(overrides as Partial<SearchConfig>, preset);
}

async function search(flags: Flags): Promise<unknown> {
  const datasetName = flags.string('dataset', 'fashion-mnist');
  const preset = flags.enumOf('preset', ['quick', 'paper'] as const, 'quick');
  const out = flags.string('out');
  const backendName = flags.enumOf('backend', NODE_BACKENDS, 'wasm') as NodeBackend;
  const fixedBetaFile = flags.optionalString('fixed-beta-from');
  const config = configFromFlags(flags, preset);
  const quiet = flags.bool('quiet');
  const evalImages = flags.int('eval-images', DEFAULT_HELD_OUT_IMAGES);
  flags.assertAllUsed();
  if (config.mode === 'fixed-beta' && fixedBetaFile) {
    const source = parseGenotypeInput(await readText(fixedBetaFile));
    config.fixedBeta = fixedBetaFromGenotypeFile(source);
  }
  const backend = await useBackend(backendName);
  const dataset = await loadDatasetNode(datasetName, {});
  const streams = makeSearchStreams(dataset, {
    batchSize: config.batchSize,
    seed: config.seed,
    trainPortion: config.trainPortion,
  });
  const engine = new SearchEngine(config, inputOf(dataset), streams);
  const started = Date.now();
  let last = null;
  try {
    while (!engine.done) {
      last = await engine.runStep();
      const failure = backend.failure();
      if (failure) throw new Error(failure.message);
      if (!quiet && (last.step % 10 === 0 || last.step === 1))
        process.stderr.write(
          `step ${last.step}/${last.stepsTotal} train ${last.trainLoss.toFixed(3)} val ${last.valLoss.toFixed(3)} acc ${last.valAccuracy.toFixed(3)} (${last.stepMilliseconds.toFixed(0)} ms)\n`,
        );
    }
    // The supernet's accuracy on held-out images (the data set's test split), a steadier
    // figure than the last validation batch.
    const heldOut =
      evalImages > 0 ? await engine.evaluate(evalBatches(dataset, 'test', 100, { limit: evalImages })) : null;
    const weights = await engine.archWeights();
    const genotype = await engine.genotype();
    const file = toGenotypeFile(genotype, {
      weights,
      run: {
        mode: config.mode,
        dataset: dataset.name,
        config: config as unknown as Record<string, unknown>,
        backend: backendName,
        steps: engine.step,
        epochs: engine.step / engine.stepsPerEpoch,
        seconds: (Date.now() - started) / 1000,
        // As the lab writes them: valAccuracy is the held-out scoring, batchAccuracy the last batch's.
        metrics: {
          valAccuracy: heldOut?.accuracy ?? null,
          valImages: heldOut?.count ?? 0,
          valStep: heldOut ? engine.step : null,
          batchAccuracy: last?.valAccuracy ?? null,
          batchAccuracySteps: last ? 1 : 0,
          valLoss: last?.valLoss ?? null,
          trainLoss: last?.trainLoss ?? null,
        },
        createdAt: new Date().toISOString(),
      },
    });
    await writeAtomically(out, stringifyGenotypeFile(file));
    return {
      out,
      mode: config.mode,
      dataset: dataset.name,
      backend: backendName,
      steps: engine.step,
      seconds: (Date.now() - started) / 1000,
      trainLoss: last?.trainLoss ?? null,
      valLoss: last?.valLoss ?? null,
      valAccuracy: heldOut?.accuracy ?? null,
      valImages: heldOut?.count ?? 0,
      batchAccuracy: last?.valAccuracy ?? null,
      darts: file.darts,
    };
  } finally {
    engine.dispose();
  }
}

/**
 * `memory`: runs search steps of a preset (random images of its data set's shape: CIFAR-10's for
 * paper, Fashion-MNIST's for quick) and prints what they held, measured, beside the estimate.
 */
async function memory(flags: Flags): Promise<unknown> {
  const preset = flags.enumOf('preset', ['quick', 'paper'] as const, 'paper');
  const onNull = flags.bool('null');
  const backendName = flags.enumOf('backend', NODE_BACKENDS, onNull ? 'webgpu' : 'wasm') as NodeBackend;
  const recomputeFlag = flags.enumOf('recompute', ['auto', 'on', 'off'] as const, 'auto');
  const recompute: boolean | 'auto' = recomputeFlag === 'auto' ? 'auto' : recomputeFlag === 'on';
  const budget = flags.has('budget-gb') ? flags.number('budget-gb') * 1e9 : null;
  const steps = flags.int('steps', 1);
  const config = configFromFlags(flags, preset);
  flags.assertAllUsed();
  if (onNull && backendName !== 'webgpu') throw new UsageError('--null: the null adapter is a webgpu device');
  // Before any tensor exists, so that every buffer counts.
  trackBuffers();
  if (onNull) await useNullWebGpu();
  else await useBackend(backendName);
  const input =
    preset === 'paper'
      ? { height: 32, width: 32, channels: 3, classes: 10 }
      : { height: 28, width: 28, channels: 1, classes: 10 };
  const check = checkFits(config, input, memoryBackendOf(backendName), { recompute, budget });
  const measured = await measureStepMemory(config, input, { steps, engine: { recompute, memoryBudget: budget } });
  return {
    preset,
    ...measured,
    nullAdapter: onNull,
    fits: check.fits,
    limitBytes: check.limit,
    setupMessage: check.message,
  };
}

async function train(flags: Flags): Promise<unknown> {
  const genotypeFile = flags.string('genotype');
  const datasetName = flags.string('dataset', 'fashion-mnist');
  const preset = flags.enumOf('preset', ['quick', 'full'] as const, 'quick');
  const epochs = flags.has('epochs') ? flags.int('epochs') : undefined;
  const maxSteps = flags.has('steps') ? flags.int('steps') : undefined;
  const seed = flags.int('seed', 0);
  const backendName = flags.enumOf('backend', NODE_BACKENDS, 'wasm') as NodeBackend;
  const reluOnly = flags.bool('all-relu');
  const channels = flags.has('channels') ? flags.int('channels') : undefined;
  const layers = flags.has('layers') ? flags.int('layers') : undefined;
  const batchSize = flags.has('batch-size') ? flags.int('batch-size') : undefined;
  flags.assertAllUsed();
  let genotype = genotypeOf(parseGenotypeInput(await readText(genotypeFile)));
  if (reluOnly) genotype = withAllRelu(genotype);
  await useBackend(backendName);
  const dataset = await loadDatasetNode(datasetName, {});
  const { GenotypeTrainer, trainGenotype } = await import('../retrain/train');
  const overrides: Record<string, number> = { seed };
  if (epochs !== undefined) overrides.epochs = epochs;
  if (maxSteps !== undefined) overrides.maxSteps = maxSteps;
  if (flags.has('channels')) overrides.channels = channels!;
  if (flags.has('layers')) overrides.layers = layers!;
  if (flags.has('batch-size')) overrides.batchSize = batchSize!;
  const trainer = new GenotypeTrainer(genotype, dataset, overrides, preset);
  try {
    const summary = await trainGenotype(
      trainer,
      () => evalBatches(dataset, 'test', 100),
      (p) => {
        if (p.step % 20 === 0 || p.step === 1)
          process.stderr.write(
            `step ${p.step}/${p.stepsTotal} epoch ${p.epoch} loss ${p.loss.toFixed(3)} acc ${p.accuracy.toFixed(3)}\n`,
          );
      },
    );
    return {
      genotype: genotypeFile,
      dataset: dataset.name,
      preset,
      allRelu: reluOnly,
      backend: backendName,
      ...summary,
    };
  } finally {
    trainer.dispose();
  }
}

async function exportPytorchCommand(flags: Flags): Promise<unknown> {
  const file = flags.string('genotype');
  const out = flags.string('out');
  flags.assertAllUsed();
  const parsed = parseGenotypeInput(await readText(file));
  await writeAtomically(out, exportPytorch(parsed));
  return { out, darts: parsed.darts };
}

// ---------------------------------------------------------------------------------------------
// Searching on a cluster: the search as a PyTorch script, its start, and its run file back

/** A search config from the setup flags of `search` (preset, config fields, --steps, --fixed-beta-from). */
async function setupFromFlags(flags: Flags): Promise<SearchConfig> {
  const preset = flags.enumOf('preset', ['quick', 'paper'] as const, 'quick');
  const fixedBetaFile = flags.optionalString('fixed-beta-from');
  const config = configFromFlags(flags, preset);
  if (config.mode === 'fixed-beta' && fixedBetaFile)
    config.fixedBeta = fixedBetaFromGenotypeFile(parseGenotypeInput(await readText(fixedBetaFile)));
  return config;
}

async function exportSearchCommand(flags: Flags, argv: string[]): Promise<unknown> {
  const out = flags.string('out');
  const config = await setupFromFlags(flags);
  flags.assertAllUsed();
  const template = await readFile(new URL('../retrain/search_template.py', import.meta.url), 'utf8');
  const setupFlags = argv.filter((a, i) => !(a === '--out' || argv[i - 1] === '--out' || a.startsWith('--out=')));
  const script = exportSearchScript(template, config, {
    createdAt: new Date().toISOString(),
    flags: setupFlags.join(' '),
  });
  await writeAtomically(out, script);
  return { out, mode: config.mode, config };
}

async function exportInitCommand(flags: Flags): Promise<unknown> {
  const out = flags.string('out');
  const datasetName = flags.string('dataset', 'fashion-mnist');
  const config = await setupFromFlags(flags);
  flags.assertAllUsed();
  // The initial weights, batches and draws come from seeded JavaScript streams: any backend gives
  // the same numbers, and cpu needs no setting up.
  await useBackend('cpu');
  const dataset = await loadDatasetNode(datasetName, {});
  const init = await makeSearchInit(config, dataset, new Date().toISOString());
  await writeAtomically(out, stringifySearchInit(init));
  return {
    out,
    mode: config.mode,
    dataset: dataset.name,
    input: init.input,
    variables: init.variables.length,
    rng: init.rng,
  };
}

/** import-run FILE: the run as the lab would import it, or exit 1 naming the first problem. */
async function importRunCommand(argv: string[]): Promise<unknown> {
  const [file, ...rest] = argv;
  if (!file || file.startsWith('--'))
    throw new UsageError('import-run needs a FILE (a run file, a genotype file or a DARTS string)');
  parseFlags(rest).assertAllUsed();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      cause: e,
    });
  }
  const { summary, metrics, snapshots, checkpoint } = decodeRunFile(text, new Date().toISOString());
  return {
    file,
    name: summary.name,
    kind: summary.kind,
    mode: summary.mode,
    status: summary.status,
    message: summary.message,
    backend: summary.backend,
    dataset: summary.dataset,
    steps: summary.steps,
    epoch: summary.epoch,
    seconds: summary.seconds,
    stepsTotal: summary.stepsTotal,
    bestValAccuracy: summary.bestValAccuracy,
    bestStep: summary.bestStep,
    lastMetrics: summary.lastMetrics,
    metrics: metrics.length,
    snapshots: snapshots.length,
    snapshotSteps: snapshots.length ? [snapshots[0]!.step, snapshots[snapshots.length - 1]!.step] : null,
    checkpointStep: checkpoint ? checkpoint.step : null,
    darts: summary.genotype?.darts ?? null,
  };
}

// ---------------------------------------------------------------------------------------------

function inputOf(dataset: Dataset) {
  return {
    height: dataset.height,
    width: dataset.width,
    channels: dataset.channels,
    classes: dataset.classNames.length,
  };
}

/** Config-A: β frozen from a genotype (one-hot on each edge's activation) or from its weights. */
function fixedBetaFromGenotypeFile(file: ReturnType<typeof parseGenotypeInput>): SearchConfig['fixedBeta'] {
  const weights = file.weights;
  if (weights?.betaNormal && weights?.betaReduce)
    return { betaNormal: weights.betaNormal, betaReduce: weights.betaReduce };
  const rows = (edges: { from: number; activation: string | null }[]) => {
    const beta = Array.from({ length: EDGES }, () => ACTIVATIONS.map(() => 0));
    edges.forEach((edge, entry) => {
      if (!edge.activation) return;
      const node = Math.floor(entry / 2);
      const edgeIndex = (node * (node + 3)) / 2 + edge.from;
      beta[edgeIndex] = ACTIVATIONS.map((a) => (a === edge.activation ? 0 : -30));
    });
    return beta;
  };
  return { betaNormal: rows(file.normal), betaReduce: rows(file.reduce) };
}

function flagEnum<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name}: must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Writes through a temporary file and a rename, so a failure never leaves half a file. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

main(process.argv.slice(2)).then(
  (result) => {
    if (result !== null && result !== undefined) process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  },
  (error: Error) => {
    const prefix = error instanceof SearchError ? `search failed (${error.code}): ` : 'error: ';
    process.stderr.write(prefix + error.message + '\n');
    process.exit(error instanceof UsageError || error instanceof FlagError ? 2 : 1);
  },
);
