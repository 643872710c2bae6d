#!/usr/bin/env python3
"""Factorized NAS Lab's search (A-DARTS, AAAI 2021) as one PyTorch script.

Written by the lab's `export-search` with the setup baked in (SETUP below). It runs the lab's
supernet, tri-level step, schedules, optimisers and derivation rule on one process or many:

  torchrun --nproc_per_node=N search.py --data PATH --out run.json [--steps N] [--epochs N]
  python3 search.py --data PATH --out run.json          (one process, no torchrun)

PATH is cifar-10-binary.tar.gz, its extracted folder, or a folder (or file) of IDX images and
labels (train-..., t10k-...; gzipped or not). Each of the N processes takes an equal share of every
batch (so N must divide the batch size) and normalises its share with its own batch statistics;
the weights' gradients and the architecture's gradients are averaged over the processes (an
all-reduce per parameter group, as DistributedDataParallel averages), and process 0 writes.

The run file (--out) is the lab's own `factorized-nas-run` file, rewritten atomically as the search
goes: import it in the lab ("Import run or genotype", or `npm run lab -- import-run FILE`).
--init-from FILE starts from the weights, batches and random draws that the lab's `export-init`
wrote for the same setup. --resume continues from the checkpoint (--checkpoint, by default the run
file's name + .checkpoint.pt). Needs only torch (1.13 or newer) and the standard library. torch
1.13's torchrun fails on Python 3.11 with its default --redirects (fixed in torch 2.0): there, add
--redirects 2 --tee 2.
"""
import argparse
import array
import base64
import gzip
import json
import math
import os
import re
import struct
import sys
import uuid
import tarfile
import time
from datetime import datetime, timezone

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

SETUP = None  # export-search writes the setup here

# ---------------------------------------------------------------------------------------------
# The search space (the lab's src/search/space.ts)

OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
       'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']
NON_PARAM_OPS = OPS[:4]
PARAM_OPS = OPS[4:]
ACTIVATIONS = ['relu', 'relu6', 'leaky_relu', 'prelu', 'rrelu', 'elu', 'celu', 'selu', 'swish']
# kernel, dilation, separable (SepConv runs its depthwise-pointwise block twice)
CONV_SPECS = {'sep_conv_3x3': (3, 1, True), 'sep_conv_5x5': (5, 1, True),
              'dil_conv_3x3': (3, 2, False), 'dil_conv_5x5': (5, 2, False)}
NODES = 4
# DARTS edge order: node 2 from states 0, 1; node 3 from 0, 1, 2; ... (states 0, 1: the inputs)
EDGE_LIST = [(node, src) for node in range(NODES) for src in range(node + 2)]
EDGES = len(EDGE_LIST)
EDGES_FROM = [[e for e, (_, src) in enumerate(EDGE_LIST) if src == s] for s in range(NODES + 2)]
# Activations without per-edge parameters or noise: computed once for all edges leaving a state.
SHAREABLE = {'relu', 'relu6', 'leaky_relu', 'elu', 'celu', 'selu'}

BN_EPS = 1e-5
LEAKY_SLOPE = 0.01
RRELU_LOWER = 1 / 8
RRELU_UPPER = 1 / 3
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
PRELU_INIT = 0.25
SWISH_INIT = 1.0
# softmax(beta) @ COEFFICIENTS gives the 7 coefficients of the regrouped mixed activation
# relu(x)*pos + relu6(x)*r6 + (exp(min(x,0))-1)*expm1 + swish(x)*sw + min(x,0)*(leak + prelu*a + rrelu*s)
# (rows: ACTIVATIONS; CELU with alpha 1 is ELU).
COEFFICIENTS = [
    [1, 0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0, 0, 0],
    [1, 0, 0, 0, LEAKY_SLOPE, 0, 0],
    [1, 0, 0, 0, 0, 1, 0],
    [1, 0, 0, 0, 0, 0, 1],
    [1, 0, 1, 0, 0, 0, 0],
    [1, 0, 1, 0, 0, 0, 0],
    [SELU_SCALE, 0, SELU_SCALE * SELU_ALPHA, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 0],
]

RUN_FORMAT = 'factorized-nas-run'
GENOTYPE_FORMAT = 'factorized-nas-genotype'
INIT_FORMAT = 'factorized-nas-search-init'
CHECKPOINT_FORMAT = 'factorized-nas-torch-checkpoint'
# The lab's run store keeps at most this many rows of each kind (older ones thinned).
MAX_SNAPSHOTS = 400
MAX_METRICS = 20000


class SearchError(Exception):
    """Bad input, named with what to do about it: printed as one line, exit status 2."""


def candidate_ops(mode):
    """The columns of alpha: (op, activation). Non-factorized: 4 parameter-free ops, then each
    conv op under each activation (activation-major within a conv op)."""
    if mode != 'nonfactorized':
        return [(op, None) for op in OPS]
    return [(op, None) for op in NON_PARAM_OPS] + [(op, a) for op in PARAM_OPS for a in ACTIVATIONS]


def candidate_label(op, activation):
    return f'{activation}+{op}' if activation else op


def activations_used(config):
    return [config['activation']] if config['mode'] == 'darts' else list(ACTIVATIONS)


def is_reduction(i, layers):
    return i in (layers // 3, (2 * layers) // 3)


# ---------------------------------------------------------------------------------------------
# The lab's random stream (src/util/random.ts, sfc32), for what must match the lab draw for draw:
# the RReLU slopes of an --init-from step and the test split of a data set that has none.

MASK = 0xFFFFFFFF


class LabRandom:
    def __init__(self, seed):
        if isinstance(seed, (list, tuple)):
            self.a, self.b, self.c, self.d = [int(w) & MASK for w in seed]
            return
        s = int(seed) & MASK
        words = []
        for _ in range(4):  # splitmix32
            s = (s + 0x9E3779B9) & MASK
            z = s
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & MASK
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & MASK
            words.append((z ^ (z >> 16)) & MASK)
        self.a, self.b, self.c, self.d = words
        for _ in range(12):
            self.uint32()

    def uint32(self):
        a, b, c, d = self.a, self.b, self.c, self.d
        t = (a + b + d) & MASK
        self.d = (d + 1) & MASK
        self.a = b ^ (b >> 9)
        self.b = (c + (c << 3)) & MASK
        c = ((c << 21) | (c >> 11)) & MASK
        self.c = (c + t) & MASK
        return t

    def int(self, n):
        return math.floor((self.uint32() / 4294967296) * n)

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.int(i + 1)
            items[i], items[j] = items[j], items[i]
        return items


def lab_rrelu_pool(size):
    """The lab's pool of 2*size RReLU slopes for inputs of `size` elements (ops.ts rreluSlopes):
    a fixed function of the size."""
    values = array.array('f', bytes(8 * size))
    s = int(float(size) * 2654435761.0) & MASK
    scale = RRELU_UPPER - RRELU_LOWER
    for i in range(2 * size):
        s = ((((s ^ (s >> 15)) * 0x2C1B3C6D) & MASK) + 0x6D2B79F5) & MASK
        s ^= s >> 12
        values[i] = RRELU_LOWER + (s / 4294967296) * scale
    return torch.frombuffer(bytearray(values.tobytes()), dtype=torch.float32)


class TorchDraws:
    """RReLU's per-element slopes, fresh uniforms in [1/8, 1/3) from a generator seeded per step
    and process: a resumed run draws what an uninterrupted one would have drawn."""

    def __init__(self, generator):
        self.generator = generator

    def rrelu_slopes(self, x):
        u = torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
        return RRELU_LOWER + u * (RRELU_UPPER - RRELU_LOWER)


class LabDraws:
    """The lab's own RReLU draws (an --init-from step): each call takes a window of the lab's
    fixed pool at an offset drawn from the lab's random stream, in the lab's (NHWC) element order."""

    def __init__(self, state):
        self.random = LabRandom(state)
        self.pools = {}

    def rrelu_slopes(self, x):
        n, c, h, w = x.shape
        size = x.numel()
        if size not in self.pools:
            self.pools[size] = lab_rrelu_pool(size)
        offset = self.random.int(size + 1)
        window = self.pools[size][offset:offset + size].view(n, h, w, c).permute(0, 3, 1, 2)
        return window.to(device=x.device, dtype=x.dtype)


# ---------------------------------------------------------------------------------------------
# Data: the lab's readers (src/data) for CIFAR-10 binary and IDX, its split and normalisation

class MeanDraws:
    """No draws: out of training, RReLU takes its mean slope (ops.ts)."""

    def rrelu_slopes(self, x):
        return (RRELU_LOWER + RRELU_UPPER) / 2


class Dataset:
    def __init__(self, name, source, train, test, classes):
        self.name, self.source, self.classes = name, source, classes
        self.train_images, self.train_labels = train  # uint8 [n, H, W, C], uint8 [n]
        self.test_images, self.test_labels = test
        _, self.height, self.width, self.channels = self.train_images.shape
        self.mean, self.std = channel_stats(self.train_images)
        # DARTS's crop-and-flip augmentation, on 32x32 colour images only (as the lab).
        self.augment = self.height == 32 and self.width == 32 and self.channels == 3
        self.on_device = {}

    def training_set(self, device):
        """The training images and labels on `device`, copied there once."""
        if device not in self.on_device:
            self.on_device[device] = (self.train_images.to(device), self.train_labels.to(device).long())
        return self.on_device[device]

    def info(self):
        return {'name': self.name, 'source': self.source, 'height': self.height, 'width': self.width,
                'channels': self.channels, 'classes': self.classes,
                'trainCount': int(self.train_labels.numel()), 'testCount': int(self.test_labels.numel())}


def channel_stats(images):
    """Per-channel mean and population std in [0, 1] units, from byte histograms (as the lab)."""
    channels = images.shape[-1]
    flat = images.reshape(-1, channels)
    mean, std = [], []
    for c in range(channels):
        h = torch.bincount(flat[:, c], minlength=256).tolist()
        n = total = 0
        for v in range(256):
            n += h[v]
            total += h[v] * v
        m = total / n if n else 0.0
        squares = 0.0
        for v in range(256):
            squares += h[v] * (v - m) * (v - m)
        s = math.sqrt(squares / n) if n else 0.0
        mean.append(m / 255)
        std.append(s / 255 if s > 1e-6 else 1.0)
    return mean, std


def natural_key(name):
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r'(\d+)', name)]


def maybe_gunzip(data, name):
    if data[:2] == b'\x1f\x8b':
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise SearchError(f'{name}: not a valid gzip file ({e})')
    return data


def is_data_file_name(name):
    return bool(re.search(r'ubyte', name, re.I) or re.search(r'\.idx\d?(\.gz)?$', name, re.I)
                or re.search(r'\.bin$', name, re.I) or re.search(r'\.(tar\.gz|tgz|tar)$', name, re.I)
                or re.fullmatch(r'batches\.meta\.txt', name, re.I))


def data_files(path):
    """The data files at PATH: the file itself, or a folder's data files (and its
    cifar-10-batches-bin/, as the archive unpacks); loose files win over an archive beside them."""
    if not os.path.exists(path):
        raise SearchError(f'--data {path}: no such file or directory (expected cifar-10-binary.tar.gz, its '
                          'extracted folder, or a folder of IDX files such as train-images-idx3-ubyte.gz)')
    if not os.path.isdir(path):
        return [path]
    names = sorted(os.listdir(path))
    chosen = [n for n in names if is_data_file_name(n)]
    folder = path
    if not chosen and 'cifar-10-batches-bin' in names:
        folder = os.path.join(path, 'cifar-10-batches-bin')
        chosen = [n for n in sorted(os.listdir(folder)) if is_data_file_name(n)]
    if any(not re.search(r'\.(tar\.gz|tgz|tar)$', n, re.I) for n in chosen):
        chosen = [n for n in chosen if not re.search(r'\.(tar\.gz|tgz|tar)$', n, re.I)]
    if not chosen:
        raise SearchError(f'--data {path}: no data files in this folder (looked for IDX *-ubyte files, CIFAR-10 '
                          f'.bin batches or a .tar.gz); it holds {", ".join(names[:8]) or "nothing"}')
    return [os.path.join(folder, n) for n in chosen]


def cifar_role(name, strict):
    base = os.path.basename(name).lower()
    if re.fullmatch(r'data_batch_\d+\.bin', base):
        return 'train'
    if base == 'test_batch.bin':
        return 'test'
    if strict or not base.endswith('.bin'):
        return None
    return 'test' if 'test' in base else 'train'


def cifar_records(data, name, classes):
    if len(data) == 0 or len(data) % 3073:
        raise SearchError(f'{name}: {len(data)} bytes is not a whole number of 3073-byte CIFAR-10 records '
                          '(truncated, or not a CIFAR-10 batch)')
    records = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(-1, 3073)
    labels = records[:, 0].clone()
    if int(labels.max()) >= classes:
        raise SearchError(f'{name}: label {int(labels.max())} is out of range for {classes} classes')
    images = records[:, 1:].reshape(-1, 3, 32, 32).permute(0, 2, 3, 1).contiguous()  # planar -> NHWC
    return images, labels


def read_cifar(batches, meta_text, source):
    """batches: (name, bytes, role) of CIFAR-10 batch files; the lab's order (natural, by name)."""
    names = [line.strip() for line in (meta_text or '').splitlines() if line.strip()]
    classes = len(names) or 10
    parts = {}
    for role in ('train', 'test'):
        chosen = sorted([b for b in batches if b[2] == role], key=lambda b: natural_key(b[0]))
        if chosen:
            read = [cifar_records(data, name, classes) for name, data, _ in chosen]
            parts[role] = (torch.cat([r[0] for r in read]), torch.cat([r[1] for r in read]))
    if 'train' not in parts:
        raise SearchError(f'--data {source}: no CIFAR-10 training batches (data_batch_1.bin ... data_batch_5.bin)')
    return parts.get('train'), parts.get('test'), classes


def read_idx(data, name):
    if len(data) < 8:
        raise SearchError(f'{name}: truncated IDX header ({len(data)} bytes)')
    magic, count = struct.unpack('>II', data[:8])
    if magic == 0x801:
        labels = torch.frombuffer(bytearray(data[8:8 + count]), dtype=torch.uint8)
        if labels.numel() != count:
            raise SearchError(f'{name}: the header announces {count} labels but the file holds {labels.numel()}')
        return 'labels', labels
    if magic == 0x803:
        if len(data) < 16:
            raise SearchError(f'{name}: truncated IDX header ({len(data)} bytes)')
        rows, cols = struct.unpack('>II', data[8:16])
        size = count * rows * cols
        if len(data) - 16 < size:
            raise SearchError(f'{name}: the header announces {count} images of {rows}x{cols} but the file is truncated')
        images = torch.frombuffer(bytearray(data[16:16 + size]), dtype=torch.uint8).view(count, rows, cols, 1)
        return 'images', images
    raise SearchError(f'{name}: wrong IDX magic number 0x{magic:08x}: expected 0x00000803 (images) or '
                      '0x00000801 (labels)')


def idx_role(name):
    base = os.path.basename(name).lower()
    if re.search(r't10k|test', base):
        return 'test'
    if 'train' in base:
        return 'train'
    return None


def split_off_test(images, labels, fraction=0.1, seed=0):
    """The lab's class-balanced test split of a data set that came without one (load.ts)."""
    by_class = {}
    for i, label in enumerate(labels.tolist()):
        by_class.setdefault(label, []).append(i)
    classes = sorted(by_class)
    exact = [len(by_class[k]) * fraction for k in classes]
    take = [math.floor(x) for x in exact]
    missing = math.floor(len(labels) * fraction + 0.5) - sum(take)
    for k in sorted(range(len(classes)), key=lambda k: (-(exact[k] - take[k]), k)):
        if missing <= 0:
            break
        take[k] += 1
        missing -= 1
    random = LabRandom(seed)
    is_test = torch.zeros(len(labels), dtype=torch.bool)
    for k, label in enumerate(classes):
        chosen = random.shuffle(by_class[label])
        is_test[chosen[:take[k]]] = True
    return (images[~is_test], labels[~is_test]), (images[is_test], labels[is_test])


def dataset_name(path):
    base = os.path.basename(path.rstrip('/\\'))
    if re.search('fashion', base, re.I):
        return 'fashion-mnist'
    if re.search('cifar', base, re.I):
        return 'cifar-10'
    return re.sub(r'\.(tar\.gz|tgz|tar|gz)$', '', base, flags=re.I)


def load_data(path):
    files = data_files(path)
    kinds = {}
    cifar, meta, idx = [], None, {'train': {}, 'test': {}}
    untold = [f for f in files if not re.search(r'\.(tar\.gz|tgz|tar|bin)$|batches\.meta\.txt$', f, re.I)
              and idx_role(f) is None]
    for f in files:
        name = os.path.basename(f)
        if re.search(r'\.(tar\.gz|tgz|tar)$', name, re.I):
            kinds['cifar'] = f
            try:
                with tarfile.open(f, 'r:*') as tar:
                    members = [m for m in tar.getmembers() if m.isfile()]
                    for m in members:
                        role = cifar_role(m.name, True)
                        if role:
                            cifar.append((f'{name} ({m.name})', tar.extractfile(m).read(), role))
                        elif os.path.basename(m.name) == 'batches.meta.txt':
                            meta = tar.extractfile(m).read().decode('utf-8', 'replace')
            except tarfile.TarError as e:
                raise SearchError(f'{f}: not a readable tar archive ({e})')
            if not cifar:
                raise SearchError(f'{f}: no CIFAR-10 batches in this archive (expected '
                                  'cifar-10-batches-bin/data_batch_1.bin ... and test_batch.bin)')
        elif re.search(r'\.bin$', name, re.I):
            kinds['cifar'] = f
            with open(f, 'rb') as fh:
                cifar.append((name, fh.read(), cifar_role(name, False)))
        elif re.fullmatch(r'batches\.meta\.txt', name, re.I):
            with open(f, 'rb') as fh:
                meta = fh.read().decode('utf-8', 'replace')
        else:
            kinds['idx'] = f
            with open(f, 'rb') as fh:
                kind, values = read_idx(maybe_gunzip(fh.read(), name), name)
            role = idx_role(f)
            if role is None:
                if len(untold) > 2 or len(files) > 2:
                    raise SearchError(f'{f}: cannot tell whether this is training or test data: put "train" or '
                                      '"t10k"/"test" in its name')
                role = 'train'
            if kind in idx[role]:
                raise SearchError(f'{f}: a second {role} {kind} file (the first: {idx[role][kind][0]})')
            idx[role][kind] = (f, values)
    if not kinds:
        raise SearchError(f'--data {path}: batches.meta.txt without any CIFAR-10 .bin batches')
    if len(kinds) > 1:
        raise SearchError(f'--data {path}: holds both CIFAR-10 and IDX files; give one data set')
    source = path
    if 'cifar' in kinds:
        train, test, classes = read_cifar(cifar, meta, path)
    else:
        classes = 10
        pairs = {}
        for role in ('train', 'test'):
            slot = idx[role]
            if not slot:
                continue
            if 'images' not in slot or 'labels' not in slot:
                have = 'images' if 'images' in slot else 'labels'
                raise SearchError(f'{slot[have][0]}: {role} {have} without a {role} '
                                  f'{"labels" if have == "images" else "images"} file')
            (_, images), (fl, labels) = slot['images'], slot['labels']
            if images.shape[0] != labels.shape[0]:
                raise SearchError(f'{fl}: {labels.shape[0]} labels but {images.shape[0]} images')
            if int(labels.max()) >= classes:
                raise SearchError(f'{fl}: label {int(labels.max())} is out of range for {classes} classes')
            pairs[role] = (images, labels)
        if 'train' not in pairs:
            raise SearchError(f'--data {path}: no training images and labels (IDX files named train-...)')
        train, test = pairs['train'], pairs.get('test')
        if test is not None and test[0].shape[1:] != train[0].shape[1:]:
            raise SearchError(f'--data {path}: the test images are not the size of the training images')
    if test is None:
        train, test = split_off_test(*train)
        source += ' (test set: 10% of the training images, split seed 0)'
    return Dataset(dataset_name(path), source, train, test, classes)


def mix_seed(*parts):
    """One 63-bit seed from several integers (splitmix64 steps)."""
    h = 0x243F6A8885A308D3
    for p in parts:
        h = (h ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
        h = (h + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = h
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        h = z ^ (z >> 31)
    return h & 0x7FFFFFFFFFFFFFFF


def normalisation_table(data, device, dtype):
    """Each channel's 256 byte values, normalised: the lab's float32 values, in the computation's precision."""
    tables = [[(v / 255 - data.mean[c]) / data.std[c] for v in range(256)] for c in range(data.channels)]
    return torch.tensor(tables, dtype=torch.float32).to(device=device, dtype=dtype)  # [C, 256]


class Batches:
    """One half of the training images (omega's or the architecture's), in a fresh seeded order
    every epoch; batch b of the search is a function of b alone, so a resumed run sees the same
    batches. Each process takes its share of each batch."""

    PAD = 4

    def __init__(self, data, indices, batch_size, seed, stream, rank, world, device, dtype=torch.float32):
        self.data, self.indices, self.batch_size = data, indices, batch_size
        self.seed, self.stream, self.rank, self.world, self.device = seed, stream, rank, world, device
        self.per_epoch = len(indices) // batch_size
        if self.per_epoch == 0:
            raise SearchError(f'the batch size {batch_size} is larger than the {len(indices)} images in this half '
                              'of the training images: re-export with a smaller --batch-size')
        self.images, self.labels = data.training_set(device)
        self.table = normalisation_table(data, device, dtype)
        self.order_epoch, self.order = -1, None

    def batch(self, number):
        """Global batch `number` of this stream (0, 1, ...): this process's share, NCHW floats."""
        epoch, position = divmod(number, self.per_epoch)
        if epoch != self.order_epoch:
            g = torch.Generator().manual_seed(mix_seed(self.seed, self.stream, epoch))
            self.order = self.indices[torch.randperm(len(self.indices), generator=g)]
            self.order_epoch = epoch
        share = self.batch_size // self.world
        start = position * self.batch_size + self.rank * share
        chosen = self.order[start:start + share].to(self.device)
        images = self.images[chosen]
        if self.data.augment:
            images = self.crop_and_flip(images, mix_seed(self.seed, self.stream, number, self.rank, 7))
        c = torch.arange(self.data.channels, device=self.device).view(1, 1, 1, -1)
        x = self.table[c, images.long()].permute(0, 3, 1, 2).contiguous()
        return x, self.labels[chosen]

    def crop_and_flip(self, images, seed):
        """RandomCrop(32, padding=4) then RandomHorizontalFlip(), on the raw bytes (zero padding)."""
        n, h, w, _ = images.shape
        g = torch.Generator().manual_seed(seed)
        dy = torch.randint(0, 2 * self.PAD + 1, (n,), generator=g)
        dx = torch.randint(0, 2 * self.PAD + 1, (n,), generator=g)
        flip = torch.rand(n, generator=g) < 0.5
        padded = F.pad(images, (0, 0, self.PAD, self.PAD, self.PAD, self.PAD))
        cols = torch.arange(w).view(1, -1).expand(n, w)
        cols = torch.where(flip.view(-1, 1), w - 1 - cols, cols) + dx.view(-1, 1)
        rows = torch.arange(h).view(1, -1) + dy.view(-1, 1)
        rows, cols = rows.to(images.device), cols.to(images.device)
        b = torch.arange(n, device=images.device).view(-1, 1, 1)
        return padded[b, rows.view(n, h, 1), cols.view(n, 1, w)]


# ---------------------------------------------------------------------------------------------
# The supernet (src/search/supernet.ts and ops.ts): NCHW, batch-statistics BN everywhere

def batch_norm(x, weight=None, bias=None):
    return F.batch_norm(x, None, None, weight, bias, True, 0.0, BN_EPS)


def negative_part(x):
    return torch.clamp(x, max=0)


def uniform_fan_in_(weight, fan_in):
    """PyTorch's default init for convs and linears, as the lab draws it: U(-1/sqrt(fan_in), ...)."""
    bound = 1 / math.sqrt(fan_in)
    with torch.no_grad():
        weight.uniform_(-bound, bound)


def conv_weight(cout, cin, k):
    w = nn.Parameter(torch.empty(cout, cin, k, k))
    uniform_fan_in_(w, cin * k * k)
    return w


class Conv(nn.Module):
    """A bias-free conv whose parameter is `<name>.weight`, initialised as the lab initialises it."""

    def __init__(self, cin, cout, k, stride=1, padding=0, dilation=1, groups=1):
        super().__init__()
        self.weight = conv_weight(cout, cin // groups, k)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x):
        return F.conv2d(x, self.weight, None, self.stride, self.padding, self.dilation, self.groups)


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = Conv(cin, cout, 1)

    def forward(self, x):
        return batch_norm(self.conv(F.relu(x)))


class FactorizedReduce(nn.Module):
    """Two stride-2 1x1 convs, the second shifted by one; an odd size is padded at the end first."""

    def __init__(self, cin, cout):
        super().__init__()
        if cout % 2:
            raise SearchError(f'FactorizedReduce needs an even channel count, got {cout}')
        self.conv1 = Conv(cin, cout // 2, 1)
        self.conv2 = Conv(cin, cout // 2, 1)

    def forward(self, x):
        x = F.relu(x)
        if x.shape[2] % 2 or x.shape[3] % 2:
            x = F.pad(x, (0, x.shape[3] % 2, 0, x.shape[2] % 2))
        return batch_norm(torch.cat([self.conv1(x[:, :, 0::2, 0::2]), self.conv2(x[:, :, 1::2, 1::2])], 1))


class ConvOp(nn.Module):
    """SepConv / DilConv without the leading ReLU: the edge's activation replaces it."""

    def __init__(self, op, c, stride):
        super().__init__()
        k, d, self.separable = CONV_SPECS[op]
        pad = d * (k - 1) // 2
        self.dw1 = Conv(c, c, k, stride, pad, d, groups=c)
        self.pw1 = Conv(c, c, 1)
        if self.separable:
            self.dw2 = Conv(c, c, k, 1, pad, 1, groups=c)
            self.pw2 = Conv(c, c, 1)

    def forward(self, x):
        y = batch_norm(self.pw1(self.dw1(x)))
        if not self.separable:
            return y
        return batch_norm(self.pw2(self.dw2(F.relu(y))))


def activation(name, x, edge, draws):
    if name == 'relu':
        return F.relu(x)
    if name == 'relu6':
        return F.relu6(x)
    if name == 'leaky_relu':
        return F.leaky_relu(x, LEAKY_SLOPE)
    if name == 'prelu':
        return F.relu(x) + edge.prelu.view(1, -1, 1, 1) * negative_part(x)
    if name == 'rrelu':
        return F.relu(x) + negative_part(x) * draws.rrelu_slopes(x)
    if name == 'elu':
        return F.elu(x)
    if name == 'celu':
        return F.relu(x) + torch.expm1(negative_part(x))
    if name == 'selu':
        return F.selu(x)
    if name == 'swish':
        return x * torch.sigmoid(edge.swish * x)
    raise ValueError(name)


def mixed_activation(x, coefficients, edge, draws):
    """sum_i softmax(beta)_i * act_i(x) over the 9 activations, regrouped into 5 terms (ops.ts)."""
    pos, r6, ex, sw, leak, pr, rr = coefficients
    negative = negative_part(x)
    slope = leak + pr * edge.prelu.view(1, -1, 1, 1) + rr * draws.rrelu_slopes(x)
    return (F.relu(x) * pos + F.relu6(x) * r6 + negative * slope + torch.expm1(negative) * ex
            + x * torch.sigmoid(edge.swish * x) * sw)


class MixedEdge(nn.Module):
    def __init__(self, config, c, stride):
        super().__init__()
        self.skip = FactorizedReduce(c, c) if stride == 2 else None
        self.ops = nn.ModuleDict()
        for op, act in candidate_ops(config['mode']):
            if op in CONV_SPECS:
                self.ops[candidate_label(op, act)] = ConvOp(op, c, stride)
        used = activations_used(config)
        self.prelu = nn.Parameter(torch.full((c,), PRELU_INIT)) if 'prelu' in used else None
        self.swish = nn.Parameter(torch.full((1,), SWISH_INIT)) if 'swish' in used else None


def channel_shuffle(x, groups):
    """PC-DARTS's channel_shuffle: [g groups of c/g channels] -> interleaved."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def fixed_beta_weights(config):
    """fixed-beta: softmax of the frozen beta rows, weights below 1e-6 dropped (supernet.ts)."""
    fixed = config.get('fixedBeta')
    out = {}
    for cell, key in (('normal', 'betaNormal'), ('reduce', 'betaReduce')):
        rows = fixed[key] if fixed else [[0.0] * len(ACTIVATIONS) for _ in range(EDGES)]
        cleaned = []
        for row in rows:
            w = [v if v >= 1e-6 else 0.0 for v in softmax_list(row)]
            s = sum(w)
            cleaned.append([v / s for v in w])
        out[cell] = cleaned
    return out


class Cell(nn.Module):
    def __init__(self, config, cpp, cp, c, reduction, reduction_prev):
        super().__init__()
        self.config, self.reduction = config, reduction
        self.pre0 = FactorizedReduce(cpp, c) if reduction_prev else ReLUConvBN(cpp, c)
        self.pre1 = ReLUConvBN(cp, c)
        self.k = config['partialChannels']
        self.edges = nn.ModuleList([
            MixedEdge(config, c // self.k, 2 if reduction and src < 2 else 1) for _, src in EDGE_LIST])
        self.candidates = candidate_ops(config['mode'])
        # What a mixed edge's convs read, in the lab's order: one key per activation (lab: InputPlan).
        if config['mode'] == 'nonfactorized':
            self.plan = [(a, a) for a in ACTIVATIONS]
        else:
            self.plan = [(None, config['activation'] if config['mode'] == 'darts' else None)]

    def forward(self, s0, s1, arch, draws):
        states = [self.pre0(s0), self.pre1(s1)]
        outputs = [None] * EDGES

        def run_edges_from(src):
            # The edges leaving one state run together, as in the lab (same values as DARTS's
            # node-by-node order; RReLU draws come in the lab's order).
            x = states[src]
            stride = 2 if self.reduction and src < 2 else 1
            bypass = None
            if self.k > 1:
                cp = x.shape[1] // self.k
                x, rest = x[:, :cp], x[:, cp:]
                bypass = F.max_pool2d(rest, 2, 2, ceil_mode=True) if stride == 2 else rest
            # The pools (every mode has both) read no parameters: computed once for all these edges.
            pooled = {'max_pool_3x3': batch_norm(F.max_pool2d(x, 3, stride, 1)),
                      'avg_pool_3x3': batch_norm(F.avg_pool2d(x, 3, stride, 1, count_include_pad=False))}
            edges = EDGES_FROM[src]
            activated = {e: {} for e in edges}
            for key, single in self.plan:
                if single in SHAREABLE:
                    shared = activation(single, x, None, draws)
                    for e in edges:
                        activated[e][key] = shared
                    continue
                for e in edges:
                    edge = self.edges[e]
                    if single is not None:
                        activated[e][key] = activation(single, x, edge, draws)
                    elif arch['coefficients'] is not None:
                        activated[e][key] = mixed_activation(x, arch['coefficients'][e], edge, draws)
                    else:
                        weights = arch['fixed'][e]
                        activated[e][key] = sum(w * activation(a, x, edge, draws)
                                                for a, w in zip(ACTIVATIONS, weights) if w != 0)
            for e in edges:
                edge = self.edges[e]
                y = 0
                for i, (op, act) in enumerate(self.candidates):
                    if op == 'none':
                        continue  # contributes zero; its weight still takes part in the softmax
                    if op in pooled:
                        out = pooled[op]
                    elif op == 'skip_connect':
                        out = x if stride == 1 else edge.skip(x)
                    else:
                        out = edge.ops[candidate_label(op, act)](activated[e][act])
                    y = y + arch['alpha'][e, i] * out
                if bypass is not None:
                    y = channel_shuffle(torch.cat([y, bypass], 1), self.k)
                if arch['edges'] is not None:
                    y = y * arch['edges'][e]
                outputs[e] = y

        run_edges_from(0)
        run_edges_from(1)
        e = 0
        for node in range(NODES):
            s = outputs[e]
            for j in range(1, node + 2):
                s = s + outputs[e + j]
            e += node + 2
            states.append(s)
            if node + 2 <= NODES:
                run_edges_from(node + 2)
        return torch.cat(states[2:], 1)


class Stem(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = Conv(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, track_running_stats=False)

    def forward(self, x):
        return self.bn(self.conv(x))


class Supernet(nn.Module):
    def __init__(self, config, in_channels, classes):
        super().__init__()
        self.config = config
        C, layers = config['channels'], config['layers']
        stem = config['stemMultiplier'] * C
        self.stem = Stem(in_channels, stem)
        cpp, cp, c = stem, stem, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = is_reduction(i, layers)
            if reduction:
                c *= 2
            self.cells.append(Cell(config, cpp, cp, c, reduction, reduction_prev))
            reduction_prev = reduction
            cpp, cp = cp, NODES * c
        self.classifier = nn.Linear(cp, classes)
        uniform_fan_in_(self.classifier.weight, cp)
        uniform_fan_in_(self.classifier.bias, cp)
        width = len(candidate_ops(config['mode']))
        # DARTS initialises the architecture weights as 1e-3 * N(0, 1).
        self.alpha_normal = nn.Parameter(1e-3 * torch.randn(EDGES, width))
        self.alpha_reduce = nn.Parameter(1e-3 * torch.randn(EDGES, width))
        factorized = config['mode'] == 'factorized'
        self.beta_normal = nn.Parameter(1e-3 * torch.randn(EDGES, len(ACTIVATIONS))) if factorized else None
        self.beta_reduce = nn.Parameter(1e-3 * torch.randn(EDGES, len(ACTIVATIONS))) if factorized else None
        pc = config['partialChannels'] > 1
        self.edge_normal = nn.Parameter(1e-3 * torch.randn(EDGES)) if pc else None
        self.edge_reduce = nn.Parameter(1e-3 * torch.randn(EDGES)) if pc else None
        self.register_buffer('coefficient_matrix', torch.tensor(COEFFICIENTS), persistent=False)
        self.fixed = fixed_beta_weights(config) if config['mode'] == 'fixed-beta' else None

    def weights(self):
        return [p for n, p in self.named_parameters() if not n.startswith(('alpha_', 'beta_', 'edge_'))]

    def alpha_parameters(self):
        """Updated by alpha's Adam: alpha, then PC-DARTS's edge weights (as the lab)."""
        return [p for p in (self.alpha_normal, self.alpha_reduce, self.edge_normal, self.edge_reduce) if p is not None]

    def beta_parameters(self):
        return [p for p in (self.beta_normal, self.beta_reduce) if p is not None]

    def count_weights(self):
        return sum(p.numel() for p in self.weights())

    def cell_arch(self, cell):
        alpha = F.softmax(getattr(self, f'alpha_{cell}'), -1)
        beta = getattr(self, f'beta_{cell}')
        coefficients = F.softmax(beta, -1) @ self.coefficient_matrix if beta is not None else None
        raw_edges = getattr(self, f'edge_{cell}')
        edges = None
        if raw_edges is not None:
            # PC-DARTS edge normalisation: a softmax over each node's incoming edges.
            parts, start = [], 0
            for node in range(NODES):
                parts.append(F.softmax(raw_edges[start:start + node + 2], -1))
                start += node + 2
            edges = torch.cat(parts)
        return {'alpha': alpha, 'coefficients': coefficients, 'edges': edges,
                'fixed': self.fixed[cell] if self.fixed else None}

    def forward(self, x, draws):
        s0 = s1 = self.stem(x)
        arch = {False: self.cell_arch('normal'), True: self.cell_arch('reduce')}
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, arch[cell.reduction], draws)
        return self.classifier(s1.mean((2, 3)))

    def arch_weights(self):
        """Raw alpha/beta/edge weights as plain lists, beta as the lab stores it per mode."""
        rows = lambda p: None if p is None else p.detach().float().cpu().tolist()
        mode = self.config['mode']
        beta_normal, beta_reduce = rows(self.beta_normal), rows(self.beta_reduce)
        if mode == 'darts':
            one_hot = [0.0 if a == self.config['activation'] else -1e9 for a in ACTIVATIONS]
            beta_normal = [list(one_hot) for _ in range(EDGES)]
            beta_reduce = [list(one_hot) for _ in range(EDGES)]
        elif mode == 'fixed-beta':
            fixed = self.config.get('fixedBeta')
            zeros = [[0.0] * len(ACTIVATIONS) for _ in range(EDGES)]
            beta_normal = [list(r) for r in fixed['betaNormal']] if fixed else zeros
            beta_reduce = [list(r) for r in fixed['betaReduce']] if fixed else [list(r) for r in zeros]
        return {'alphaNormal': rows(self.alpha_normal), 'alphaReduce': rows(self.alpha_reduce),
                'betaNormal': beta_normal, 'betaReduce': beta_reduce,
                'edgeNormal': rows(self.edge_normal), 'edgeReduce': rows(self.edge_reduce)}


# ---------------------------------------------------------------------------------------------
# The tri-level step (src/search/optimizer.ts): omega by SGD on a train batch, then alpha and
# beta by their Adams on a validation batch; first order, or DARTS's unrolled second order.

def score_held_out(net, data, count, batch_size, device, dtype):
    """The run's validation accuracy as the lab scores it (search-job.ts): the first `count` test
    images in batches of the search's batch size, unaugmented, batch-statistics BN, RReLU at its
    mean slope, nothing drawn from the search's random streams. Returns loss, accuracy, count."""
    count = min(count, int(data.test_labels.numel()))
    table = normalisation_table(data, device, dtype)
    c = torch.arange(data.channels, device=device).view(1, 1, 1, -1)
    loss = correct = 0.0
    with torch.no_grad():
        for start in range(0, count, batch_size):
            images = data.test_images[start:min(start + batch_size, count)].to(device)
            labels = data.test_labels[start:min(start + batch_size, count)].to(device).long()
            logits = net(table[c, images.long()].permute(0, 3, 1, 2).contiguous(), MeanDraws())
            loss += F.cross_entropy(logits.float(), labels, reduction='sum').item()
            correct += (logits.argmax(1) == labels).sum().item()
    return loss / max(count, 1), correct / max(count, 1), count


def cosine_learning_rate(epoch, epochs, lr_max, lr_min):
    """CosineAnnealingLR(T_max=epochs, eta_min), stepped once per epoch as DARTS does."""
    if epochs <= 0:
        return lr_max
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * min(epoch, epochs) / epochs)) / 2


class Processes:
    """This process's place among the N, and the all-reduce that averages gradients over them."""

    def __init__(self, rank, world):
        self.rank, self.world = rank, world

    def replicas_agree(self, net):
        """Whether every process holds the same weights (they must: each applies the same averaged
        gradients), compared by per-parameter float64 sums."""
        if self.world == 1:
            return True
        sums = torch.stack([p.detach().double().sum() for p in net.parameters()])
        low, high = sums.clone(), sums.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        return bool(torch.equal(low, high))

    def mean(self, tensors):
        if self.world == 1:
            return tensors
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat)
        flat /= self.world
        out, start = [], 0
        for t in tensors:
            out.append(flat[start:start + t.numel()].view_as(t))
            start += t.numel()
        return out


class TriLevelStep:
    def __init__(self, net, config, processes):
        self.net, self.config, self.processes = net, config, processes
        self.weights = net.weights()
        self.alphas = net.alpha_parameters()
        self.betas = net.beta_parameters()
        c = config
        self.sgd = torch.optim.SGD(self.weights, lr=c['learningRate'], momentum=c['momentum'],
                                   weight_decay=c['weightDecay'])
        betas = (c['archBeta1'], c['archBeta2'])
        self.adam_alpha = torch.optim.Adam(self.alphas, lr=c['archLearningRate'], betas=betas, eps=1e-8,
                                           weight_decay=c['archWeightDecay'])
        self.adam_beta = torch.optim.Adam(self.betas, lr=c['activationLearningRate'], betas=betas, eps=1e-8,
                                          weight_decay=c['activationWeightDecay']) if self.betas else None

    def gradients(self, loss, params):
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        # An unused parameter gets a zero gradient: its optimiser still steps (weight decay), as the lab's.
        grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
        return self.processes.mean(grads)

    @staticmethod
    def apply(optimizer, params, grads):
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.step()
        for p in params:
            p.grad = None

    def loss(self, batch, draws):
        x, y = batch
        return F.cross_entropy(self.net(x, draws), y)

    def step(self, train, val, learning_rate, draws, update_architecture):
        """One search step; returns (train loss, val loss, correct val images) of this process."""
        loss = self.loss(train, draws)
        grads = self.gradients(loss, self.weights)
        clip = self.config['gradClip']
        if clip > 0:
            # torch.nn.utils.clip_grad_norm_'s factor, from the averaged gradients.
            norm = torch.sqrt(sum((g.float() ** 2).sum() for g in grads))
            scale = torch.clamp(clip / (norm + 1e-6), max=1.0)
            grads = [g * scale for g in grads]
        for group in self.sgd.param_groups:
            group['lr'] = learning_rate
        self.apply(self.sgd, self.weights, grads)
        train_loss = loss.detach()
        if not update_architecture:
            with torch.no_grad():
                logits = self.net(val[0], draws)
                return train_loss, F.cross_entropy(logits, val[1]), (logits.argmax(1) == val[1]).sum()
        if self.config['order'] == 2:
            val_loss, correct = self.unrolled_architecture_step(train, val, learning_rate, draws)
        else:
            val_loss, correct = self.first_order_architecture_step(val, draws)
        return train_loss, val_loss, correct

    def first_order_architecture_step(self, val, draws):
        sequential = self.config['archUpdate'] == 'sequential' and self.adam_beta is not None
        params = self.alphas if sequential else self.alphas + self.betas
        logits = self.net(val[0], draws)
        loss = F.cross_entropy(logits, val[1])
        grads = self.gradients(loss, params)
        self.apply(self.adam_alpha, self.alphas, grads[:len(self.alphas)])
        if self.adam_beta is not None and not sequential:
            self.apply(self.adam_beta, self.betas, grads[len(self.alphas):])
        if sequential:
            # beta's gradient recomputed after alpha moved (one forward/backward more).
            self.apply(self.adam_beta, self.betas, self.gradients(self.loss(val, draws), self.betas))
        return loss.detach(), (logits.detach().argmax(1) == val[1]).sum()

    def unrolled_architecture_step(self, train, val, xi, draws):
        """DARTS's architect._backward_step_unrolled, for alpha and beta together (the lab's order:
        omega has taken its step already): omega' = omega - xi (mu buf + grad + wd omega);
        g = grad_arch L_val(omega') - xi (grad_arch L_train(omega+) - grad_arch L_train(omega-)) / 2R,
        omega+- = omega +- R grad_omega' L_val, R = 0.01 / |grad_omega' L_val|."""
        c = self.config
        arch = self.alphas + self.betas
        saved = [p.detach().clone() for p in self.weights]
        grads = self.gradients(self.loss(train, draws), self.weights)
        with torch.no_grad():
            for p, g in zip(self.weights, grads):
                buf = self.sgd.state[p].get('momentum_buffer')
                momentum = buf * c['momentum'] if buf is not None else torch.zeros_like(p)
                p.sub_((momentum + g + p * c['weightDecay']) * xi)
        logits = self.net(val[0], draws)
        loss = F.cross_entropy(logits, val[1])
        unrolled = self.gradients(loss, arch + self.weights)
        d_arch, d_weights = unrolled[:len(arch)], unrolled[len(arch):]
        r = 0.01 / (torch.sqrt(sum((g ** 2).sum() for g in d_weights)) + 1e-12)

        def arch_gradients_at(sign):
            with torch.no_grad():
                for p, s, d in zip(self.weights, saved, d_weights):
                    p.copy_(s + d * (r * sign))
            return self.gradients(self.loss(train, draws), arch)

        plus, minus = arch_gradients_at(1), arch_gradients_at(-1)
        with torch.no_grad():
            for p, s in zip(self.weights, saved):
                p.copy_(s)
        final = [g - (gp - gm) / (r * 2) * xi for g, gp, gm in zip(d_arch, plus, minus)]
        self.apply(self.adam_alpha, self.alphas, final[:len(self.alphas)])
        if self.adam_beta is not None:
            self.apply(self.adam_beta, self.betas, final[len(self.alphas):])
        return loss.detach(), (logits.detach().argmax(1) == val[1]).sum()

    def state(self):
        return {'sgd': self.sgd.state_dict(), 'adam_alpha': self.adam_alpha.state_dict(),
                'adam_beta': self.adam_beta.state_dict() if self.adam_beta else None}

    def load_state(self, state):
        self.sgd.load_state_dict(state['sgd'])
        self.adam_alpha.load_state_dict(state['adam_alpha'])
        if self.adam_beta is not None:
            self.adam_beta.load_state_dict(state['adam_beta'])


# ---------------------------------------------------------------------------------------------
# The genotype (src/search/genotype.ts): DARTS's derivation rule, the lab's genotype file

def softmax_list(row):
    m = max(row)
    e = [math.exp(x - m) for x in row]
    s = sum(e)
    return [v / s for v in e]


def derive_genotype(weights, config):
    mode = config['mode']
    candidates = candidate_ops(mode)
    cells = {}
    for cell, suffix in (('normal', 'Normal'), ('reduce', 'Reduce')):
        w = [softmax_list(row) for row in weights['alpha' + suffix]]
        edge = weights['edge' + suffix]
        if edge:
            start = 0
            for node in range(NODES):
                e = softmax_list(edge[start:start + node + 2])
                for j in range(node + 2):
                    w[start + j] = [x * e[j] for x in w[start + j]]
                start += node + 2
        beta = weights['beta' + suffix]

        def activation_of(i):
            if mode == 'darts':
                return config['activation']
            if beta:
                row = beta[i]
                return ACTIVATIONS[max(range(len(row)), key=lambda k: (row[k], -k))]
            return config['activation']

        gene, start = [], 0
        for node in range(NODES):
            n = node + 2
            rows = w[start:start + n]
            strength = [max(x for k, x in enumerate(row) if candidates[k][0] != 'none') for row in rows]
            for j in sorted(range(n), key=lambda j: (-strength[j], j))[:2]:
                row = rows[j]
                best = -1
                for k, x in enumerate(row):
                    if candidates[k][0] != 'none' and (best < 0 or x > row[best]):
                        best = k
                op, act = candidates[best]
                if op in CONV_SPECS:
                    act = act or activation_of(start + j)
                gene.append({'op': op, 'from': j, 'activation': act if op in CONV_SPECS else None})
            start += n
        cells[cell] = gene
    return cells


def darts_string(cells):
    cell = lambda g: '[' + ', '.join(f"('{e['op']}', {e['from']})" for e in g) + ']'
    return (f"Genotype(normal={cell(cells['normal'])}, normal_concat=[2, 3, 4, 5], "
            f"reduce={cell(cells['reduce'])}, reduce_concat=[2, 3, 4, 5])")


# ---------------------------------------------------------------------------------------------
# The run file (src/runs/format.ts): the lab's `factorized-nas-run` version 1, written atomically

def float32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def short_float32(x):
    """The shortest decimal that reads back as the same float32 (as the lab writes snapshots)."""
    if not math.isfinite(x):
        raise ValueError(f'not finite: {x}')
    if x == int(x) and abs(x) < 2 ** 53:
        return int(x)
    f = float32(x)
    for p in range(1, 10):
        y = float(f'{f:.{p}g}')
        if float32(y) == f:
            return y
    return f


def short_rows(rows):
    if rows is None:
        return None
    if rows and isinstance(rows[0], list):
        return [[short_float32(x) for x in r] for r in rows]
    return [short_float32(x) for x in rows]


def compact_json(value):
    """JSON with two-space indentation; arrays of plain values and objects of at most 10 plain
    values on one line (the lab's formatJson)."""
    plain = lambda v: v is None or isinstance(v, (bool, int, float, str))
    dump = lambda v: json.dumps(v, allow_nan=False, ensure_ascii=False)

    def fmt(v, indent):
        if plain(v):
            return dump(v)
        inner = indent + '  '
        if isinstance(v, list):
            if not v:
                return '[]'
            if all(plain(x) for x in v):
                return '[' + ', '.join(dump(x) for x in v) + ']'
            return '[\n' + ',\n'.join(inner + fmt(x, inner) for x in v) + '\n' + indent + ']'
        items = list(v.items())
        if not items:
            return '{}'
        if all(plain(x) for _, x in items) and len(items) <= 10:
            return '{ ' + ', '.join(f'{dump(k)}: {dump(x)}' for k, x in items) + ' }'
        return '{\n' + ',\n'.join(f'{inner}{dump(k)}: {fmt(x, inner)}' for k, x in items) + '\n' + indent + '}'

    return fmt(value, '') + '\n'


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def thinned(rows, limit):
    """At most `limit` rows: every other older one dropped, first and last kept (the lab's store)."""
    if len(rows) <= limit:
        return rows
    return [r for i, r in enumerate(rows) if not (i % 2 == 1 and i < len(rows) - 1)]


def write_atomically(path, text):
    tmp = f'{path}.tmp-{os.getpid()}'
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise SearchError(f'cannot write {path} ({e.strerror or e}): give an --out in a folder that exists '
                          'and that this user can write')


class RunFile:
    """The history of the search and the lab's run file made from it (process 0 only)."""

    def __init__(self, path, name, config, dataset, backend, steps_per_epoch, steps_total):
        self.path, self.name, self.config, self.dataset, self.backend = path, name, config, dataset, backend
        self.steps_per_epoch, self.steps_total = steps_per_epoch, steps_total
        self.created_at = now_iso()
        # Names this run wherever its file is imported: a later import of it updates that run.
        self.origin = f'search.py:{uuid.uuid4()}'
        self.metrics, self.snapshots, self.held_out = [], [], []
        self.best = None
        self.status, self.message = 'running', None
        self.step, self.epoch, self.seconds = 0, 0, 0.0
        self.last_arch = None

    def add_metrics(self, row):
        self.metrics = thinned(self.metrics + [row], MAX_METRICS)
        if self.best is None or row['valAccuracy'] > self.best[0]:
            self.best = (row['valAccuracy'], row['step'])
        self.step, self.epoch, self.seconds = row['step'], row['epoch'], row['seconds']

    def add_held_out(self, step, epoch, loss, accuracy, count):
        self.held_out = [e for e in self.held_out if e['step'] < step] + [
            {'step': step, 'epoch': epoch, 'testLoss': loss, 'testAccuracy': accuracy, 'testCount': count}]

    def add_snapshot(self, step, epoch, weights):
        self.last_arch = weights
        if self.snapshots and self.snapshots[-1]['step'] == step:
            return
        snapshot = {'step': step, 'epoch': epoch, 'kind': 'raw'}
        for key in ('alphaNormal', 'alphaReduce', 'betaNormal', 'betaReduce', 'edgeNormal', 'edgeReduce'):
            snapshot[key] = short_rows(weights[key])
        self.snapshots = thinned(self.snapshots + [snapshot], MAX_SNAPSHOTS)

    def genotype(self):
        if self.last_arch is None:
            return None
        cells = derive_genotype(self.last_arch, self.config)
        weights = {k: short_rows(v) for k, v in self.last_arch.items() if v is not None}
        recent = [m['valAccuracy'] for m in self.metrics[-20:]]
        last = self.metrics[-1] if self.metrics else None
        held_out = self.held_out[-1] if self.held_out else None
        return {
            'format': GENOTYPE_FORMAT, 'version': 1,
            'space': {'ops': OPS, 'activations': ACTIVATIONS, 'nodes': NODES},
            'normal': cells['normal'], 'normalConcat': [2, 3, 4, 5],
            'reduce': cells['reduce'], 'reduceConcat': [2, 3, 4, 5],
            'darts': darts_string(cells),
            'weights': weights,
            'run': {'mode': self.config['mode'], 'dataset': self.dataset['name'], 'datasetSource': self.dataset['source'],
                    'config': self.config, 'backend': self.backend, 'steps': self.step,
                    'epochs': self.step / self.steps_per_epoch, 'seconds': self.seconds,
                    # As the lab writes them: valAccuracy is the latest held-out scoring.
                    'metrics': {'valAccuracy': held_out['testAccuracy'] if held_out else None,
                                'valImages': held_out['testCount'] if held_out else 0,
                                'valStep': held_out['step'] if held_out else None,
                                'batchAccuracy': sum(recent) / len(recent) if recent else None,
                                'batchAccuracySteps': len(recent),
                                'trainLoss': last['trainLoss'] if last else None,
                                'valLoss': last['valLoss'] if last else None},
                    'createdAt': now_iso()},
        }

    def document(self):
        return {
            'format': RUN_FORMAT, 'version': 1, 'exportedAt': now_iso(),
            'name': self.name, 'origin': self.origin, 'kind': 'search', 'mode': self.config['mode'],
            'status': self.status, 'message': self.message,
            'createdAt': self.created_at, 'updatedAt': now_iso(),
            'backend': self.backend, 'dataset': self.dataset, 'config': self.config,
            'steps': self.step, 'epoch': self.epoch, 'seconds': self.seconds, 'stepsTotal': self.steps_total,
            'bestValAccuracy': self.best[0] if self.best else None,
            'bestStep': self.best[1] if self.best else None,
            'genotype': self.genotype(),
            'metrics': self.metrics,
            'snapshots': self.snapshots,
            'heldOut': self.held_out,
        }

    def write(self):
        write_atomically(self.path, compact_json(self.document()))

    def state(self):
        return {'createdAt': self.created_at, 'origin': self.origin, 'metrics': self.metrics, 'snapshots': self.snapshots,
                'heldOut': self.held_out, 'best': self.best, 'step': self.step, 'epoch': self.epoch,
                'seconds': self.seconds}

    def load_state(self, s):
        self.created_at, self.metrics, self.snapshots = s['createdAt'], s['metrics'], s['snapshots']
        self.origin = s.get('origin', self.origin)
        self.held_out = s.get('heldOut', [])
        self.best = tuple(s['best']) if s['best'] else None
        self.step, self.epoch, self.seconds = s['step'], s['epoch'], s['seconds']


# ---------------------------------------------------------------------------------------------
# Starting points: the lab's export-init file, and this script's own checkpoints

def typed_array(entry, what):
    if not isinstance(entry, dict) or entry.get('$typed') not in ('Float32Array', 'Int32Array'):
        raise SearchError(f'{what}: expected {{"$typed": "Float32Array" or "Int32Array", "base64": ...}}')
    dtype = torch.float32 if entry['$typed'] == 'Float32Array' else torch.int32
    raw = base64.b64decode(entry['base64'])
    return torch.frombuffer(bytearray(raw), dtype=dtype)


def same_setup(a, b):
    skip = {'maxSteps', 'epochs'}
    return {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}


def read_init(path, config, net, data):
    try:
        with open(path, encoding='utf-8') as f:
            init = json.load(f)
    except (OSError, ValueError) as e:
        raise SearchError(f'--init-from {path}: cannot read it as JSON ({e})')
    if not isinstance(init, dict) or init.get('format') != INIT_FORMAT or init.get('version') != 1:
        raise SearchError(f'--init-from {path}: not a {INIT_FORMAT} file of version 1 (write one with '
                          '`npm run lab -- export-init`)')
    if not same_setup(init['config'], config):
        diff = sorted(k for k in set(init['config']) | set(config)
                      if k not in ('maxSteps', 'epochs') and init['config'].get(k) != config.get(k))
        raise SearchError(f'--init-from {path}: written for another setup (differs in {", ".join(diff)}): export '
                          'init.json with the same setup flags as this script')
    shape = init['input']
    mine = {'height': data.height, 'width': data.width, 'channels': data.channels, 'classes': data.classes}
    if any(shape[k] != v for k, v in mine.items()):
        raise SearchError(f'--init-from {path}: written for {shape["height"]}x{shape["width"]}x{shape["channels"]} '
                          f'images of {shape["classes"]} classes, but --data holds '
                          f'{data.height}x{data.width}x{data.channels} of {data.classes}: use the same data set')
    params = dict(net.named_parameters())
    given = {v['name']: v for v in init['variables']}
    missing = sorted(set(params) - set(given))
    extra = sorted(set(given) - set(params))
    if missing or extra:
        raise SearchError(f'--init-from {path}: its variables do not fit this network '
                          f'(missing {missing[:3]}, unknown {extra[:3]})')
    with torch.no_grad():
        for name, p in params.items():
            v = given[name]
            if list(v['shape']) != list(p.shape):
                raise SearchError(f'--init-from {path}: {name} has shape {v["shape"]}, this network {list(p.shape)}')
            p.copy_(typed_array(v['values'], name).view(p.shape))
    batches = {}
    for key in ('train', 'val'):
        b = init['batches'][key]
        n, h, w, c = b['shape']
        x = typed_array(b['x'], f'batches.{key}.x').view(n, h, w, c).permute(0, 3, 1, 2).contiguous()
        batches[key] = (x, typed_array(b['y'], f'batches.{key}.y').long())
    return batches, init['rng']


# A checkpoint is {format, meta: JSON text, tensors: {key: tensor}}: only strings and tensors are
# pickled, so torch.load(weights_only=True) reads it on every torch version (1.13's refuses floats).

def split_tensors(value, tensors):
    if torch.is_tensor(value):
        key = str(len(tensors))
        tensors[key] = value.detach().cpu()
        return {'$tensor': key}
    if isinstance(value, dict):
        return {str(k): split_tensors(v, tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [split_tensors(v, tensors) for v in value]
    return value


def join_tensors(value, tensors):
    if isinstance(value, dict):
        if set(value) == {'$tensor'}:
            return tensors[value['$tensor']]
        return {k: join_tensors(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [join_tensors(v, tensors) for v in value]
    return value


def optimizer_state(state):
    """An optimiser's state_dict read back: its per-parameter state is keyed by integers."""
    return None if state is None else {**state, 'state': {int(k): v for k, v in state['state'].items()}}


def load_checkpoint(path):
    if not os.path.exists(path):
        raise SearchError(f'--resume: no checkpoint at {path} (give --checkpoint PATH, or start without --resume)')
    try:
        try:
            stored = torch.load(path, map_location='cpu', weights_only=True)
        except TypeError:  # a torch without weights_only
            stored = torch.load(path, map_location='cpu')
        if not isinstance(stored, dict) or stored.get('format') != CHECKPOINT_FORMAT:
            raise SearchError(f'--resume: {path} is not a checkpoint of this script')
        return join_tensors(json.loads(stored['meta']), stored['tensors'])
    except SearchError:
        raise
    except Exception as e:  # torch raises many kinds for a damaged file
        raise SearchError(f'--resume: cannot read the checkpoint {path} ({e})')


def save_checkpoint(path, state):
    tensors = {}
    meta = json.dumps(split_tensors(state, tensors))
    tmp = f'{path}.tmp-{os.getpid()}'
    try:
        torch.save({'format': CHECKPOINT_FORMAT, 'meta': meta, 'tensors': tensors}, tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise SearchError(f'cannot write the checkpoint {path} ({e.strerror or e}): give a writable --checkpoint')


# ---------------------------------------------------------------------------------------------
# Main

def parse_args(argv):
    p = argparse.ArgumentParser(description='The lab\'s search for the setup baked into this script.')
    p.add_argument('--data', help='cifar-10-binary.tar.gz, its extracted folder, or IDX files (a folder or one file)')
    p.add_argument('--out', help='the run file to write (the lab\'s factorized-nas-run format)')
    p.add_argument('--steps', type=int, help='stop after N steps (overrides the setup\'s)')
    p.add_argument('--epochs', type=int, help='run N epochs (overrides the setup\'s)')
    p.add_argument('--resume', action='store_true', help='continue from the checkpoint')
    p.add_argument('--checkpoint', help='checkpoint file (default: OUT.checkpoint.pt)')
    p.add_argument('--checkpoint-every', type=int, default=0, help='also checkpoint every N steps')
    p.add_argument('--checkpoint-minutes', type=float, default=10, help='checkpoint at least this often')
    p.add_argument('--init-from', help='the lab\'s export-init file: its weights, first batches and draws')
    p.add_argument('--device', help='cuda or cpu (default: cuda when available)')
    p.add_argument('--float64', action='store_true',
                   help='compute in float64 (slow): to compare with the lab\'s cpu backend, which accumulates in float64')
    p.add_argument('--name', help='the run\'s name in the lab')
    p.add_argument('--write-every', type=float, default=30, help='rewrite the run file at most every S seconds')
    p.add_argument('--snapshot-every', type=int, help='alpha/beta snapshot every N steps (default: 1/400 of the run)')
    p.add_argument('--stop-after', type=int, help='stop after N steps of this session (checkpointed; --resume goes on)')
    p.add_argument('--held-out-images', type=int, default=500,
                   help='test images the supernet is scored on (the run\'s validation accuracy; 0: none)')
    p.add_argument('--held-out-every', type=int, default=1,
                   help='score them every N epochs (0: only at the end)')
    p.add_argument('--quiet', action='store_true')
    p.add_argument('--check-counts', action='store_true', help='print the supernet\'s parameter count and exit')
    p.add_argument('--in-channels', type=int, default=3, help='with --check-counts')
    p.add_argument('--classes', type=int, default=10, help='with --check-counts')
    p.add_argument('--describe-data', action='store_true', help='print the data set as the search reads it and exit')
    return p.parse_args(argv)


def effective_config(args):
    config = json.loads(json.dumps(SETUP['config']))
    if args.steps is not None:
        if args.steps < 1:
            raise SearchError(f'--steps must be at least 1, got {args.steps}')
        config['maxSteps'] = args.steps
    if args.epochs is not None:
        if args.epochs < 1:
            raise SearchError(f'--epochs must be at least 1, got {args.epochs}')
        config['epochs'] = args.epochs
        if args.steps is None:
            config['maxSteps'] = 0
    return config


def check_counts(args, config):
    torch.manual_seed(0)
    net = Supernet(config, args.in_channels, args.classes)
    width = len(candidate_ops(config['mode']))
    print(json.dumps({'supernetParams': net.count_weights(), 'alphaShape': [EDGES, width],
                      'betaShape': [EDGES, len(ACTIVATIONS)] if config['mode'] == 'factorized' else None}))


def main(argv):
    if SETUP is None:
        raise SearchError('this is the template: write a search script with `npm run lab -- export-search --out search.py`')
    args = parse_args(argv)
    config = effective_config(args)
    if args.check_counts:
        return check_counts(args, config)
    if not args.data:
        raise SearchError('--data PATH is required (cifar-10-binary.tar.gz, its folder, or IDX files)')
    if args.describe_data:
        data = load_data(args.data)
        info = data.info()
        info.update({'mean': data.mean, 'std': data.std, 'augment': data.augment,
                     'trainLabels': data.train_labels.tolist()[:64],
                     'trainLabelSum': int((data.train_labels.long() * torch.arange(1, len(data.train_labels) + 1)).sum())})
        print(json.dumps(info))
        return None
    if not args.out:
        raise SearchError('--out FILE is required: the run file the lab imports')
    rank, world = int(os.environ.get('RANK', 0)), int(os.environ.get('WORLD_SIZE', 1))
    local_rank = int(os.environ.get('LOCAL_RANK', 0))
    if config['batchSize'] % world:
        raise SearchError(f'{world} processes do not divide the batch size {config["batchSize"]}: each process takes '
                          f'an equal share of every batch; use --nproc_per_node (times nodes) dividing '
                          f'{config["batchSize"]}, or re-export with a --batch-size that {world} divides')
    if args.resume and args.init_from:
        raise SearchError('--resume and --init-from do not go together: a resumed run starts from its checkpoint')
    checkpoint_path = args.checkpoint or args.out + '.checkpoint.pt'
    if rank == 0:
        # Fail before any work when the run file cannot be written.
        folder = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise SearchError(f'cannot write {args.out}: {folder} is not a writable folder; give an --out in a '
                              'folder that exists and that this user can write')
    device_name = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device_name.startswith('cuda'):
        if not torch.cuda.is_available():
            raise SearchError('--device cuda: no CUDA device here (use --device cpu)')
        device = torch.device('cuda', local_rank if world > 1 else torch.cuda.current_device())
        torch.cuda.set_device(device)
    else:
        device = torch.device('cpu')
    data = load_data(args.data)
    processes = Processes(rank, world)
    if world > 1:
        dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo')
    log = (lambda *a: None) if (args.quiet or rank) else (lambda msg: print(msg, file=sys.stderr, flush=True))

    dtype = torch.float64 if args.float64 else torch.float32
    torch.manual_seed(config['seed'])
    net = Supernet(config, data.channels, data.classes)
    split = math.floor(config['trainPortion'] * len(data.train_labels))
    indices = torch.arange(len(data.train_labels))
    train = Batches(data, indices[:split], config['batchSize'], config['seed'], 1, rank, world, device, dtype)
    val = Batches(data, indices[split:], config['batchSize'], config['seed'], 2, rank, world, device, dtype)
    steps_per_epoch = train.per_epoch
    steps_total = config['maxSteps'] if config['maxSteps'] > 0 else config['epochs'] * steps_per_epoch
    epochs_planned = max(1, math.ceil(steps_total / steps_per_epoch))
    backend = f'pytorch {device.type}' + (f' x{world} ({"nccl" if device.type == "cuda" else "gloo"})' if world > 1 else '')
    name = args.name or f'{config["mode"]} search on {data.name} ({backend})'
    run = RunFile(args.out, name, config, data.info(), backend, steps_per_epoch, steps_total) if rank == 0 else None
    snapshot_every = args.snapshot_every or max(1, steps_total // MAX_SNAPSHOTS)

    net = net.to(device=device, dtype=dtype)
    step_fn = TriLevelStep(net, config, processes)
    step, seconds = 0, 0.0
    init_batches, lab_rng = None, None
    if args.resume:
        cp = load_checkpoint(checkpoint_path)
        saved = cp['config']
        if not same_setup(saved, config):
            raise SearchError(f'--resume: {checkpoint_path} is a checkpoint of another setup')
        if args.steps is None and args.epochs is None:
            config.update({'maxSteps': saved['maxSteps'], 'epochs': saved['epochs']})
            steps_total = config['maxSteps'] if config['maxSteps'] > 0 else config['epochs'] * steps_per_epoch
            epochs_planned = max(1, math.ceil(steps_total / steps_per_epoch))
        net.load_state_dict(cp['net'])
        step_fn.load_state({k: optimizer_state(v) for k, v in cp['optimizers'].items()})
        step, seconds = cp['step'], cp['seconds']
        if run:
            run.load_state(cp['run'])
            run.steps_total = steps_total
        log(f'resumed at step {step} from {checkpoint_path}')
    else:
        if args.init_from:
            init_batches, lab_rng = read_init(args.init_from, config, net, data)
            share = config['batchSize'] // world
            init_batches = {k: (x[rank * share:(rank + 1) * share].to(device, dtype), y[rank * share:(rank + 1) * share].to(device))
                            for k, (x, y) in init_batches.items()}
        elif world > 1:
            for p in net.parameters():  # every process starts from process 0's weights
                dist.broadcast(p.data, 0)
        if run:
            run.add_snapshot(0, 0, net.arch_weights())
    if run:
        run.steps_total = steps_total
        run.write()

    def checkpoint():
        if run:
            save_checkpoint(checkpoint_path, {
                'version': 1, 'config': config, 'step': step, 'seconds': seconds, 'world': world,
                'net': net.state_dict(), 'optimizers': step_fn.state(), 'run': run.state()})

    session_steps = 0
    last_write = last_checkpoint = time.time()
    try:
        while step < steps_total:
            started = time.time()
            epoch = step // steps_per_epoch
            lr = cosine_learning_rate(epoch, epochs_planned, config['learningRate'], config['learningRateMin'])
            if init_batches is not None and step == 0:
                train_batch, val_batch, draws = init_batches['train'], init_batches['val'], LabDraws(lab_rng)
            else:
                train_batch, val_batch = train.batch(step), val.batch(step)
                g = torch.Generator(device=device).manual_seed(mix_seed(config['seed'], step, rank, 3))
                draws = TorchDraws(g)
            train_loss, val_loss, correct = step_fn.step(train_batch, val_batch, lr, draws,
                                                         epoch >= config['warmupEpochs'])
            totals = torch.stack([train_loss.float(), val_loss.float(), correct.float()])
            if world > 1:
                dist.all_reduce(totals)
            train_loss, val_loss = totals[0].item() / world, totals[1].item() / world
            accuracy = totals[2].item() / config['batchSize']
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                raise FloatingPointError(
                    f'The loss became {train_loss} at step {step + 1} (train) / {val_loss} (validation): the search '
                    'diverged. Re-export with a lower --learning-rate or --arch-learning-rate.')
            step += 1
            session_steps += 1
            elapsed = time.time() - started
            seconds += elapsed
            if run:
                run.add_metrics({'step': step, 'epoch': step // steps_per_epoch, 'trainLoss': train_loss,
                                 'valLoss': val_loss, 'valAccuracy': accuracy,
                                 'imagesPerSecond': 2 * config['batchSize'] / max(elapsed, 1e-9),
                                 'seconds': seconds, 'learningRate': lr})
                if step % snapshot_every == 0 or step == steps_total:
                    run.add_snapshot(step, step // steps_per_epoch, net.arch_weights())
            if step % 10 == 0 or step == 1:
                log(f'step {step}/{steps_total} train {train_loss:.3f} val {val_loss:.3f} acc {accuracy:.3f} '
                    f'({elapsed * 1000:.0f} ms)')
            stopping = args.stop_after is not None and session_steps >= args.stop_after and step < steps_total
            # The validation accuracy: at the end of every --held-out-every epochs and of the run or
            # session, as the lab scores it (process 0 alone: the others wait at the next step).
            epochs_done, epoch_end = divmod(step, steps_per_epoch)
            held_out_due = epoch_end == 0 and args.held_out_every > 0 and epochs_done % args.held_out_every == 0
            if run and args.held_out_images > 0 and data.test_labels.numel() > 0 and \
                    (held_out_due or stopping or step == steps_total):
                loss, acc, count = score_held_out(net, data, args.held_out_images, config['batchSize'], device, dtype)
                run.add_held_out(step, step // steps_per_epoch, loss, acc, count)
                log(f'step {step}: validation accuracy {acc:.3f} on {count} held-out images')
            due = (args.checkpoint_every and step % args.checkpoint_every == 0) or \
                time.time() - last_checkpoint >= 60 * args.checkpoint_minutes
            if due or stopping or step == steps_total:
                checkpoint()
                last_checkpoint = time.time()
            if run and (stopping or step == steps_total or step == 1 or time.time() - last_write >= args.write_every):
                if step == steps_total:
                    run.status = 'done'
                if stopping:
                    run.add_snapshot(step, step // steps_per_epoch, net.arch_weights())
                    run.status = 'stopped'
                    run.message = f'stopped after {session_steps} steps of this session; go on with --resume'
                run.write()
                last_write = time.time()
            if stopping:
                break
    except (FloatingPointError, RuntimeError) as e:
        if run:
            run.status, run.message = 'failed', str(e)
            run.write()
        raise
    agree = processes.replicas_agree(net)
    if not agree:
        # The processes apply the same averaged gradients, so this is a bug: said, not fatal, since
        # process 0's result is still a search (of its own weights).
        if run:
            print('warning: the processes ended with different weights; the run file holds process 0\'s',
                  file=sys.stderr, flush=True)
            run.message = 'warning: the processes ended with different weights (process 0\'s are shown)'
            run.write()
    if run and step >= steps_total and run.status == 'running':  # a resumed run that had finished
        run.status = 'done'
        run.write()
    if run:
        last = run.metrics[-1] if run.metrics else {}
        held_out = run.held_out[-1] if run.held_out else {}
        print(json.dumps({'out': args.out, 'mode': config['mode'], 'dataset': data.name, 'backend': backend,
                          'steps': step, 'seconds': seconds, 'trainLoss': last.get('trainLoss'),
                          'valLoss': last.get('valLoss'), 'lastBatchAccuracy': last.get('valAccuracy'),
                          'valAccuracy': held_out.get('testAccuracy'), 'valImages': held_out.get('testCount', 0),
                          'params': net.count_weights(), 'status': run.status, 'processes': world,
                          'replicasAgree': agree,
                          'darts': darts_string(derive_genotype(net.arch_weights(), config))}), flush=True)
    if world > 1:
        dist.destroy_process_group()
    return None


if __name__ == '__main__':
    try:
        main(sys.argv[1:])
    except SearchError as e:
        if int(os.environ.get('RANK', 0)) == 0:
            print(f'error: {e}', file=sys.stderr, flush=True)
        sys.exit(2)
    except FloatingPointError as e:
        if int(os.environ.get('RANK', 0)) == 0:
            print(f'search failed (nan-loss): {e}', file=sys.stderr, flush=True)
        sys.exit(1)
