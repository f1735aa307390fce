"""The layers of a circnn network, with their float64 reference forward pass.

Data is NHWC: images (batch, height, width, channels), feature vectors
(batch, features).  Shapes given to and returned by `output_shape` leave the
batch out: (h, w, c) for images, (n,) for vectors.

Weights are float64 numpy arrays.  Block-circulant layers accept their
weights in the time domain (the defining vectors, first-column convention:
block W_ij[r, c] = w_ij[(r - c) mod k]) or as packed spectra (see
circnn.nn.circulant), and store the packed spectrum.  A layer created without
weights is initialised from the full fan-in (He initialisation for the ReLU
networks circnn targets): what training starts from.
"""
import abc

import numpy as np

from . import circulant
from .window import window_geometry


def _finite(name, array):
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _shaped(name, array, shape):
    array = _finite(name, array)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {array.shape}")
    return array


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _bias(bias, n):
    return np.zeros(n) if bias is None else _shaped("bias", bias, (n,))


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _pair(name, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {value!r}")
        return _positive_int(name, value[0]), _positive_int(name, value[1])
    value = _positive_int(name, value)
    return value, value


class Layer(abc.ABC):
    """Base class: a layer maps a batch to a batch and knows its output shape."""

    #: trainable parameter arrays by name (filled by subclasses)
    def params(self):
        return {}

    def output_shape(self, input_shape):
        return tuple(input_shape)

    @abc.abstractmethod
    def forward(self, x):
        """The batch x (B, *input_shape) -> (B, *output_shape)."""

    def parameter_count(self):
        return int(sum(p.size for p in self.params().values()))

    def dense_parameter_count(self):
        """Parameters of the same layer with dense (unstructured) weights."""
        return self.parameter_count()

    def describe(self):
        return type(self).__name__

    def __repr__(self):
        return self.describe()


def _check_vector_input(layer, input_shape, n):
    if tuple(input_shape) != (n,):
        raise ValueError(f"{layer.describe()} expects a vector of {n} features, gets shape {tuple(input_shape)}"
                         + (" (add a Flatten before it)" if len(input_shape) == 3 else ""))


class Dense(Layer):
    """Fully connected: y = x @ weight.T + bias; weight (out_features, in_features)."""

    def __init__(self, in_features, out_features, weight=None, bias=None, seed=None):
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        if weight is None:
            weight = _rng(seed).standard_normal((out_features, in_features)) * np.sqrt(2.0 / in_features)
        self.weight = _shaped("weight", weight, (out_features, in_features))
        self.bias = _bias(bias, out_features)

    def params(self):
        return {"weight": self.weight, "bias": self.bias}

    def output_shape(self, input_shape):
        _check_vector_input(self, input_shape, self.in_features)
        return (self.out_features,)

    def forward(self, x):
        return x @ self.weight.T + self.bias

    def describe(self):
        return f"Dense({self.in_features} -> {self.out_features})"


class BlockCirculantDense(Layer):
    """Block-circulant fully connected layer (CirCNN FC).

    weight: (p, q, k) defining vectors with p = ceil(out_features / k),
    q = ceil(in_features / k); block (i, j) maps input block j to output
    block i.  Or spectrum: the same as packed rfft spectra (p, q, k).
    """

    def __init__(self, in_features, out_features, block_size, weight=None, bias=None, spectrum=None, seed=None):
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        self.block_size = k = circulant.check_block_size(block_size)
        shape = (circulant.blocks(out_features, k), circulant.blocks(in_features, k), k)
        if weight is not None and spectrum is not None:
            raise ValueError("give weight (time domain) or spectrum, not both")
        if spectrum is not None:
            self.spectrum = _shaped("spectrum", spectrum, shape)
        else:
            if weight is None:
                # Var(y) = fan_in * Var(w): the full fan-in, not k.
                weight = _rng(seed).standard_normal(shape) * np.sqrt(2.0 / in_features)
            self.spectrum = circulant.to_spectrum(_shaped("weight", weight, shape))
        self.bias = _bias(bias, out_features)

    @property
    def weight(self):
        return circulant.from_spectrum(self.spectrum)

    def params(self):
        return {"spectrum": self.spectrum, "bias": self.bias}

    def dense_parameter_count(self):
        return self.in_features * self.out_features + self.out_features

    def output_shape(self, input_shape):
        _check_vector_input(self, input_shape, self.in_features)
        return (self.out_features,)

    def forward(self, x):
        return circulant.matvec(self.weight, x, self.out_features, self.bias)

    def dense_matrix(self):
        return circulant.dense_matrix(self.weight, self.out_features, self.in_features)

    def describe(self):
        return f"BlockCirculantDense({self.in_features} -> {self.out_features}, k={self.block_size})"


def _pad_image(x, pad_top, pad_left, rows, cols, value=0.0):
    """Embed x (B, H, W, C) in a (B, rows, cols, C) canvas at (pad_top, pad_left)."""
    b, h, w, c = x.shape
    out = np.full((b, rows, cols, c), value, dtype=np.float64)
    out[:, pad_top:pad_top + h, pad_left:pad_left + w, :] = x
    return out


def _windows(x, kernel_h, kernel_w, stride, geometry, value=0.0):
    """Window views (B, out_h, out_w, kernel_h, kernel_w, C) of x, padded with `value`."""
    rows = (geometry.out_h - 1) * stride + kernel_h
    cols = (geometry.out_w - 1) * stride + kernel_w
    rows, cols = max(rows, x.shape[1] + geometry.pad_top), max(cols, x.shape[2] + geometry.pad_left)
    padded = _pad_image(x, geometry.pad_top, geometry.pad_left, rows, cols, value)
    view = np.lib.stride_tricks.sliding_window_view(padded, (kernel_h, kernel_w), axis=(1, 2))
    view = view[:, ::stride, ::stride][:, :geometry.out_h, :geometry.out_w]   # (B, oh, ow, C, kh, kw)
    return view.transpose(0, 1, 2, 4, 5, 3)


class _Window(Layer):
    def _setup(self, kernel_size, stride, padding):
        self.kernel_h, self.kernel_w = _pair("kernel_size", kernel_size)
        self.stride = _positive_int("stride", stride)
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
        self.padding = padding

    def geometry(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.describe()} expects an image (h, w, c), gets shape {tuple(input_shape)}")
        return window_geometry(input_shape[0], input_shape[1], self.kernel_h, self.kernel_w,
                               self.stride, self.padding)


class Conv2d(_Window):
    """Convolution with a dense kernel (for first layers with few channels).

    weight (kernel_h, kernel_w, in_channels, out_channels); tap (a, b)
    multiplies the input pixel (y * stride + a - pad, x * stride + b - pad)
    (cross-correlation, as in every deep-learning framework).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding="same",
                 weight=None, bias=None, seed=None):
        self.in_channels = _positive_int("in_channels", in_channels)
        self.out_channels = _positive_int("out_channels", out_channels)
        self._setup(kernel_size, stride, padding)
        shape = (self.kernel_h, self.kernel_w, in_channels, out_channels)
        if weight is None:
            fan_in = self.kernel_h * self.kernel_w * in_channels
            weight = _rng(seed).standard_normal(shape) * np.sqrt(2.0 / fan_in)
        self.weight = _shaped("weight", weight, shape)
        self.bias = _bias(bias, out_channels)

    def params(self):
        return {"weight": self.weight, "bias": self.bias}

    def output_shape(self, input_shape):
        g = self.geometry(input_shape)
        if input_shape[2] != self.in_channels:
            raise ValueError(f"{self.describe()} expects {self.in_channels} channels, gets {input_shape[2]}")
        return (g.out_h, g.out_w, self.out_channels)

    def dense_kernel(self):
        return self.weight

    def forward(self, x):
        g = self.geometry(x.shape[1:])
        win = _windows(x, self.kernel_h, self.kernel_w, self.stride, g)
        return np.einsum("bhwijc,ijcd->bhwd", win, self.dense_kernel(), optimize=True) + self.bias

    def describe(self):
        return (f"Conv2d({self.in_channels} -> {self.out_channels}, {self.kernel_h}x{self.kernel_w}, "
                f"stride {self.stride}, {self.padding})")


class BlockCirculantConv2d(Conv2d):
    """Block-circulant convolution (CirCNN CONV): for every tap the
    in_channels x out_channels channel matrix is block-circulant.

    weight (kernel_h, kernel_w, p, q, k) defining vectors, p = ceil(out/k),
    q = ceil(in/k): for tap (a, b), block (i, j) maps input-channel block j
    to output-channel block i.  Or spectrum: the packed spectra, same shape.
    """

    def __init__(self, in_channels, out_channels, kernel_size, block_size, stride=1, padding="same",
                 weight=None, bias=None, spectrum=None, seed=None):
        self.in_channels = _positive_int("in_channels", in_channels)
        self.out_channels = _positive_int("out_channels", out_channels)
        self._setup(kernel_size, stride, padding)
        self.block_size = k = circulant.check_block_size(block_size)
        shape = (self.kernel_h, self.kernel_w, circulant.blocks(out_channels, k),
                 circulant.blocks(in_channels, k), k)
        if weight is not None and spectrum is not None:
            raise ValueError("give weight (time domain) or spectrum, not both")
        if spectrum is not None:
            self.spectrum = _shaped("spectrum", spectrum, shape)
        else:
            if weight is None:
                fan_in = self.kernel_h * self.kernel_w * in_channels
                weight = _rng(seed).standard_normal(shape) * np.sqrt(2.0 / fan_in)
            self.spectrum = circulant.to_spectrum(_shaped("weight", weight, shape))
        self.bias = _bias(bias, out_channels)

    @property
    def weight(self):
        return circulant.from_spectrum(self.spectrum)

    @weight.setter
    def weight(self, value):   # Conv2d.__init__ is not used; keep the attribute read-only in spirit
        raise AttributeError("set spectrum, or create the layer with weight=")

    def params(self):
        return {"spectrum": self.spectrum, "bias": self.bias}

    def dense_parameter_count(self):
        return self.kernel_h * self.kernel_w * self.in_channels * self.out_channels + self.out_channels

    def dense_kernel(self):
        """The equivalent dense kernel (kernel_h, kernel_w, in_channels, out_channels)."""
        w = self.weight
        kernel = np.empty((self.kernel_h, self.kernel_w, self.in_channels, self.out_channels))
        for a in range(self.kernel_h):
            for b in range(self.kernel_w):
                kernel[a, b] = circulant.dense_matrix(w[a, b], self.out_channels, self.in_channels).T
        return kernel

    def describe(self):
        return (f"BlockCirculantConv2d({self.in_channels} -> {self.out_channels}, "
                f"{self.kernel_h}x{self.kernel_w}, k={self.block_size}, stride {self.stride}, {self.padding})")


class DepthwiseConv2d(_Window):
    """Depthwise convolution (depth multiplier 1): every channel is convolved
    with its own kernel and channels do not mix.

    weight (kernel_h, kernel_w, channels): tap (a, b) multiplies channel c of
    the input pixel (y * stride + a - pad, x * stride + b - pad) by
    weight[a, b, c] (cross-correlation, TensorFlow's depthwise kernel without
    its depth-multiplier axis).  The usual partner of a 1x1 (pointwise)
    convolution, which circnn makes block-circulant: BlockCirculantConv2d
    with kernel_size 1.
    """

    def __init__(self, channels, kernel_size, stride=1, padding="same", weight=None, bias=None, seed=None):
        self.channels = _positive_int("channels", channels)
        self._setup(kernel_size, stride, padding)
        shape = (self.kernel_h, self.kernel_w, self.channels)
        if weight is None:   # He: the fan-in of one output is the window of its own channel
            weight = _rng(seed).standard_normal(shape) * np.sqrt(2.0 / (self.kernel_h * self.kernel_w))
        self.weight = _shaped("weight", weight, shape)
        self.bias = _bias(bias, self.channels)

    @property
    def in_channels(self):
        return self.channels

    @property
    def out_channels(self):
        return self.channels

    def params(self):
        return {"weight": self.weight, "bias": self.bias}

    def output_shape(self, input_shape):
        g = self.geometry(input_shape)
        if input_shape[2] != self.channels:
            raise ValueError(f"{self.describe()} expects {self.channels} channels, gets {input_shape[2]}")
        return (g.out_h, g.out_w, self.channels)

    def forward(self, x):
        g = self.geometry(x.shape[1:])
        win = _windows(x, self.kernel_h, self.kernel_w, self.stride, g)     # (B, oh, ow, kh, kw, C)
        return np.einsum("bhwijc,ijc->bhwc", win, self.weight, optimize=True) + self.bias

    def describe(self):
        return (f"DepthwiseConv2d({self.channels}, {self.kernel_h}x{self.kernel_w}, "
                f"stride {self.stride}, {self.padding})")


class ReLU(Layer):
    def forward(self, x):
        return np.maximum(x, 0.0)


class MaxPool2d(_Window):
    """Largest value of each window, per channel (padding ignored)."""

    def __init__(self, kernel_size, stride=None, padding="valid"):
        self._setup(kernel_size, kernel_size if stride is None else stride, padding)
        if isinstance(kernel_size, (tuple, list)) and stride is None:
            self.stride = self.kernel_h

    def output_shape(self, input_shape):
        g = self.geometry(input_shape)
        return (g.out_h, g.out_w, input_shape[2])

    def forward(self, x):
        g = self.geometry(x.shape[1:])
        return _windows(x, self.kernel_h, self.kernel_w, self.stride, g, -np.inf).max(axis=(3, 4))

    def describe(self):
        return f"MaxPool2d({self.kernel_h}x{self.kernel_w}, stride {self.stride}, {self.padding})"


class AvgPool2d(MaxPool2d):
    """Mean of each window over the pixels inside the input, per channel."""

    def forward(self, x):
        g = self.geometry(x.shape[1:])
        total = _windows(x, self.kernel_h, self.kernel_w, self.stride, g).sum(axis=(3, 4))
        ones = np.ones((1,) + x.shape[1:3] + (1,))
        count = _windows(ones, self.kernel_h, self.kernel_w, self.stride, g).sum(axis=(3, 4))
        return total / count

    def describe(self):
        return f"AvgPool2d({self.kernel_h}x{self.kernel_w}, stride {self.stride}, {self.padding})"


class GlobalAvgPool2d(Layer):
    """Mean over all pixels, per channel: (h, w, c) -> (1, 1, c)."""

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"GlobalAvgPool2d expects an image (h, w, c), gets {tuple(input_shape)}")
        return (1, 1, input_shape[2])

    def forward(self, x):
        return x.mean(axis=(1, 2), keepdims=True)


class Flatten(Layer):
    """(h, w, c) -> (h * w * c,), in HWC order."""

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x):
        return x.reshape(x.shape[0], -1)


class BatchNorm(Layer):
    """Inference-time batch normalisation over the last axis (channels):
    y = (x - mean) / sqrt(var + eps) * gamma + beta.  Folded into the
    preceding layer at export."""

    def __init__(self, channels, gamma=None, beta=None, mean=None, var=None, eps=1e-5):
        self.channels = _positive_int("channels", channels)
        self.gamma = np.ones(channels) if gamma is None else _shaped("gamma", gamma, (channels,))
        self.beta = np.zeros(channels) if beta is None else _shaped("beta", beta, (channels,))
        self.mean = np.zeros(channels) if mean is None else _shaped("mean", mean, (channels,))
        self.var = np.ones(channels) if var is None else _shaped("var", var, (channels,))
        if np.any(self.var < 0) or eps <= 0:
            raise ValueError("var must be >= 0 and eps > 0")
        self.eps = float(eps)

    def params(self):
        return {"gamma": self.gamma, "beta": self.beta}

    def output_shape(self, input_shape):
        if input_shape[-1] != self.channels:
            raise ValueError(f"BatchNorm({self.channels}) gets {input_shape[-1]} channels")
        return tuple(input_shape)

    def scale_shift(self):
        """(scale, shift) with y = x * scale + shift."""
        scale = self.gamma / np.sqrt(self.var + self.eps)
        return scale, self.beta - self.mean * scale

    def forward(self, x):
        scale, shift = self.scale_shift()
        return x * scale + shift

    def describe(self):
        return f"BatchNorm({self.channels})"


class Softmax(Layer):
    """exp(x - max) / sum, over the features of a vector (f32 models only on the device)."""

    def output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"Softmax expects a vector, gets shape {tuple(input_shape)}")
        return tuple(input_shape)

    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


class Argmax(Layer):
    """Index of the largest feature (the first on ties), as a float: (n,) -> (1,)."""

    def output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"Argmax expects a vector, gets shape {tuple(input_shape)}")
        return (1,)

    def forward(self, x):
        return np.argmax(x, axis=-1).astype(np.float64)[:, None]
