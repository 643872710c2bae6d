// The size of the network a genotype describes, without building it: parameters as DARTS counts
// them (the auxiliary head apart) and multiply-adds of one forward image, from the same structure
// network.ts builds (NetworkCIFAR). No tfjs, so the page can show it as the genotype changes;
// size.test.ts checks the counts against a built DiscreteNetwork.
import type { Genotype } from '../search/genotype';
import { isParamOp } from '../search/space';

/** DARTS's stem multiplier. */
export const STEM_MULTIPLIER = 3;
/** AuxiliaryHeadCIFAR's pool: 5x5, stride 3, no padding (ceil mode, count_include_pad=False). */
export const AUX_POOL = 5;
export const AUX_STRIDE = 3;
export const AUX_HIDDEN = 128;
export const AUX_FEATURES = 768;

export function isReductionCell(i: number, layers: number): boolean {
  return i === Math.floor(layers / 3) || i === Math.floor((2 * layers) / 3);
}

/** Side of the feature map after the two reductions (each halves, rounding up). */
export function reducedSize(size: number): number {
  return Math.ceil(Math.ceil(size / 2) / 2);
}

/** PyTorch AvgPool2d(5, 3, 0, ceil_mode=True) output size for an input of `size`. */
export function auxPoolSize(size: number): number {
  if (size < AUX_POOL) return 0;
  let out = Math.ceil((size - AUX_POOL) / AUX_STRIDE) + 1;
  if ((out - 1) * AUX_STRIDE >= size) out--; // the last window must start inside the input
  return out;
}

/**
 * Whether the auxiliary head fits images of this size: its pool must leave a 2x2 map for the
 * 2x2 conv (feature maps of 6..8 after the two reductions, i.e. images of 21..32 pixels; DARTS
 * assumes 8x8 from 32x32 images).
 */
export function auxiliaryHeadFits(height: number, width: number): boolean {
  return auxPoolSize(reducedSize(height)) === 2 && auxPoolSize(reducedSize(width)) === 2;
}

const CONV = {
  sep_conv_3x3: { k: 3, separable: true },
  sep_conv_5x5: { k: 5, separable: true },
  dil_conv_3x3: { k: 3, separable: false },
  dil_conv_5x5: { k: 5, separable: false },
} as const;
export interface NetworkShape {
  channels: number;
  layers: number;
  classes: number;
  inChannels: number;
  /** Image side (square images): the multiply-adds depend on it, the parameters do not. */
  imageSize: number;
}

export interface NetworkSize {
  /** Trainable parameters without the auxiliary head (DARTS's "param size"). */
  params: number;
  /** The auxiliary head's parameters. */
  auxiliaryParams: number;
  /** Multiply-adds of one image's forward pass without the head (convs and the classifier). */
  macs: number;
  /** The head's multiply-adds (training only). */
  auxiliaryMacs: number;
}

/** Counts a genotype's NetworkCIFAR: BN weight and bias count, running statistics do not. */
export function networkSize(genotype: Genotype, shape: NetworkShape): NetworkSize {
  const { channels: C, layers, classes, inChannels, imageSize } = shape;
  let params = 0;
  let macs = 0;
  const bn = (c: number) => (params += 2 * c);
  /** A 1×1 conv at an h×h map. */
  const pointwise = (cin: number, cout: number, h: number) => {
    params += cin * cout;
    macs += h * h * cin * cout;
  };
  const reluConvBn = (cin: number, cout: number, h: number) => {
    pointwise(cin, cout, h);
    bn(cout);
  };
  /** Two 1×1 convs of stride 2 (to h×h), each to half the channels, and a BN. */
  const factorizedReduce = (cin: number, cout: number, h: number) => {
    pointwise(cin, cout / 2, h);
    pointwise(cin, cout / 2, h);
    bn(cout);
  };

  const stem = STEM_MULTIPLIER * C;
  params += 9 * inChannels * stem;
  macs += imageSize * imageSize * 9 * inChannels * stem;
  bn(stem);
  let cPrevPrev = stem;
  let cPrev = stem;
  let cCurr = C;
  let size = imageSize;
  let reductionPrev = false;
  let cAux = 0;
  let sizeAux = 0;
  const auxCell = Math.floor((2 * layers) / 3);
  for (let i = 0; i < layers; i++) {
    const reduction = isReductionCell(i, layers);
    if (reduction) cCurr *= 2;
    const out = reduction ? Math.ceil(size / 2) : size;
    if (reductionPrev) factorizedReduce(cPrevPrev, cCurr, size);
    else reluConvBn(cPrevPrev, cCurr, size);
    reluConvBn(cPrev, cCurr, size);
    for (const e of reduction ? genotype.reduce : genotype.normal) {
      const stride = reduction && e.from < 2 ? 2 : 1;
      if (e.op === 'skip_connect') {
        if (stride === 2) factorizedReduce(cCurr, cCurr, out);
        continue;
      }
      if (!isParamOp(e.op)) continue; // pools: no parameters
      if (e.activation === 'prelu') params += cCurr;
      if (e.activation === 'swish') params += 1;
      const { k, separable } = CONV[e.op];
      // The first depthwise conv runs at the op's stride, the rest at the output size.
      params += k * k * cCurr;
      macs += out * out * k * k * cCurr;
      pointwise(cCurr, cCurr, out);
      bn(cCurr);
      if (separable) {
        params += k * k * cCurr;
        macs += out * out * k * k * cCurr;
        pointwise(cCurr, cCurr, out);
        bn(cCurr);
      }
    }
    const concat = reduction ? genotype.reduceConcat : genotype.normalConcat;
    reductionPrev = reduction;
    cPrevPrev = cPrev;
    cPrev = concat.length * cCurr;
    size = out;
    if (i === auxCell) {
      cAux = cPrev;
      sizeAux = size;
    }
  }
  params += cPrev * classes + classes;
  macs += cPrev * classes;
  // AuxiliaryHeadCIFAR: ReLU, AvgPool(5, 3) to 2×2, 1×1 conv to 128 + BN, 2×2 conv to 768 + BN, linear.
  const auxiliaryParams =
    cAux * AUX_HIDDEN +
    2 * AUX_HIDDEN +
    4 * AUX_HIDDEN * AUX_FEATURES +
    2 * AUX_FEATURES +
    AUX_FEATURES * classes +
    classes;
  const pooled = auxPoolSize(sizeAux);
  const auxiliaryMacs = pooled * pooled * cAux * AUX_HIDDEN + 4 * AUX_HIDDEN * AUX_FEATURES + AUX_FEATURES * classes;
  return { params, auxiliaryParams, macs, auxiliaryMacs };
}
