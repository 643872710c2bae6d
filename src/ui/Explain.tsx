// "What am I looking at?": the search's vocabulary in a few lines, for a reader new to DARTS.
export function Explain() {
  return (
    <details className="card explain" aria-label="What am I looking at?">
      <summary>What am I looking at?</summary>
      <dl>
        <dt>The cell</dt>
        <dd>
          The network is a stack of cells of two types: normal cells keep the image size, reduction cells halve it. A
          cell has two inputs, c<sub>k−2</sub> and c<sub>k−1</sub> (the outputs of the two cells before it), and four
          nodes; node <i>i</i> sums one edge from every earlier state, so a cell has 14 edges (the heatmaps&apos; rows).
        </dd>
        <dt>
          <span className="greek">α</span> (operator weights)
        </dt>
        <dd>
          Each edge mixes 8 candidate ops (convolutions, pools, skip, none) weighted by softmax(α) of its row. The
          search learns α on held-out images while the ops&apos; own weights ω learn on training images.
        </dd>
        <dt>
          <span className="greek">β</span> (activation weights)
        </dt>
        <dd>
          A-DARTS also mixes 9 activations (relu, …, swish) by softmax(β) of the edge&apos;s row, in front of its 4
          convolutions. darts mode fixes one activation; non-factorized mode instead searches 40 combined ops in α.
        </dd>
        <dt>Derived</dt>
        <dd>
          The discrete architecture read off the weights at a step, by DARTS&apos;s rule: each node keeps its two
          strongest incoming edges, each with its strongest op other than none (and its strongest activation). That is
          the genotype the cell diagrams draw and &quot;Download genotype&quot; saves; it can change as the weights move
          (&quot;Genotype changes&quot;).
        </dd>
        <dt>Colour scales</dt>
        <dd>
          The weights stay near uniform (1/k) for many steps: &quot;Deviation from uniform&quot; shows which way each
          moves, &quot;Per-edge rank&quot; its order within its edge.
        </dd>
      </dl>
    </details>
  );
}
