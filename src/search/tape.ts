// Backpropagation that frees as it goes. tfjs 4.22's engine.gradients keeps every tensor's
// gradient until the whole backward pass ends, and every tensor the tape saved for it too: a
// search step's backward pass then held about three times what its forward pass did (measured at
// the paper's size on wasm). This walks the same tape in the same order — the same kernels, the
// same sums in the same order, so the same numbers bit for bit — but frees each gradient once the
// node that consumes it has run, and each node's saved tensors once its gradient is computed.
// It is also the inner gradient of a checkpoint (checkpoint.ts), which runs inside an outer
// backward pass.
//
// It relies on tfjs-core 4.22's engine internals (state.activeTape, startTape/endTape, tape
// nodes' `gradient` and `saved`), as engine.gradients does; tape.test.ts fails if they move.
import * as tf from '@tensorflow/tfjs';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number; kernelDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T>(name: string, f: () => T): T;
}

const engine = () => tf.engine() as unknown as EngineInternals;

/** Whether ops run now are being recorded for a gradient (inside a gradient's forward pass, outside any kernel). */
export function tapeRecording(): boolean {
  const { state } = engine();
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

/**
 * Which inputs of the tape node whose gradient is being computed now lead from what is being
 * differentiated (their names: '0', '1', … for a customGrad), or null outside this module's
 * backward pass. A customGrad computes all its inputs' gradients at once; a checkpoint reads this
 * to compute only those asked for (the architecture pass needs no filter gradients).
 */
let inputsAskedFor: ReadonlySet<string> | null = null;
export function differentiatedInputs(): ReadonlySet<string> | null {
  return inputsAskedFor;
}

/**
 * The gradients of f() with respect to xs (null where f does not depend on one), seeded with dy
 * (default ones), and f's value. The same numbers as tf.engine().gradients(f, xs, dy, true).
 */
export function gradients(
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
): { value: tf.Tensor; grads: (tf.Tensor | null)[] } {
  if (xs.length === 0) throw new Error('gradients: nothing to differentiate with respect to');
  const e = engine();
  // A gradient taken inside another's backward pass (a checkpoint's recomputation) starts a tape
  // of its own, which replaces the outer one: put the outer one back when done.
  const outerTape = e.state.gradientDepth === 0 ? e.state.activeTape : undefined;
  const outerAsked = inputsAskedFor;
  try {
    const y = e.scopedRun(
      () => e.startTape(),
      () => e.endTape(),
      () => e.tidy('forward', f),
    );
    if (!(y instanceof tf.Tensor)) throw new Error('gradients: f must return a tensor');
    const tape = nodesFromXsToY(e.state.activeTape!, xs, y);
    return e.tidy('backward', () => backpropagate(tape, xs, y, dy));
  } finally {
    inputsAskedFor = outerAsked;
    if (e.state.gradientDepth === 0) {
      // What nodes off the path from xs to y saved (disposing twice is harmless).
      for (const node of e.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
      e.state.activeTape = outerTape ?? null;
    }
  }
}

/** The backward pass over `tape` (nodes from xs to y), freeing each gradient once read. */
function backpropagate(
  tape: TapeNode[],
  xs: tf.Tensor[],
  y: tf.Tensor,
  dy: tf.Tensor | undefined,
): { value: tf.Tensor; grads: (tf.Tensor | null)[] } {
  const seed = dy ?? tf.onesLike(y);
  const gradientOf = new Map<number, tf.Tensor>([[y.id, seed]]);
  const kept = new Set(xs.map((x) => x.id)).add(y.id);
  // The caller's dy is the caller's to free.
  const free = (t: tf.Tensor) => {
    if (t !== dy) t.dispose();
  };
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const dys = node.outputs.map((o) => gradientOf.get(o.id) ?? null);
    const names = Object.keys(node.inputs);
    // One scope for the node: what its gradient function makes besides the input gradients (a
    // customGrad's temporaries too) is freed now, not when the pass ends.
    const dxs = tf.tidy(() => {
      inputsAskedFor = new Set(names);
      const fns = node.gradient!(dys);
      return names.map((name) => {
        if (!(name in fns)) throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}.`);
        return fns[name]!();
      });
    });
    names.forEach((name, j) => {
      const dx = dxs[j]!;
      const x = node.inputs[name]!;
      if (dx.dtype !== 'float32')
        throw new Error(`Error in gradient for op ${node.kernelName}: input ${name}'s gradient is ${dx.dtype}`);
      if (!tf.util.arraysEqual(dx.shape, x.shape))
        throw new Error(
          `Error in gradient for op ${node.kernelName}: input ${name}'s gradient has shape ${dx.shape}, the input ${x.shape}`,
        );
      const current = gradientOf.get(x.id);
      if (!current) gradientOf.set(x.id, dx);
      else {
        gradientOf.set(x.id, tf.add(current, dx));
        free(current);
      }
    });
    // This node was the only reader of its outputs' gradients and of what it saved. A gradient
    // function may pass dy on as an input's gradient: that one lives on.
    const passedOn = new Set(names.map((name) => gradientOf.get(node.inputs[name]!.id)));
    for (const o of node.outputs) {
      const g = gradientOf.get(o.id);
      if (!g || kept.has(o.id)) continue;
      gradientOf.delete(o.id);
      if (!passedOn.has(g)) free(g);
    }
    for (const t of node.saved ?? []) t.dispose();
  }
  return { value: y, grads: xs.map((x) => gradientOf.get(x.id) ?? null) };
}

/**
 * tf.variableGrads with this module's backward pass: the gradient of f() for each variable it
 * depends on, by the variable's name.
 */
export function variableGrads(
  f: () => tf.Scalar,
  variables: tf.Variable[],
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const { value, grads } = gradients(f, variables);
  const byName: Record<string, tf.Tensor> = {};
  variables.forEach((v, i) => {
    const g = grads[i];
    if (g) byName[v.name] = g;
  });
  return { value: value as tf.Scalar, grads: byName };
}

/** tfjs-core 4.22's getFilteredNodesXToY: the nodes on a path from xs to y, their inputs pruned to those from xs. */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape)
    for (const name in node.inputs)
      if (fromX.has(node.inputs[name]!.id)) {
        for (const o of node.outputs) fromX.add(o.id);
        nodesFromX.add(node.id);
        break;
      }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id)))
      for (const name in node.inputs) {
        toY.add(node.inputs[name]!.id);
        nodesToY.add(node.id);
      }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const name in node.inputs) if (fromX.has(node.inputs[name]!.id)) inputs[name] = node.inputs[name]!;
    out.push({ ...node, inputs });
  }
  return out;
}
