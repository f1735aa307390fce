"""Named networks for Fashion-MNIST-sized inputs (28 x 28 x 1, 10 classes).

Each preset is a plain list of circnn.layers: read it, copy it, change it.
block_size=None gives the dense network of the same shape (the baseline the
compression is measured against); a power of two from 2 to 1024 makes the
wide layers block-circulant; a tuple gives each of them its own k (None for
a dense one).  seed fixes the initial weights (He
initialisation from each layer's full fan-in, see circnn.layers).

    model = circnn.presets.mlp(block_size=32, seed=0)
    circnn.train.fit(model, x_train, y_train, epochs=10)
"""
import numpy as np

from . import layers as L
from .model import Model

__all__ = ["mlp", "cnn", "wide_cnn", "ds_cnn", "compact_cnn", "ARCHITECTURES", "build", "weight_count"]


def _blocks(block_size, count):
    """One block size (or None) per block-circulant layer of a preset."""
    if isinstance(block_size, (tuple, list)):
        if len(block_size) != count:
            raise ValueError(f"this preset has {count} block-circulant layers, got {len(block_size)} block sizes")
        return list(block_size)
    return [block_size] * count


def _dense(in_features, out_features, block_size, rng):
    if block_size is None:
        return L.Dense(in_features, out_features, seed=rng)
    return L.BlockCirculantDense(in_features, out_features, block_size, seed=rng)


def _conv(in_channels, out_channels, block_size, rng):
    if block_size is None:
        return L.Conv2d(in_channels, out_channels, 3, seed=rng)
    return L.BlockCirculantConv2d(in_channels, out_channels, 3, block_size, seed=rng)


def mlp(block_size=None, seed=0, input_shape=(28, 28, 1), classes=10):
    """784-1024-1024-10: both hidden layers block-circulant (k = block_size),
    the 10-way output layer dense.  1.86 M parameters dense; k = 32 stores
    the hidden layers in 57 k."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(input_shape))
    k1, k2 = _blocks(block_size, 2)
    return Model([
        L.Flatten(),
        _dense(n, 1024, k1, rng),
        L.ReLU(),
        _dense(1024, 1024, k2, rng),
        L.ReLU(),
        L.Dense(1024, classes, seed=rng),
    ], input_shape=input_shape)


def cnn(block_size=None, seed=0, input_shape=(28, 28, 1), classes=10):
    """conv 1-16 (dense: one input channel), 2x2 max pool, conv 16-32 and
    conv 32-64 (block-circulant at k = block_size), 2x2 max pool after the
    second, FC 3136-10.  3x3 kernels, 'same' padding.  54.7 k parameters
    dense; conv2 and conv3 hold 23.0 k of them."""
    rng = np.random.default_rng(seed)
    h, w, c = input_shape
    k2, k3 = _blocks(block_size, 2)
    return Model([
        L.Conv2d(c, 16, 3, seed=rng),
        L.ReLU(),
        L.MaxPool2d(2),
        _conv(16, 32, k2, rng),
        L.ReLU(),
        L.MaxPool2d(2),
        _conv(32, 64, k3, rng),
        L.ReLU(),
        L.Flatten(),
        L.Dense((h // 4) * (w // 4) * 64, classes, seed=rng),
    ], input_shape=input_shape)


def wide_cnn(block_size=(8, 16, 32), seed=0, input_shape=(28, 28, 1), classes=10, pools=2):
    """CirCNN's point, wide layers at a small cost: conv 1-32 (dense), then
    conv 32-64, 64-128 and 128-128 block-circulant, each 3x3 followed by
    batch normalisation (folded at export) and ReLU, a 2x2 max pool after
    each of the first `pools` convolutions (2: the last two work on 7x7; 3:
    the layout of an early wider attempt, the last one on 3x3),
    global average pooling, FC 128-10.  At the default k = 8, 16, 32: 13.1 k
    weights, 26 KB in q15; at k = 16 throughout 16.5 k; dense 240 k."""
    rng = np.random.default_rng(seed)
    c = input_shape[2]
    ks = [None] + _blocks(block_size, 3)
    body = []
    for i, (cin, cout) in enumerate(((c, 32), (32, 64), (64, 128), (128, 128))):
        body += [_conv(cin, cout, ks[i], rng), L.BatchNorm(cout), L.ReLU()]
        if i < pools:
            body.append(L.MaxPool2d(2))
    return Model(body + [L.GlobalAvgPool2d(), L.Flatten(), L.Dense(128, classes, seed=rng)],
                 input_shape=input_shape)


def ds_cnn(block_size=16, seed=0, input_shape=(28, 28, 1), classes=10, blocks=((64, 1), (128, 2)), stem=16,
           stem_pool=True, head=64):
    """Depthwise-separable CNN, the MCU vision shape with the channel mixing
    block-circulant: a dense 3x3 convolution (c -> stem: one input channel)
    with stride 1 and a 2x2 max pool (stem_pool; else stride 2); then per
    block (channels, stride) a depthwise 3x3 convolution (stride) and a
    pointwise 1x1 convolution whose channel matrix is block-circulant
    (BlockCirculantConv2d with kernel_size 1, k = block_size), each followed
    by batch normalisation (folded at export) and ReLU; then the head: an
    int k (the feature map flattened into a block-circulant classifier with
    k = head) or "gap" (global average pooling and a dense classifier).
    The default: conv 1-16 on 28x28, max pool, depthwise + pointwise 16 -> 64
    on 14x14, depthwise stride 2 + pointwise 64 -> 128 on 7x7, the 6272
    features into a block-circulant classifier (k = 64, 98 blocks): 7,712
    weights at k = 16 (15 KB in q15).  block_size: an int, None (dense 1x1
    convolutions) or one per block."""
    rng = np.random.default_rng(seed)
    ks = _blocks(block_size, len(blocks))
    c = input_shape[2]
    if stem_pool:
        body = [L.Conv2d(c, stem, 3, seed=rng), L.BatchNorm(stem), L.ReLU(), L.MaxPool2d(2)]
    else:
        body = [L.Conv2d(c, stem, 3, stride=2, seed=rng), L.BatchNorm(stem), L.ReLU()]
    cin = stem
    for (cout, stride), k in zip(blocks, ks):
        body += [L.DepthwiseConv2d(cin, 3, stride=stride, seed=rng), L.BatchNorm(cin), L.ReLU()]
        pointwise = L.Conv2d(cin, cout, 1, seed=rng) if k is None else L.BlockCirculantConv2d(cin, cout, 1, k, seed=rng)
        body += [pointwise, L.BatchNorm(cout), L.ReLU()]
        cin = cout
    if head == "gap":
        return Model(body + [L.GlobalAvgPool2d(), L.Flatten(), L.Dense(cin, classes, seed=rng)],
                     input_shape=input_shape)
    features = int(np.prod(Model(body, input_shape=input_shape).output_shape))
    return Model(body + [L.Flatten(), L.BlockCirculantDense(features, classes, head, seed=rng)], input_shape=input_shape)


def compact_cnn(block_size=8, seed=0, input_shape=(28, 28, 1), classes=10, channels=(16, 32, 64, 32), head="pool",
                head_block_size=None):
    """The demo CNN (`cnn`) reshaped for a small flash: conv 1-channels[0]
    (dense: one input channel) on 28x28, 2x2 max pool, conv to channels[1]
    (block-circulant, k = block_size) on 14x14, 2x2 max pool, then one
    block-circulant conv per further entry of channels on 7x7, every conv
    3x3 'same' with batch normalisation (folded at export) and ReLU; then
    the head: "pool" a 2x2 max pool to 3x3 and FC (9 * channels[-1])-10, or
    an int s, a dense 1x1 conv to s channels (BatchNorm, ReLU) and FC
    (49 * s)-10, or "fc" the FC (49 * channels[-1])-10 on the 7x7 map itself.
    block_size: one k, or one per block-circulant conv (None: dense);
    head_block_size: the final FC block-circulant at that k (None: dense),
    which lets "fc" keep the whole 7x7 map in a few thousand weights (and
    its weights take 8-bit storage with quantize(weight_bits=8)).  Keep
    every k at 4 or 8 for a small flash: those two transforms are written
    out, any other k links the general q15 FFT (about 8 to 12 KB more on
    Cortex-M4F; the "fc" head at k = 4, untrained with 8-bit weights,
    measured 41.5 KB of flash before the 4-point code, 33.4 KB after).

    Why: in the demo CNN the dense 3136-10 head holds 62,760 of the 69,768
    q15 weight bytes, with a runtime of about 17.8 KB on Cortex-M4F.  Both
    heads keep a spatial view of the 7x7 map (global average pooling throws
    it away) in a few thousand weights, and the weights saved go to depth on
    7x7, where a block-circulant conv is cheap (conv 64-32 at k = 8: 0.43 M
    instructions on M4F, 3.3 M on M0+).  All block-circulant layers share
    one k so that the firmware links one transform size (k = 8: the
    straight-line 8-point code only; k = 4 for the "fc" head adds the
    4-point code).  The default, (16, 32, 64, 32) and
    the pool head at k = 8: 8,208 weights, a 17.3 KB q15 blob, about 35.1 KB
    of flash on M4F; (16, 32, 64, 64) with head=4: 9,848 weights (a 35 KB
    flash only with 8-bit weights); (16, 32, 64) with head=8: 7,456.
    quantize(weight_bits=8) stores every layer's weights in one byte
    (cnn-sq11, (16, 32, 64) with head=11: a 9.9 KB blob, 27.9 KB of flash)."""
    rng = np.random.default_rng(seed)
    h, w, c = input_shape
    if len(channels) < 2:
        raise ValueError("channels: at least the 28x28 and the 14x14 convolution")
    ks = [None] + _blocks(block_size, len(channels) - 1)
    body = []
    for i, (cin, cout) in enumerate(zip((c,) + tuple(channels[:-1]), channels)):
        body += [_conv(cin, cout, ks[i], rng), L.BatchNorm(cout), L.ReLU()]
        if i < 2:
            body.append(L.MaxPool2d(2))
    if head == "pool":
        body += [L.MaxPool2d(2), L.Flatten()]
        features = (h // 8) * (w // 8) * channels[-1]
    elif head == "fc":
        body.append(L.Flatten())
        features = (h // 4) * (w // 4) * channels[-1]
    else:
        body += [L.Conv2d(channels[-1], head, 1, seed=rng), L.BatchNorm(head), L.ReLU(), L.Flatten()]
        features = (h // 4) * (w // 4) * head
    return Model(body + [_dense(features, classes, head_block_size, rng)], input_shape=input_shape)

ARCHITECTURES = {"mlp": mlp, "cnn": cnn, "wide_cnn": wide_cnn, "ds_cnn": ds_cnn, "compact_cnn": compact_cnn}


def build(arch, block_size=None, seed=0):
    """The preset named arch ("mlp", "cnn", "wide_cnn", "ds_cnn") with block_size (an
    int, None for dense, or one per block-circulant layer)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}: choose from {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](block_size=block_size, seed=seed)


def weight_count(model):
    """Stored weights (dense weights and circulant defining vectors), without
    biases and BatchNorm parameters (folded at export)."""
    return sum(layer.params()[name].size for layer in model.layers
               for name in ("weight", "spectrum") if name in layer.params())
