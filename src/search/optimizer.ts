// The tri-level search step of A-DARTS (Algorithm 1): ω by SGD on a train batch, then α, then β,
// each by its own Adam on a validation batch; first order, or DARTS's unrolled second order with
// the finite-difference Hessian-vector product. Optimisers follow PyTorch's update rules exactly
// (SGD momentum with L2 weight decay, Adam with L2 weight decay), since the paper's numbers are
// PyTorch's.
import * as tf from '@tensorflow/tfjs';
import type { SearchConfig } from './space';
import type { Supernet } from './supernet';
import { sumTensors, type ForwardContext } from './ops';
import { fusedKernelsActive, fusedSgdPackedStep, fusedSgdStep, fusedSumsOfSquares } from '../kernels/fused';
import { PackedSgdBuffers, packedSgdSupported } from '../kernels/packed-sgd';
import { stepEffect, stepScalar } from '../kernels/step-values';
import { variableGrads } from './tape';

/** PyTorch CosineAnnealingLR(T_max = epochs, eta_min), stepped once per epoch as DARTS does. */
export function cosineLearningRate(epoch: number, epochs: number, lrMax: number, lrMin: number): number {
  if (epochs <= 0) return lrMax;
  return lrMin + ((lrMax - lrMin) * (1 + Math.cos((Math.PI * Math.min(epoch, epochs)) / epochs))) / 2;
}

type Grads = Map<tf.Variable, tf.Tensor>;

/** Global L2 norm of gradients (a scalar tensor). */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  // Fused: one kernel per 7 gradients instead of a square and a sum per gradient.
  if (fusedKernelsActive()) return tf.reshape(tf.sqrt(sumTensors(fusedSumsOfSquares(grads))), []) as tf.Scalar;
  return tf.sqrt(sumTensors(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
}

/**
 * torch.nn.utils.clip_grad_norm_'s factor: min(1, max_norm / (norm + 1e-6)), or null when
 * clipping is off. The optimiser multiplies it into each gradient.
 */
export function clipScale(grads: Grads, maxNorm: number): tf.Scalar | null {
  if (!(maxNorm > 0) || grads.size === 0) return null;
  const norm = globalNorm([...grads.values()]);
  return tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6))) as tf.Scalar;
}

export interface OptimizerState {
  step: number;
  slots: Record<string, { name: string; values: Float32Array; shape: number[] }[]>;
}

/** Serialisable per-variable slots (momentum buffers, Adam moments). */
abstract class SlotOptimizer {
  protected readonly slots = new Map<string, Map<tf.Variable, tf.Variable>>();
  step = 0;

  constructor(
    protected readonly vars: tf.Variable[],
    slotNames: string[],
  ) {
    for (const slot of slotNames) {
      const m = new Map<tf.Variable, tf.Variable>();
      // tidy frees the zeros tensor (the slot keeps the data), not the variable.
      for (const v of vars)
        m.set(
          v,
          tf.tidy(() => tf.variable(tf.zerosLike(v), false)),
        );
      this.slots.set(slot, m);
    }
  }

  protected slot(name: string, v: tf.Variable): tf.Variable {
    return this.slots.get(name)!.get(v)!;
  }

  /** Every slot variable, named `prefix.slot.variable` (the same in every optimiser of a config). */
  namedSlots(prefix: string): { name: string; variable: tf.Variable }[] {
    const out: { name: string; variable: tf.Variable }[] = [];
    for (const [slot, m] of this.slots)
      this.vars.forEach((v, i) => out.push({ name: `${prefix}.${slot}.${i}`, variable: m.get(v)! }));
    return out;
  }

  async getState(): Promise<OptimizerState> {
    const slots: OptimizerState['slots'] = {};
    for (const [slot, m] of this.slots) {
      slots[slot] = [];
      for (const [v, s] of m)
        slots[slot].push({ name: v.name, values: (await s.data()) as Float32Array, shape: s.shape });
    }
    return { step: this.step, slots };
  }

  setState(state: OptimizerState): void {
    this.step = state.step;
    for (const [slot, m] of this.slots) {
      const saved = state.slots[slot];
      if (!saved || saved.length !== m.size)
        throw new Error(`optimizer state: slot ${slot} does not match this network`);
      let i = 0;
      for (const s of m.values()) {
        const entry = saved[i++];
        if (entry.values.length !== s.size)
          throw new Error(`optimizer state: slot ${slot} entry ${entry.name} has the wrong size`);
        tf.tidy(() => s.assign(tf.tensor(entry.values, s.shape)));
      }
    }
  }

  dispose(): void {
    for (const m of this.slots.values()) for (const s of m.values()) s.dispose();
  }
}

/** torch.optim.SGD(momentum, weight_decay): d = g + wd·p; buf = μ·buf + d; p −= lr·buf. */
export class SgdMomentum extends SlotOptimizer {
  /** webgpu: ω and its momentum in one buffer each, updated by one dispatch (packed-sgd.ts). */
  private packed: PackedSgdBuffers | null = null;

  constructor(
    vars: tf.Variable[],
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {
    super(vars, ['momentum']);
  }

  /**
   * learningRate: a number, or a scalar tensor (the search's: stepScalar, as it changes with the
   * epoch); gradScale: the gradient-clipping factor (clipScale), or null.
   */
  apply(grads: Grads, learningRate: number | tf.Scalar, gradScale: tf.Scalar | null = null): void {
    stepEffect(() => this.step++);
    const fused = fusedKernelsActive();
    const packed = this.prepare(grads.keys());
    tf.tidy(() => {
      const lr = typeof learningRate === 'number' ? tf.scalar(learningRate) : learningRate;
      if (fused) {
        const scale = gradScale ? tf.reshape(gradScale, [1]) : tf.ones([1]);
        for (const [v, g] of grads) {
          if (packed) {
            // 1 dispatch per variable, in place.
            fusedSgdPackedStep(v, g, scale, lr, this.momentum, this.weightDecay, this.step === 1);
            continue;
          }
          // 2 kernels per variable instead of 7.
          const buf = this.slot('momentum', v);
          const next = fusedSgdStep(v, g, buf, scale, lr, this.momentum, this.weightDecay, this.step === 1);
          buf.assign(next.buf);
          v.assign(next.w);
        }
        return;
      }
      for (const [v, raw] of grads) {
        const g = gradScale ? tf.mul(raw, gradScale) : raw;
        const d = this.weightDecay ? tf.add(g, tf.mul(v, this.weightDecay)) : g;
        const buf = this.slot('momentum', v);
        const next = this.step === 1 ? d : tf.add(tf.mul(buf, this.momentum), d);
        buf.assign(next);
        v.assign(tf.sub(v, tf.mul(next, lr)));
      }
    });
  }

  /**
   * Makes ω and its momentum live where this step's update reads them: packed buffers on webgpu
   * (copying what changed since the last update: packed-sgd.ts), or the slots. Called by apply,
   * and before a compiled step replays (the record cannot hold these copies). Returns whether
   * the update is packed.
   */
  prepare(vars: Iterable<tf.Variable> = this.vars): boolean {
    const packed = fusedKernelsActive() && packedSgdSupported();
    if (packed) {
      this.packed ??= new PackedSgdBuffers((v) => this.slot('momentum', v));
      this.packed.prepare(vars);
    } else this.packed?.syncSlots();
    return packed;
  }

  /** The momentum term DARTS's unrolled step uses: μ·buf (zero before the first step). */
  momentumOf(v: tf.Variable): tf.Tensor {
    const scale = this.step === 0 ? 0 : this.momentum;
    const fromBuffer = this.packed?.scaledMomentum(v, scale);
    if (fromBuffer) return fromBuffer;
    this.packed?.syncSlots();
    return tf.mul(this.slot('momentum', v), scale);
  }

  override async getState(): Promise<OptimizerState> {
    this.packed?.syncSlots();
    return super.getState();
  }

  override setState(state: OptimizerState): void {
    super.setState(state);
    this.packed?.markSlotsCurrent();
  }

  /** Bytes of the packed buffers, which tf.memory() does not count. */
  get packedBytes(): number {
    return this.packed?.bytes ?? 0;
  }

  override dispose(): void {
    this.packed?.dispose();
    this.packed = null;
    super.dispose();
  }
}

/** torch.optim.Adam(lr, betas, weight_decay) with L2 weight decay added to the gradient. */
export class Adam extends SlotOptimizer {
  constructor(
    vars: tf.Variable[],
    private readonly learningRate: number,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly weightDecay: number,
    private readonly epsilon = 1e-8,
  ) {
    super(vars, ['m', 'v']);
  }

  apply(grads: Grads): void {
    tf.tidy(() => {
      // Per-step values (step-values.ts): the bias corrections change with the step count.
      const stepSize = stepScalar(() => {
        this.step++;
        return this.learningRate / (1 - Math.pow(this.beta1, this.step));
      });
      const correction2 = stepScalar(() => 1 - Math.pow(this.beta2, this.step));
      for (const [v, g] of grads) {
        const d = this.weightDecay ? tf.add(g, tf.mul(v, this.weightDecay)) : g;
        const m = this.slot('m', v);
        const s = this.slot('v', v);
        const mNext = tf.add(tf.mul(m, this.beta1), tf.mul(d, 1 - this.beta1));
        const vNext = tf.add(tf.mul(s, this.beta2), tf.mul(tf.square(d), 1 - this.beta2));
        m.assign(mNext);
        s.assign(vNext);
        const denom = tf.add(tf.sqrt(tf.div(vNext, correction2)), this.epsilon);
        v.assign(tf.sub(v, tf.mul(tf.div(mNext, denom), stepSize)));
      }
    });
  }
}

export interface StepBatch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** Loss values of one step, as scalar tensors (read them with await data()). */
export interface StepLosses {
  trainLoss: tf.Scalar;
  valLoss: tf.Scalar;
  valCorrect: tf.Scalar;
}

/** The optimisers of one search and the tri-level step over them. */
export class TriLevelOptimizer {
  readonly weightVars: tf.Variable[];
  readonly alphaVars: tf.Variable[];
  readonly betaVars: tf.Variable[];
  readonly weightOptimizer: SgdMomentum;
  readonly alphaOptimizer: Adam;
  readonly betaOptimizer: Adam | null;

  constructor(
    private readonly net: Supernet,
    private readonly config: SearchConfig,
  ) {
    this.weightVars = net.variables('weights');
    // PC-DARTS edge-normalisation weights are architecture weights updated with α.
    this.alphaVars = [...net.variables('alpha'), ...net.variables('edge')];
    this.betaVars = net.variables('beta');
    this.weightOptimizer = new SgdMomentum(this.weightVars, config.momentum, config.weightDecay);
    this.alphaOptimizer = new Adam(
      this.alphaVars,
      config.archLearningRate,
      config.archBeta1,
      config.archBeta2,
      config.archWeightDecay,
    );
    this.betaOptimizer = this.betaVars.length
      ? new Adam(
          this.betaVars,
          config.activationLearningRate,
          config.archBeta1,
          config.archBeta2,
          config.activationWeightDecay,
        )
      : null;
  }

  /**
   * One search step. Returns kept scalar tensors the caller must dispose. `learningRate` gives
   * this step's (a per-step value: a compiled step asks it again on every replay).
   * updateArchitecture = false during warm-up epochs (ω only).
   */
  step(
    train: StepBatch,
    val: StepBatch,
    learningRate: () => number,
    ctx: ForwardContext,
    updateArchitecture = true,
  ): StepLosses {
    const lr = stepScalar(learningRate);
    try {
      const trainLoss = this.weightStep(train, lr, ctx);
      if (!updateArchitecture) {
        const { valLoss, valCorrect } = tf.tidy(() => {
          const logits = this.net.forward(val.x, ctx);
          return { valLoss: tf.keep(crossEntropyOf(logits, val.y)), valCorrect: tf.keep(correctCount(logits, val.y)) };
        });
        return { trainLoss, valLoss, valCorrect };
      }
      const { valLoss, valCorrect } =
        this.config.order === 2 ? this.unrolledArchStep(train, val, lr, ctx) : this.firstOrderArchStep(val, ctx);
      return { trainLoss, valLoss, valCorrect };
    } finally {
      lr.dispose();
    }
  }

  /**
   * The updates of one step without the passes that compute the gradients: ω's clipped SGD with
   * the given gradients, then α's and β's Adam with zero gradients (the bench times this).
   */
  applyUpdates(weightGrads: Grads, learningRate: number): void {
    tf.tidy(() => {
      this.weightOptimizer.apply(weightGrads, learningRate, clipScale(weightGrads, this.config.gradClip));
      this.alphaOptimizer.apply(new Map(this.alphaVars.map((v) => [v, tf.zerosLike(v)])));
      this.betaOptimizer?.apply(new Map(this.betaVars.map((v) => [v, tf.zerosLike(v)])));
    });
  }

  /** ω ← SGD step on the train batch (gradient clipped to the configured global norm). */
  private weightStep(train: StepBatch, learningRate: tf.Scalar, ctx: ForwardContext): tf.Scalar {
    return tf.tidy(() => {
      const { value, grads } = this.gradients(() => this.net.loss(train.x, train.y, ctx), this.weightVars);
      this.weightOptimizer.apply(grads, learningRate, clipScale(grads, this.config.gradClip));
      return value;
    });
  }

  /** α then β, first order: each from a validation forward pass (β's after α moved). */
  private firstOrderArchStep(val: StepBatch, ctx: ForwardContext): { valLoss: tf.Scalar; valCorrect: tf.Scalar } {
    const sequential = this.config.archUpdate === 'sequential' && this.betaOptimizer;
    const archVars = sequential ? this.alphaVars : [...this.alphaVars, ...this.betaVars];
    const result = tf.tidy(() => {
      let logits: tf.Tensor2D | null = null;
      const { value, grads } = this.gradients(() => {
        // Kept past the gradient's own tidy, for the accuracy count.
        logits = tf.keep(this.net.forward(val.x, ctx));
        return crossEntropyOf(logits, val.y);
      }, archVars);
      const correct = correctCount(logits!, val.y);
      (logits as tf.Tensor2D | null)?.dispose();
      this.alphaOptimizer.apply(pick(grads, this.alphaVars));
      if (!sequential && this.betaOptimizer) this.betaOptimizer.apply(pick(grads, this.betaVars));
      return { valLoss: value, valCorrect: correct };
    });
    if (sequential && this.betaOptimizer) {
      tf.tidy(() => {
        const { grads } = this.gradients(() => this.net.loss(val.x, val.y, ctx), this.betaVars);
        this.betaOptimizer!.apply(grads);
      });
    }
    return result;
  }

  /**
   * DARTS's second-order step for α and β together (architect._backward_step_unrolled):
   * ω' = ω − ξ(μ·buf + ∇ω L_train + wd·ω); g = ∇_arch L_val(ω') − ξ · (∇_arch L_train(ω⁺) −
   * ∇_arch L_train(ω⁻)) / 2R with ω± = ω ± R·∇ω' L_val(ω'), R = 0.01 / ‖∇ω' L_val‖.
   */
  private unrolledArchStep(
    train: StepBatch,
    val: StepBatch,
    xi: tf.Scalar,
    ctx: ForwardContext,
  ): { valLoss: tf.Scalar; valCorrect: tf.Scalar } {
    const archVars = [...this.alphaVars, ...this.betaVars];
    const saved = this.weightVars.map((v) => tf.keep(v.clone()));
    try {
      // ω' (the unrolled weights), assigned into the network in place.
      tf.tidy(() => {
        const { grads } = this.gradients(() => this.net.loss(train.x, train.y, ctx), this.weightVars);
        for (const v of this.weightVars) {
          const step = tf.add(
            tf.add(this.weightOptimizer.momentumOf(v), grads.get(v)!),
            tf.mul(v, this.config.weightDecay),
          );
          v.assign(tf.sub(v, tf.mul(step, xi)));
        }
      });
      const vars = [...archVars, ...this.weightVars];
      let logits: tf.Tensor2D | null = null;
      const unrolled = this.gradients(() => {
        logits = tf.keep(this.net.forward(val.x, ctx));
        return crossEntropyOf(logits, val.y);
      }, vars);
      const valLoss = tf.keep(unrolled.value);
      const valCorrect = tf.tidy(() => correctCount(logits!, val.y));
      (logits as tf.Tensor2D | null)?.dispose();
      const dWeights = this.weightVars.map((v) => unrolled.grads.get(v)!);
      const r = tf.tidy(() => tf.div(0.01, tf.add(globalNorm(dWeights), 1e-12)));
      // tidy keeps arrays of tensors (not Maps): gradients in archVars order.
      const hessianArch = (sign: 1 | -1): tf.Tensor[] =>
        tf.tidy(() => {
          this.weightVars.forEach((v, i) => v.assign(tf.add(saved[i], tf.mul(dWeights[i], tf.mul(r, sign)))));
          const { grads } = this.gradients(() => this.net.loss(train.x, train.y, ctx), archVars);
          return archVars.map((v) => grads.get(v)!);
        });
      const plus = hessianArch(1);
      const minus = hessianArch(-1);
      tf.tidy(() => {
        const final: Grads = new Map();
        for (const [i, v] of archVars.entries()) {
          const implicit = tf.div(tf.sub(plus[i], minus[i]), tf.mul(r, 2));
          final.set(v, tf.sub(unrolled.grads.get(v)!, tf.mul(implicit, xi)));
        }
        // Restore ω before updating the architecture (the update only reads gradients).
        this.weightVars.forEach((v, i) => v.assign(saved[i]));
        this.alphaOptimizer.apply(pick(final, this.alphaVars));
        if (this.betaOptimizer) this.betaOptimizer.apply(pick(final, this.betaVars));
      });
      // unrolled.value is valLoss (kept, returned): dispose only the gradients.
      for (const g of [...unrolled.grads.values(), ...plus, ...minus]) g.dispose();
      r.dispose();
      return { valLoss, valCorrect };
    } finally {
      this.weightVars.forEach((v, i) => {
        if (!saved[i].isDisposed) v.assign(saved[i]);
      });
      saved.forEach((t) => t.dispose());
    }
  }

  private gradients(f: () => tf.Scalar, vars: tf.Variable[]): { value: tf.Scalar; grads: Grads } {
    // tape.ts: tf.variableGrads's numbers, with each gradient freed once used.
    const { value, grads } = variableGrads(f, vars);
    const byVariable: Grads = new Map();
    for (const v of vars) {
      const g = grads[v.name];
      byVariable.set(v, g ?? tf.zerosLike(v));
    }
    return { value, grads: byVariable };
  }

  /** The optimisers' slot variables (momentum, Adam's moments), named alike in every search of a config. */
  namedSlots(): { name: string; variable: tf.Variable }[] {
    return [
      ...this.weightOptimizer.namedSlots('weights'),
      ...this.alphaOptimizer.namedSlots('alpha'),
      ...(this.betaOptimizer?.namedSlots('beta') ?? []),
    ];
  }

  async getState() {
    return {
      weights: await this.weightOptimizer.getState(),
      alpha: await this.alphaOptimizer.getState(),
      beta: this.betaOptimizer ? await this.betaOptimizer.getState() : null,
    };
  }

  setState(state: Awaited<ReturnType<TriLevelOptimizer['getState']>>): void {
    this.weightOptimizer.setState(state.weights);
    this.alphaOptimizer.setState(state.alpha);
    if (this.betaOptimizer && state.beta) this.betaOptimizer.setState(state.beta);
  }

  dispose(): void {
    this.weightOptimizer.dispose();
    this.alphaOptimizer.dispose();
    this.betaOptimizer?.dispose();
  }
}

function pick(grads: Grads, vars: tf.Variable[]): Grads {
  const out: Grads = new Map();
  for (const v of vars) out.set(v, grads.get(v)!);
  return out;
}

function crossEntropyOf(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)));
}

/** Number of correctly classified images in the batch (float scalar). */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'float32'));
}
