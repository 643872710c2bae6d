// Gradient checkpointing, as torch.utils.checkpoint does it: a checkpointed function keeps only
// its inputs for the backward pass, not its intermediates, and runs again in the backward pass to
// take its gradient. A search step then holds the intermediates of one cell at a time instead of
// every cell's, for one more forward pass of each cell.
//
// The numbers stay what they are without it, bit for bit: the recomputation runs the same kernels
// on the same inputs (the saved clones share their buffers), reads the random values the first
// pass drew (ForwardContext.draws) instead of drawing again — so the engine's random stream, and a
// compiled step's record of its per-step values (kernels/step-values.ts), see each draw once — and
// its gradients are summed in the order the whole network's backward pass sums them.
import * as tf from '@tensorflow/tfjs';
import { Random } from '../util/random';
import type { DrawLog, ForwardContext } from './ops';
import { differentiatedInputs, gradients, tapeRecording } from './tape';

/**
 * Test hook: the recomputation draws its random values again from the engine's stream instead of
 * reading those the forward pass drew (the bug the bit-identity tests exist to catch).
 */
export const checkpointTesting = { redraw: false };

/**
 * fn(inputs, ctx), checkpointed when a gradient is being taken (otherwise simply run). `inputs`
 * are the tensors fn reads that may be differentiated; fn must read them from its argument (their
 * saved clones when recomputed). `variables` are the variables fn reads itself: a customGrad
 * hides them from the outer tape unless they are its inputs too. Everything else fn reads must
 * stay as it is until the backward pass (constants).
 *
 * An input read twice by fn (a cell's two inputs are the same tensor in cell 0) should be passed
 * once per read, in the order the uncheckpointed backward pass would add their gradients: the
 * outer backward pass adds a node's input gradients in the order of its inputs.
 */
export function checkpoint(
  fn: (inputs: tf.Tensor[], ctx: ForwardContext) => tf.Tensor,
  inputs: tf.Tensor[],
  variables: tf.Variable[],
  ctx: ForwardContext,
): tf.Tensor {
  // No gradient is being taken (evaluation, or inside a checkpointed forward pass, which runs
  // untaped): fn's intermediates are freed as soon as it returns.
  if (!tapeRecording()) return tf.tidy(() => fn(inputs, ctx));
  const count = inputs.length;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const given = args.slice(0, count) as tf.Tensor[];
    // The forward pass runs with the tape off (inside a kernel): its intermediates are freed on return.
    const rngState = ctx.rng.getState();
    const draws = new RecordedDraws(ctx.draws ?? null);
    const value = fn(given, { ...ctx, draws });
    save([...given, ...draws.tensors]);
    draws.release();
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      // Only the inputs the backward pass asks for (tape.ts); all of them under tfjs's own.
      const asked = differentiatedInputs();
      const all = [...saved.slice(0, count), ...variables];
      const wanted = all.map((_, i) => asked === null || asked.has(String(i)));
      const xs = all.filter((_, i) => wanted[i]);
      const replay = draws.replay(saved.slice(count));
      // The stream's copy is never drawn from when the draws are replayed; it keeps ctx.rng as it is if one is.
      const again = checkpointTesting.redraw
        ? { ...ctx, draws: undefined }
        : { ...ctx, rng: new Random(rngState), draws: replay };
      const { value: recomputed, grads } = gradients(() => fn(saved.slice(0, count), again), xs, dy);
      recomputed.dispose();
      if (!checkpointTesting.redraw) replay.finish();
      // A gradient no one asked for is never read (tape.ts calls only those asked for): one
      // placeholder stands for all of them.
      let placeholder: tf.Tensor | null = null;
      let next = 0;
      return all.map((x, i) => {
        if (!wanted[i]) return (placeholder ??= tf.zeros([]));
        return grads[next++] ?? tf.zeros(x.shape);
      });
    };
    return { value, gradFunc };
  });
  return op(...inputs, ...variables);
}

/**
 * The random values a checkpointed forward pass drew, in order: drawn through the enclosing
 * pass's log when checkpoints nest (so that one sees them too), and given back in the same order
 * to the recomputation.
 */
class RecordedDraws implements DrawLog {
  private readonly drawn: { tensor: tf.Tensor1D; values: number[] }[] = [];
  constructor(private readonly outer: DrawLog | null) {}
  take(draw: () => { tensor: tf.Tensor1D; values: number[] }) {
    // Drawn here, it is kept until this pass saved it: a checkpoint nested in the pass frees its
    // own intermediates when it returns. Drawn through the outer log, the outer pass keeps it.
    const value = this.outer ? this.outer.take(draw) : keep(draw());
    this.drawn.push(value);
    return value;
  }
  /** Frees what take() kept, once the pass has saved it. */
  release(): void {
    if (!this.outer) for (const d of this.drawn) d.tensor.dispose();
  }
  get tensors(): tf.Tensor1D[] {
    return this.drawn.map((d) => d.tensor);
  }
  /** The draws again, as their saved clones (the tensors drawn were freed with the forward pass). */
  replay(kept: tf.Tensor[]): DrawLog & { finish(): void } {
    if (kept.length !== this.drawn.length) throw new Error('checkpoint: the saved draws do not match the draws');
    let next = 0;
    return {
      take: () => {
        const d = this.drawn[next];
        if (!d) throw new Error('checkpoint: the recomputation drew more random values than the forward pass');
        return { tensor: kept[next++] as tf.Tensor1D, values: d.values };
      },
      finish: () => {
        if (next !== this.drawn.length)
          throw new Error('checkpoint: the recomputation drew fewer random values than the forward pass');
      },
    };
  }
}

function keep<T extends { tensor: tf.Tensor }>(drawn: T): T {
  tf.keep(drawn.tensor);
  return drawn;
}
