#!/usr/bin/env python3
"""The lab's search step in PyTorch, for timing the lab against PyTorch on the same GPU.

The same supernet as src/search/supernet.ts (DARTS cnn/model_search.py with the factorized
mixed edge): stem conv3x3 -> 3C + BN; L cells, reductions at L/3 and 2L/3; ReLU-conv1x1-BN or
FactorizedReduce preprocessing; 14 mixed edges; non-affine BN inside ops; global pool and a
linear classifier. Modes: darts (ReLU in front of every conv op), factorized (softmax(beta) over
9 activations computed once per edge and shared by the 4 conv ops), nonfactorized (40 ops).
Parameter counts equal the lab's (`npm run lab -- count`), which --check-counts asserts.

One step is the lab's first-order joint tri-level step: omega by SGD (momentum 0.9, wd 3e-4,
grad clip 5) on a train batch, then alpha and beta by two Adams (betas (0.5, 0.999), wd 1e-3)
from one validation forward/backward.

  python3 bench/pytorch_supernet.py --device cuda --modes darts,factorized,nonfactorized \
      --steps 10 --json out.json
  python3 bench/pytorch_supernet.py --check-counts        (CPU; used by a unit test)
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
       'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']
PARAM_OPS = OPS[4:]
NON_PARAM_OPS = OPS[:4]
ACTIVATIONS = ['relu', 'relu6', 'leaky_relu', 'prelu', 'rrelu', 'elu', 'celu', 'selu', 'swish']
CONV_SPECS = {'sep_conv_3x3': (3, 1, True), 'sep_conv_5x5': (5, 1, True),
              'dil_conv_3x3': (3, 2, False), 'dil_conv_5x5': (5, 2, False)}
# Forward multiply-adds per 32x32x3 image at C=16, L=8 (as src/bench/node-bench.ts states them).
PAPER_FORWARD_MACS = {'darts': 300.3e6, 'factorized': 300.3e6, 'nonfactorized': 2505e6}


class Activations(nn.Module):
    """The 9 activations of one edge, with PReLU's per-channel slopes and Swish's b."""

    def __init__(self, c, names):
        super().__init__()
        self.names = names
        self.prelu = nn.Parameter(torch.full((c,), 0.25)) if 'prelu' in names else None
        self.swish = nn.Parameter(torch.ones(())) if 'swish' in names else None

    def apply(self, name, x):
        if name == 'relu': return F.relu(x)
        if name == 'relu6': return F.relu6(x)
        if name == 'leaky_relu': return F.leaky_relu(x, 0.01)
        if name == 'prelu': return F.prelu(x, self.prelu)
        if name == 'rrelu': return F.rrelu(x, 1 / 8, 1 / 3, training=self.training)
        if name == 'elu': return F.elu(x)
        if name == 'celu': return F.celu(x)
        if name == 'selu': return F.selu(x)
        if name == 'swish': return x * torch.sigmoid(self.swish * x)
        raise ValueError(name)

    def mixed(self, x, weights):
        return sum(w * self.apply(n, x) for w, n in zip(weights, ACTIVATIONS))


def conv_op(op, c, stride):
    """SepConv / DilConv without the leading ReLU (the edge's activation replaces it)."""
    k, d, separable = CONV_SPECS[op]
    pad = d * (k - 1) // 2
    layers = [nn.Conv2d(c, c, k, stride, pad, dilation=d, groups=c, bias=False),
              nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=False)]
    if separable:
        layers += [nn.ReLU(), nn.Conv2d(c, c, k, 1, pad, groups=c, bias=False),
                   nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=False)]
    return nn.Sequential(*layers)


class FactorizedReduce(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.conv2 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, affine=False)

    def forward(self, x):
        x = F.relu(x)
        return self.bn(torch.cat([self.conv1(x), self.conv2(x[:, :, 1:, 1:])], 1))


def relu_conv_bn(cin, cout):
    return nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout, affine=False))


class MixedEdge(nn.Module):
    def __init__(self, mode, activation, c, stride):
        super().__init__()
        self.mode, self.activation, self.stride = mode, activation, stride
        self.pools = nn.ModuleList([nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False)),
                                    nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False),
                                                  nn.BatchNorm2d(c, affine=False))])
        self.skip = FactorizedReduce(c, c) if stride == 2 else nn.Identity()
        self.acts = Activations(c, [activation] if mode == 'darts' else ACTIVATIONS)
        if mode == 'nonfactorized':
            self.convs = nn.ModuleList([conv_op(op, c, stride) for op in PARAM_OPS for _ in ACTIVATIONS])
        else:
            self.convs = nn.ModuleList([conv_op(op, c, stride) for op in PARAM_OPS])

    def forward(self, x, alpha, beta):
        # alpha[0] is 'none': it contributes zero and only takes part in the softmax.
        out = alpha[1] * self.pools[0](x) + alpha[2] * self.pools[1](x) + alpha[3] * self.skip(x)
        if self.mode == 'nonfactorized':
            activated = [self.acts.apply(n, x) for n in ACTIVATIONS]
            for i, conv in enumerate(self.convs):
                out = out + alpha[4 + i] * conv(activated[i % len(ACTIVATIONS)])
            return out
        a = self.acts.apply(self.activation, x) if self.mode == 'darts' else self.acts.mixed(x, beta)
        for i, conv in enumerate(self.convs):
            out = out + alpha[4 + i] * conv(a)
        return out


class Cell(nn.Module):
    def __init__(self, mode, activation, cpp, cp, c, reduction, reduction_prev):
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(cpp, c) if reduction_prev else relu_conv_bn(cpp, c)
        self.pre1 = relu_conv_bn(cp, c)
        self.edges = nn.ModuleList()
        for node in range(4):
            for src in range(node + 2):
                self.edges.append(MixedEdge(mode, activation, c, 2 if reduction and src < 2 else 1))

    def forward(self, s0, s1, alpha, beta):
        states = [self.pre0(s0), self.pre1(s1)]
        e = 0
        for node in range(4):
            s = 0
            for src in range(node + 2):
                s = s + self.edges[e](states[src], alpha[e], None if beta is None else beta[e])
                e += 1
            states.append(s)
        return torch.cat(states[2:], 1)


class Supernet(nn.Module):
    def __init__(self, mode='factorized', activation='relu', C=16, layers=8, in_channels=3, classes=10):
        super().__init__()
        self.mode = mode
        stem = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem))
        cpp, cp, c = stem, stem, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction: c *= 2
            self.cells.append(Cell(mode, activation, cpp, cp, c, reduction, reduction_prev))
            reduction_prev = reduction
            cpp, cp = cp, 4 * c
        self.classifier = nn.Linear(cp, classes)
        width = 4 + 36 if mode == 'nonfactorized' else 8
        self.alpha_normal = nn.Parameter(1e-3 * torch.randn(14, width))
        self.alpha_reduce = nn.Parameter(1e-3 * torch.randn(14, width))
        if mode == 'factorized':
            self.beta_normal = nn.Parameter(1e-3 * torch.randn(14, 9))
            self.beta_reduce = nn.Parameter(1e-3 * torch.randn(14, 9))

    def arch_parameters(self):
        return [p for n, p in self.named_parameters() if n.startswith('alpha')]

    def beta_parameters(self):
        return [p for n, p in self.named_parameters() if n.startswith('beta')]

    def weights(self):
        return [p for n, p in self.named_parameters() if not n.startswith(('alpha', 'beta'))]

    def forward(self, x):
        s0 = s1 = self.stem(x)
        an, ar = F.softmax(self.alpha_normal, -1), F.softmax(self.alpha_reduce, -1)
        bn = br = None
        if self.mode == 'factorized':
            bn, br = F.softmax(self.beta_normal, -1), F.softmax(self.beta_reduce, -1)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, ar if cell.reduction else an, br if cell.reduction else bn)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


def make_step(net, lr=0.025):
    w_opt = torch.optim.SGD(net.weights(), lr, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam(net.arch_parameters(), 6e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    b_params = net.beta_parameters()
    b_opt = torch.optim.Adam(b_params, 6e-4, betas=(0.5, 0.999), weight_decay=1e-3) if b_params else None

    def step(xt, yt, xv, yv):
        w_opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(xt), yt).backward()
        nn.utils.clip_grad_norm_(net.weights(), 5.0)
        w_opt.step()
        a_opt.zero_grad(set_to_none=True)
        if b_opt: b_opt.zero_grad(set_to_none=True)
        val_loss = F.cross_entropy(net(xv), yv)
        val_loss.backward()
        a_opt.step()
        if b_opt: b_opt.step()
        return val_loss
    return step


def count_weights(net):
    return sum(p.numel() for p in net.weights())


def bench(mode, device, steps, batch, C, layers):
    torch.manual_seed(0)
    net = Supernet(mode, C=C, layers=layers).to(device)
    step = make_step(net)
    xt, xv = (torch.randn(batch, 3, 32, 32, device=device) for _ in range(2))
    yt, yv = (torch.randint(0, 10, (batch,), device=device) for _ in range(2))
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    times = []
    for i in range(steps + 3):
        sync()
        t = time.perf_counter()
        loss = step(xt, yt, xv, yv)
        loss.item()  # a readback, as the lab reads the validation loss every step
        sync()
        if i >= 3: times.append((time.perf_counter() - t) * 1000)
    ms = statistics.median(times)
    flops = 2 * PAPER_FORWARD_MACS[mode] * 3 * 2 * batch if (C, layers) == (16, 8) else None
    peak = torch.cuda.max_memory_allocated() / 2 ** 20 if device.startswith('cuda') else None
    if device.startswith('cuda'): torch.cuda.reset_peak_memory_stats()
    return {'mode': mode, 'msPerStep': ms, 'imagesPerSecond': 2 * batch / ms * 1000,
            'gflopsPerSecond': None if flops is None else flops / (ms / 1000) / 1e9,
            'peakMegabytes': peak, 'params': count_weights(net), 'steps': steps}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--modes', default='darts,factorized,nonfactorized')
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--channels', type=int, default=16)
    p.add_argument('--layers', type=int, default=8)
    p.add_argument('--json')
    p.add_argument('--fp32', action='store_true', help='no TF32 in convs and matmuls (tfjs computes in float32)')
    p.add_argument('--check-counts', action='store_true', help='print ω counts of each mode at C=16, L=8')
    args = p.parse_args()
    if args.check_counts:
        print(json.dumps({m: count_weights(Supernet(m)) for m in ['darts', 'factorized', 'nonfactorized']}))
        return
    torch.backends.cudnn.benchmark = True
    if args.fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    rows = []
    for mode in args.modes.split(','):
        r = bench(mode, args.device, args.steps, args.batch_size, args.channels, args.layers)
        print(f"pytorch {args.device} {mode}: {r['msPerStep']:.1f} ms/step, {r['imagesPerSecond']:.0f} img/s", flush=True)
        rows.append(r)
    info = {'torch': torch.__version__, 'device': torch.cuda.get_device_name() if args.device.startswith('cuda') else 'cpu',
            'tf32': {'conv': torch.backends.cudnn.allow_tf32, 'matmul': torch.backends.cuda.matmul.allow_tf32},
            'size': {'channels': args.channels, 'layers': args.layers, 'batchSize': args.batch_size}, 'rows': rows}
    if args.json:
        with open(args.json, 'w') as f: json.dump(info, f, indent=2)
    print(json.dumps(info))


if __name__ == '__main__':
    main()
