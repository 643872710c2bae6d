// Multiply-adds of one forward image through the search supernet, counted from the same
// structure supernet.ts builds: the stem conv, each cell's preprocessing (1x1 conv or
// FactorizedReduce), every conv op of every mixed edge (depthwise + pointwise, twice for SepConv),
// the stride-2 skip's FactorizedReduce, and the classifier. Pools, batch norm, activations and
// the weighted sums are elementwise and not counted. The paper's supernet (C=16, L=8, 32x32x3)
// comes to 300.3 M (plain DARTS and factorized: the mixed activation adds no MACs) and 2,505 M
// non-factorized (9 activations x 4 conv ops per edge).
import { EDGE_LIST, NODES, candidateOps, isParamOp, type SearchConfig } from '../search/space';
import { CONV_SPECS, isReductionLayer, type InputShape } from '../search/supernet';

export type MacConfig = Pick<SearchConfig, 'mode' | 'channels' | 'layers' | 'stemMultiplier' | 'partialChannels'>;

export function forwardMacs(config: MacConfig, input: InputShape): number {
  const half = (n: number) => Math.ceil(n / 2);
  const convOps = candidateOps(config.mode)
    .filter((c) => isParamOp(c.op))
    .map((c) => CONV_SPECS[c.op]);
  const stem = config.stemMultiplier * config.channels;
  let h = input.height;
  let w = input.width;
  let macs = 9 * input.channels * stem * h * w;
  let cPrevPrev = stem;
  let cPrev = stem;
  let cCurr = config.channels;
  for (let i = 0; i < config.layers; i++) {
    const reduction = isReductionLayer(i, config.layers);
    if (reduction) cCurr *= 2;
    // pre0 and pre1 both end at this cell's input size (pre0 is a FactorizedReduce after a
    // reduction: two 1x1 convs to cCurr/2 at the halved size, the same count as one 1x1 conv).
    macs += h * w * (cPrevPrev + cPrev) * cCurr;
    const ho = reduction ? half(h) : h;
    const wo = reduction ? half(w) : w;
    const c = cCurr / config.partialChannels;
    for (const edge of EDGE_LIST) {
      // In a reduction cell the edges from the inputs have stride 2 and the nodes are already
      // at the halved size, so every edge's output is ho x wo.
      const pixels = ho * wo;
      for (const spec of convOps) macs += pixels * (spec.kernel * spec.kernel * c + c * c) * (spec.separable ? 2 : 1);
      if (reduction && edge.from < 2) macs += pixels * c * c;
    }
    h = ho;
    w = wo;
    cPrevPrev = cPrev;
    cPrev = NODES * cCurr;
  }
  return macs + cPrev * input.classes;
}

/**
 * FLOPs of one first-order search step: one ω forward/backward plus `archPasses` architecture
 * forward/backward passes over a batch each; backward ≈ 2x forward in multiply-adds, 2 FLOPs
 * per multiply-add.
 */
export function searchStepFlops(macsPerImage: number, batchSize: number, archPasses: number): number {
  return 2 * macsPerImage * 3 * (1 + archPasses) * batchSize;
}
