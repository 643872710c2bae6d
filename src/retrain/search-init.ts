// export-init: the lab's starting point of a search, for the PyTorch search script's --init-from:
// the initial weights, α and β (mapped to the script's parameter names and NCHW layouts), the
// first train and validation batches as the engine feeds them, and the engine's random stream,
// from which the first step's RReLU slopes are drawn. With it, the script's first step on one
// process is the lab's first step.
import { EDGE_LIST, NODES, type SearchConfig } from '../search/space';
import { SearchEngine, type SearchCheckpoint } from '../search/engine';
import type { InputShape, SavedVariable } from '../search/supernet';
import { formatCompactJson } from '../search/genotype';
import { makeSearchStreams, type Batch, type Dataset } from '../data/index';

export const SEARCH_INIT_FORMAT = 'factorized-nas-search-init' as const;
export const SEARCH_INIT_VERSION = 1 as const;

/** The edges leaving each state, in DARTS order (a grouped variable's slots, as supernet.ts lays them out). */
const EDGES_FROM = Array.from({ length: NODES + 2 }, (_, from) => EDGE_LIST.filter((e) => e.from === from));

/**
 * The network's variables with the conv weights and activation parameters per edge
 * (`cells.i.edges.e.sep_conv_3x3.dw1` [k, k, C, 1], `...pw1` [C, C], `cells.i.edges.e.prelu` [C],
 * `...swish` [1]), where the network keeps them per state (`cells.i.fromS.…`, the edges leaving
 * state S side by side). The inverse of supernet.ts's regroupPerEdgeVariables.
 */
export function ungroupPerStateVariables(variables: SavedVariable[]): SavedVariable[] {
  const out: SavedVariable[] = [];
  for (const v of variables) {
    const match = /^(cells\.\d+)\.from(\d+)\.(.+)$/.exec(v.name);
    if (!match) {
      out.push(v);
      continue;
    }
    const [, cell, fromText, part] = match;
    const edges = EDGES_FROM[Number(fromText)];
    if (!edges?.length) throw new Error(`${v.name}: no edges leave state ${fromText}`);
    const k = edges.length;
    edges.forEach((edge, slot) => {
      const name = `${cell}.edges.${edge.index}.${part}`;
      if (/\.(pw1|pw2)$/.test(part)) {
        const [, cin, cout] = v.shape;
        const size = cin * cout;
        out.push({ name, shape: [cin, cout], values: v.values.slice(slot * size, (slot + 1) * size) });
      } else if (/\.(dw1|dw2)$/.test(part)) {
        const [kh, kw, kc] = v.shape;
        const c = kc / k;
        const values = new Float32Array(kh * kw * c);
        for (let tap = 0; tap < kh * kw; tap++)
          values.set(v.values.subarray((tap * k + slot) * c, (tap * k + slot + 1) * c), tap * c);
        out.push({ name, shape: [kh, kw, c, 1], values });
      } else if (part === 'prelu' || part === 'swish') {
        const c = v.values.length / k;
        out.push({ name, shape: [c], values: v.values.slice(slot * c, (slot + 1) * c) });
      } else throw new Error(`${v.name}: not a conv weight or activation parameter the script knows`);
    });
  }
  return out;
}

/** values (row-major, `shape`) with its axes in the order `axes`: the result's axis i is the input's axes[i]. */
export function permuteAxes(values: Float32Array, shape: number[], axes: number[]): Float32Array {
  const out = new Float32Array(values.length);
  const outShape = axes.map((a) => shape[a]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let i = 0; i < axes.length; i++) source += index[i] * strides[axes[i]];
    out[o] = values[source];
    for (let i = axes.length - 1; i >= 0; i--) {
      if (++index[i] < outShape[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

const ARCH_NAMES: Record<string, string> = {
  alphaNormal: 'alpha_normal',
  alphaReduce: 'alpha_reduce',
  betaNormal: 'beta_normal',
  betaReduce: 'beta_reduce',
  edgeNormal: 'edge_normal',
  edgeReduce: 'edge_reduce',
};

/**
 * The network's variables as the script names and lays them out (PyTorch's NCHW weights):
 * convs [out, in, kh, kw], depthwise [C, 1, k, k], the classifier [classes, in]; α/β as
 * alpha_normal, … . Throws on a variable the script does not have.
 */
export function toScriptVariables(variables: SavedVariable[]): SavedVariable[] {
  return ungroupPerStateVariables(variables).map((v): SavedVariable => {
    const { name, shape, values } = v;
    if (ARCH_NAMES[name]) return { name: ARCH_NAMES[name], shape, values };
    if (name === 'stem.conv') {
      const [kh, kw, cin, cout] = shape;
      return { name: 'stem.conv.weight', shape: [cout, cin, kh, kw], values: permuteAxes(values, shape, [3, 2, 0, 1]) };
    }
    if (name === 'stem.bn.gamma') return { name: 'stem.bn.weight', shape, values };
    if (name === 'stem.bn.beta') return { name: 'stem.bn.bias', shape, values };
    if (name === 'classifier.weight') {
      const [cin, classes] = shape;
      return { name, shape: [classes, cin], values: permuteAxes(values, shape, [1, 0]) };
    }
    if (name === 'classifier.bias') return v;
    // 1x1 convs: preprocessing, FactorizedReduce halves (also a stride-2 skip), pointwise convs.
    const pointwise =
      /^cells\.\d+\.(pre[01]\.conv[12]?|edges\.\d+\.skip\.conv[12])$/.test(name) ||
      /^cells\.\d+\.edges\.\d+\..+\.pw[12]$/.test(name);
    if (pointwise) {
      const [cin, cout] = shape;
      return {
        name: scriptConvName(name),
        shape: [cout, cin, 1, 1],
        values: permuteAxes(values, shape, [1, 0]),
      };
    }
    if (/^cells\.\d+\.edges\.\d+\..+\.dw[12]$/.test(name)) {
      const [kh, kw, c] = shape;
      return { name: scriptConvName(name), shape: [c, 1, kh, kw], values: permuteAxes(values, [kh, kw, c], [2, 0, 1]) };
    }
    if (/^cells\.\d+\.edges\.\d+\.(prelu|swish)$/.test(name)) return v;
    throw new Error(`${name}: a variable the PyTorch search script does not have`);
  });
}

/** A conv op's weight `cells.i.edges.e.OP.part` is the script's `cells.i.edges.e.ops.OP.part.weight`. */
function scriptConvName(name: string): string {
  const op = /^(cells\.\d+\.edges\.\d+)\.(.+)\.(dw[12]|pw[12])$/.exec(name);
  if (op) return `${op[1]}.ops.${op[2]}.${op[3]}.weight`;
  return `${name}.weight`;
}

/** {"$typed": "Float32Array", "base64": ...}: the lab's encoding of typed arrays in JSON (docs/formats.md). */
export function encodeTypedArray(values: Float32Array | Int32Array): { $typed: string; base64: string } {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { $typed: values instanceof Float32Array ? 'Float32Array' : 'Int32Array', base64: btoa(text) };
}

export interface SearchInitFile {
  format: typeof SEARCH_INIT_FORMAT;
  version: typeof SEARCH_INIT_VERSION;
  createdAt: string;
  config: SearchConfig;
  input: InputShape;
  dataset: { name: string; source: string };
  /** The engine's random stream before the first step: its 4 state words (the RReLU draws). */
  rng: number[];
  variables: { name: string; shape: number[]; values: { $typed: string; base64: string } }[];
  /** The first batches, normalised as the engine feeds them (NHWC floats, labels). */
  batches: Record<
    'train' | 'val',
    { shape: number[]; x: { $typed: string; base64: string }; y: { $typed: string; base64: string } }
  >;
}

/** The init file of a checkpoint taken before the first step, with the first batches. */
export function searchInitFile(
  checkpoint: SearchCheckpoint,
  batches: { train: Batch; val: Batch },
  dataset: { name: string; source: string },
  createdAt: string,
): SearchInitFile {
  if (checkpoint.step !== 0)
    throw new Error(`export-init: the checkpoint is at step ${checkpoint.step}, not before the first step`);
  const batch = (b: Batch) => ({ shape: [...b.shape], x: encodeTypedArray(b.x), y: encodeTypedArray(b.y) });
  return {
    format: SEARCH_INIT_FORMAT,
    version: SEARCH_INIT_VERSION,
    createdAt,
    config: checkpoint.config,
    input: checkpoint.input,
    dataset,
    rng: [...checkpoint.rng],
    variables: toScriptVariables(checkpoint.variables).map((v) => ({
      name: v.name,
      shape: v.shape,
      values: encodeTypedArray(v.values),
    })),
    batches: { train: batch(batches.train), val: batch(batches.val) },
  };
}

/**
 * The lab's start of a search of `config` on `dataset` (a tfjs backend must be set): the engine
 * and batch streams exactly as `search` builds them, taken before its first step.
 */
export async function makeSearchInit(
  config: SearchConfig,
  dataset: Dataset,
  createdAt: string,
): Promise<SearchInitFile> {
  const streams = makeSearchStreams(dataset, {
    batchSize: config.batchSize,
    seed: config.seed,
    trainPortion: config.trainPortion,
  });
  const input = {
    height: dataset.height,
    width: dataset.width,
    channels: dataset.channels,
    classes: dataset.classNames.length,
  };
  const engine = new SearchEngine(config, input, streams);
  try {
    const checkpoint = await engine.checkpoint();
    // The engine has taken no batch yet: these are the ones its first step takes.
    const batches = { train: streams.train.next(), val: streams.val.next() };
    return searchInitFile(checkpoint, batches, { name: dataset.name, source: dataset.source }, createdAt);
  } finally {
    engine.dispose();
  }
}

/** The init file as text: two-space JSON, shapes and small arrays on one line. */
export function stringifySearchInit(file: SearchInitFile): string {
  return formatCompactJson(file, (_obj, size) => size <= 4);
}
