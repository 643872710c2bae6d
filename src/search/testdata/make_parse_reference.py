# Generates parse_reference.json: seeded random raw alpha (and PC-DARTS edge weights) with the
# genotype that DARTS's / PC-DARTS's model_search.py genotype() derives from them. The _parse
# body below is PC-DARTS's (DARTS's plus the per-edge scaling W[j,:] *= W2[j]), in float64 numpy.
# Run: python3 make_parse_reference.py > parse_reference.json
import json
import numpy as np

PRIMITIVES = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
              'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']
STEPS = 4


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _parse(weights, weights2):
    gene = []
    n = 2
    start = 0
    for i in range(STEPS):
        end = start + n
        W = weights[start:end].copy()
        W2 = weights2[start:end].copy()
        for j in range(n):
            W[j, :] = W[j, :] * W2[j]
        edges = sorted(range(i + 2), key=lambda x: -max(W[x][k] for k in range(len(W[x])) if k != PRIMITIVES.index('none')))[:2]
        for j in edges:
            k_best = None
            for k in range(len(W[j])):
                if k != PRIMITIVES.index('none'):
                    if k_best is None or W[j][k] > W[j][k_best]:
                        k_best = k
            gene.append((PRIMITIVES[k_best], j))
        start = end
        n += 1
    return gene


def edge_softmax(betas):
    # PC-DARTS: node 0's 2 edges softmaxed together, then node 1's 3, node 2's 4, node 3's 5.
    out = [softmax(betas[0:2])]
    n, start = 3, 2
    for _ in range(STEPS - 1):
        end = start + n
        out.append(softmax(betas[start:end]))
        start = end
        n += 1
    return np.concatenate(out)


rng = np.random.RandomState(2021)
cases = []
for c in range(24):
    use_edges = c % 2 == 1
    quantized = c % 3 == 2  # coarse values: ties between ops and between edges
    def draw(shape):
        x = rng.randn(*shape) * (1.0 if not quantized else 1.0)
        return np.round(x * 2) / 2 if quantized else np.round(x, 6)
    an, ar = draw((14, 8)), draw((14, 8))
    en, er = (draw((14,)), draw((14,))) if use_edges else (np.zeros(14), np.zeros(14))
    normal = _parse(softmax(an), edge_softmax(en))
    reduce = _parse(softmax(ar), edge_softmax(er))
    case = {'alphaNormal': an.tolist(), 'alphaReduce': ar.tolist(),
            'normal': [list(g) for g in normal], 'reduce': [list(g) for g in reduce]}
    if use_edges:
        case['edgeNormal'] = en.tolist()
        case['edgeReduce'] = er.tolist()
    cases.append(case)
# Tie cases: every edge's row is one of 3 rows of 0s and 1s (ties between edges and between ops).
for c in range(6):
    pool = rng.randint(0, 2, size=(3, 8)).astype(np.float64)
    an = pool[rng.randint(0, 3, size=14)]
    ar = pool[rng.randint(0, 3, size=14)]
    en = rng.randint(0, 2, size=14).astype(np.float64) if c % 2 else np.zeros(14)
    case = {'alphaNormal': an.tolist(), 'alphaReduce': ar.tolist(),
            'normal': [list(g) for g in _parse(softmax(an), edge_softmax(en))],
            'reduce': [list(g) for g in _parse(softmax(ar), edge_softmax(np.zeros(14)))]}
    if c % 2:
        case['edgeNormal'] = en.tolist()
    cases.append(case)
print(json.dumps({'source': 'PC-DARTS model_search.py genotype()/_parse, float64 numpy, seed 2021',
                  'cases': cases}))
