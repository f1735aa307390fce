"""Forward and backward passes of every circnn layer, vectorised over the batch.

One `Op` wraps one layer object of circnn.layers and trains that object's own
arrays in place, so a trained model goes straight to `quantize`, `save` and
`write_header`.  Ops compute in a chosen dtype (float32 for speed, float64 for
the gradient tests); the parameters the optimizer updates stay float64.

    op = make_op(layer, dtype=np.float64)
    y = op.forward(x, training=True)     # caches what backward needs
    dx = op.backward(dy)                 # fills op.grads (float64)
    ...update op.params in place...
    op.push()                            # write them back into the layer

Block-circulant layers (docs/DESIGN.md): the optimizer trains the time-domain
defining vectors w (first-column convention, shape (..., p, q, k)); `push`
writes their packed spectra into `layer.spectrum`.  The gradients follow
docs/DESIGN.md, with ^ = rfft over the block:

    forward    a_i^  = sum_j  W_ij^ * X_j^                 (sum in frequency)
    input      dx_j  = irfft( sum_i conj(W_ij^) * G_i^ )   (circular reversal)
    weights    dw_ij = irfft( sum_batch G_i^ * conj(X_j^) )

The spectra X^ of the input and W^ of the weights are computed once in the
forward pass and reused by the backward pass.  Each frequency is one complex
matrix product over the batch (p x q blocks at once).  The "dense" path
computes the same numbers by expanding the blocks into the explicit matrix
(faster for small k, see benchmarks/bench_train.py); "auto" chooses per layer.
"""
import abc
import os

import numpy as np

from ..nn import circulant
from ..nn import layers as L
from ..nn.window import window_geometry

try:   # pyfftw plans; numpy's FFT when pyfftw is missing
    import pyfftw
    import pyfftw.builders
except ImportError:   # pragma: no cover - pyfftw is a declared dependency
    pyfftw = None

__all__ = ["make_op", "Op", "rfft", "irfft", "dense_blocks", "project_blocks", "auto_path"]

#: "auto" path choice, from the crossover measured by benchmarks/bench_train.py
#: (see benchmarks/README.md): bc_dense takes the FFT path from this k up;
DENSE_FFT_MIN_BLOCK = 4
#: bc_conv2d takes it only for wide layers (in x out channels at least this)
#: with k >= CONV_FFT_MIN_BLOCK: with few channels the spectra of every pixel
#: and tap cost more to gather than the small dense kernel costs to multiply.
CONV_FFT_MIN_CHANNELS = 128 * 128
CONV_FFT_MIN_BLOCK = 8


# ---------------------------------------------------------------------------
# FFTs over the last axis: cached pyfftw plans (FFTW_ESTIMATE plans do not
# depend on timing, so a run is repeatable), numpy.fft as the fallback.

_PLANS = {}
# One thread by default: the transforms are small (k <= 1024) and many, and
# FFTW's threads slow them down by an order of magnitude when the cores are
# shared.  CIRCNN_FFT_THREADS sets another count.
_THREADS = max(1, int(os.environ.get("CIRCNN_FFT_THREADS", "1")))


def _plan(kind, shape, dtype, n):
    key = (kind, shape, dtype.str, n)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 256:
            _PLANS.clear()
        threads = _THREADS if int(np.prod(shape)) >= 1 << 16 else 1
        template = pyfftw.empty_aligned(shape, dtype=dtype)
        build = pyfftw.builders.rfft if kind == "r" else pyfftw.builders.irfft
        plan = build(template, n=n, axis=-1, planner_effort="FFTW_ESTIMATE", threads=threads)
        _PLANS[key] = plan
    return plan


def rfft(x):
    """numpy.fft.rfft over the last axis, keeping float32 as complex64."""
    if pyfftw is None:
        out = np.fft.rfft(x, axis=-1)
        return out.astype(np.complex64) if x.dtype == np.float32 else out
    x = np.ascontiguousarray(x)
    return _plan("r", x.shape, x.dtype, x.shape[-1])(x).copy()


def irfft(spectrum, n):
    """numpy.fft.irfft(spectrum, n) over the last axis, keeping complex64 as float32."""
    if pyfftw is None:
        out = np.fft.irfft(spectrum, n=n, axis=-1)
        return out.astype(np.float32) if spectrum.dtype == np.complex64 else out
    spectrum = np.ascontiguousarray(spectrum)
    return _plan("c", spectrum.shape, spectrum.dtype, n)(spectrum).copy()


# ---------------------------------------------------------------------------
# Circulant blocks <-> dense matrices (the dense-expansion path)

def _index(k):
    r = np.arange(k)
    return (r[:, None] - r[None, :]) % k          # W_ij[r, c] = w_ij[(r - c) mod k]


def dense_blocks(w, m, n):
    """Defining vectors (..., p, q, k) -> explicit matrices (..., m, n)."""
    *lead, p, q, k = w.shape
    full = w[..., _index(k)]                                       # (..., p, q, k, k)
    full = np.swapaxes(full, -3, -2).reshape(tuple(lead) + (p * k, q * k))
    return full[..., :m, :n]


def project_blocks(grad, p, q, k):
    """Gradient of a loss with respect to the explicit matrices (..., m, n) ->
    gradient with respect to the defining vectors (..., p, q, k): entry d of
    block (i, j) collects every matrix entry (r, c) with (r - c) mod k == d."""
    *lead, m, n = grad.shape
    full = np.zeros(tuple(lead) + (p * k, q * k), dtype=grad.dtype)
    full[..., :m, :n] = grad
    full = np.swapaxes(full.reshape(tuple(lead) + (p, k, q, k)), -3, -2)   # (..., p, q, r, c)
    r = np.arange(k)
    cols = (r[None, :] - r[:, None]) % k                            # [d, r] -> c = (r - d) mod k
    return full[..., r[None, :], cols].sum(axis=-1)


def auto_path(layer):
    """"dense" or "fft": the faster training path for a block-circulant layer."""
    k = layer.block_size
    if isinstance(layer, L.BlockCirculantConv2d):
        wide = layer.in_channels * layer.out_channels >= CONV_FFT_MIN_CHANNELS
        return "fft" if wide and k >= CONV_FFT_MIN_BLOCK else "dense"
    return "fft" if k >= DENSE_FFT_MIN_BLOCK else "dense"


# ---------------------------------------------------------------------------
# Windows: im2col / col2im over the axes (..., H, W, C) with any leading axes

def _canvas_size(size, out, kernel, stride, pad):
    return max((out - 1) * stride + kernel, size + pad)


class _Windows:
    """Geometry of a window layer on an input of spatial size (H, W) at axes
    (axis, axis + 1); im2col / col2im for arrays with any other axes."""

    def __init__(self, layer, in_h, in_w, axis):
        self.g = window_geometry(in_h, in_w, layer.kernel_h, layer.kernel_w, layer.stride, layer.padding)
        self.kh, self.kw, self.s = layer.kernel_h, layer.kernel_w, layer.stride
        self.h, self.w, self.axis = in_h, in_w, axis
        self.rows = _canvas_size(in_h, self.g.out_h, self.kh, self.s, self.g.pad_top)
        self.cols = _canvas_size(in_w, self.g.out_w, self.kw, self.s, self.g.pad_left)

    def _slices(self, a, b):
        oh, ow, s = self.g.out_h, self.g.out_w, self.s
        return (slice(a, a + s * (oh - 1) + 1, s), slice(b, b + s * (ow - 1) + 1, s))

    def _inside(self, ax):
        g = self.g
        return (slice(None),) * ax + (slice(g.pad_top, g.pad_top + self.h), slice(g.pad_left, g.pad_left + self.w))

    def canvas(self, x, fill=0.0):
        """x placed in the padded canvas (x itself when no padding is needed)."""
        g = self.g
        if not (g.pad_top or g.pad_left or self.rows != self.h or self.cols != self.w):
            return x
        ax = self.axis
        canvas = np.full(x.shape[:ax] + (self.rows, self.cols) + x.shape[ax + 2:], fill, dtype=x.dtype)
        canvas[self._inside(ax)] = x
        return canvas

    def crop(self, canvas):
        return canvas[self._inside(self.axis)]

    def taps(self, canvas):
        """The (oh, ow) views of the canvas seen by each tap (a, b), row-major."""
        pre = (slice(None),) * self.axis
        for a in range(self.kh):
            for b in range(self.kw):
                yield canvas[pre + self._slices(a, b)]

    def im2col(self, x, fill=0.0):
        """x (*lead, H, W, *rest) -> (*lead, oh, ow, kh, kw, *rest)."""
        ax = self.axis
        lead, rest = x.shape[:ax], x.shape[ax + 2:]
        g = self.g
        if g.pad_top or g.pad_left or self.rows != self.h or self.cols != self.w:
            canvas = np.full(lead + (self.rows, self.cols) + rest, fill, dtype=x.dtype)
            canvas[self._inside(ax)] = x
        else:
            canvas = x
        out = np.empty(lead + (g.out_h, g.out_w, self.kh, self.kw) + rest, dtype=x.dtype)
        pre = (slice(None),) * ax
        for a in range(self.kh):
            for b in range(self.kw):
                out[pre + (slice(None), slice(None), a, b)] = canvas[pre + self._slices(a, b)]
        return out

    def col2im(self, cols):
        """The adjoint of im2col: (*lead, oh, ow, kh, kw, *rest) -> (*lead, H, W, *rest)."""
        ax = self.axis
        lead, rest = cols.shape[:ax], cols.shape[ax + 4:]
        canvas = np.zeros(lead + (self.rows, self.cols) + rest, dtype=cols.dtype)
        pre = (slice(None),) * ax
        for a in range(self.kh):
            for b in range(self.kw):
                canvas[pre + self._slices(a, b)] += cols[pre + (slice(None), slice(None), a, b)]
        return canvas[self._inside(ax)]


# ---------------------------------------------------------------------------
# Ops

class Op(abc.ABC):
    """Forward and backward of one layer.

    params: name -> float64 array the optimizer updates in place (the layer's
    own arrays, or for block-circulant layers the time-domain defining
    vectors); grads: name -> float64 gradient after backward; decay: the
    names weight decay applies to (weights, not biases or BN parameters).
    """

    decay = ()
    #: False for the first trained layer: nothing below it needs d loss / d input
    need_dx = True

    def __init__(self, layer, dtype=np.float32):
        self.layer = layer
        self.dtype = np.dtype(dtype)
        self.params = {}
        self.grads = {}

    @abc.abstractmethod
    def forward(self, x, training=False):
        """The batch's output; keeps what backward needs."""

    @abc.abstractmethod
    def backward(self, dy):
        """d loss / d output -> d loss / d input (None when need_dx is False); sets self.grads."""

    def push(self):
        """Write params back into the layer (a no-op when they are the layer's arrays)."""

    def pull(self):
        """Read params from the layer (after the layer was changed from outside)."""


class DenseOp(Op):
    decay = ("weight",)

    def __init__(self, layer, dtype=np.float32):
        super().__init__(layer, dtype)
        self.params = {"weight": layer.weight, "bias": layer.bias}

    def forward(self, x, training=False):
        self.x = x
        self.w = self.layer.weight.astype(self.dtype)
        return x @ self.w.T + self.layer.bias.astype(self.dtype)

    def backward(self, dy):
        self.grads = {"weight": (dy.T @ self.x).astype(np.float64), "bias": dy.sum(axis=0, dtype=np.float64)}
        return dy @ self.w if self.need_dx else None


class _CirculantParams:
    """The block-circulant ops' parameters: the defining vectors (the layer's
    weight, trained) and the bias; push() writes the vectors back as the
    layer's packed spectrum.  path: "fft" (frequency domain, docs/DESIGN.md),
    "dense" (explicit matrix or kernel) or "auto" (auto_path)."""

    decay = ("weight",)

    def _init_circulant(self, layer, dtype, path):
        Op.__init__(self, layer, dtype)
        self.path = auto_path(layer) if path == "auto" else path
        if self.path not in ("fft", "dense"):
            raise ValueError(f"path must be 'auto', 'fft' or 'dense', got {path!r}")
        self.pull()

    def pull(self):
        self.params = {"weight": self.layer.weight, "bias": self.layer.bias}

    def push(self):
        self.layer.spectrum[...] = circulant.to_spectrum(self.params["weight"])


class BlockCirculantDenseOp(_CirculantParams, Op):
    def __init__(self, layer, dtype=np.float32, path="auto"):
        self._init_circulant(layer, dtype, path)

    def forward(self, x, training=False):
        layer, w = self.layer, self.params["weight"].astype(self.dtype)
        m, n = layer.out_features, layer.in_features
        p, q, k = w.shape
        self.x = x
        bias = self.params["bias"].astype(self.dtype)
        if self.path == "dense":
            self.matrix = dense_blocks(w, m, n)
            return x @ self.matrix.T + bias
        xp = np.zeros((len(x), q * k), dtype=self.dtype)
        xp[:, :n] = x
        self.xs = rfft(xp.reshape(len(x), q, k)).transpose(2, 0, 1)          # (F, B, q)
        self.ws = rfft(w).transpose(2, 1, 0)                                  # (F, q, p)
        ys = self.xs @ self.ws                                                # (F, B, p)
        y = irfft(ys.transpose(1, 2, 0), k).reshape(len(x), p * k)
        return y[:, :m] + bias

    def backward(self, dy):
        layer = self.layer
        m, n = layer.out_features, layer.in_features
        p, q, k = self.params["weight"].shape
        db = dy.sum(axis=0, dtype=np.float64)
        if self.path == "dense":
            dw = project_blocks(dy.T @ self.x, p, q, k)
            self.grads = {"weight": dw.astype(np.float64), "bias": db}
            return dy @ self.matrix if self.need_dx else None
        gp = np.zeros((len(dy), p * k), dtype=self.dtype)
        gp[:, :m] = dy
        gs = rfft(gp.reshape(len(dy), p, k)).transpose(2, 0, 1)               # (F, B, p)
        # sum_b conj(X) G = conj(X^T conj(G)): conjugates the small arrays, not the input spectra
        dws = np.conj(self.xs.transpose(0, 2, 1) @ np.conj(gs))               # (F, q, p): sum over batch
        dw = irfft(dws.transpose(2, 1, 0), k)                                 # (p, q, k)
        self.grads = {"weight": dw.astype(np.float64), "bias": db}
        if not self.need_dx:
            return None
        dxs = gs @ np.conj(self.ws).transpose(0, 2, 1)                        # (F, B, q)
        dx = irfft(dxs.transpose(1, 2, 0), k).reshape(len(dy), q * k)[:, :n]
        return np.ascontiguousarray(dx)


class Conv2dOp(Op):
    decay = ("weight",)

    def __init__(self, layer, dtype=np.float32):
        super().__init__(layer, dtype)
        self.params = {"weight": layer.weight, "bias": layer.bias}

    def kernel(self):
        return self.params["weight"].astype(self.dtype)

    def forward(self, x, training=False):
        layer = self.layer
        self.win = _Windows(layer, x.shape[1], x.shape[2], 1)
        g = self.win.g
        cols = self.win.im2col(x)                                             # (B, oh, ow, kh, kw, C)
        self.cols = cols.reshape(-1, layer.kernel_h * layer.kernel_w * layer.in_channels)
        self.k = self.kernel().reshape(self.cols.shape[1], layer.out_channels)
        y = self.cols @ self.k + self.params["bias"].astype(self.dtype)
        return y.reshape(len(x), g.out_h, g.out_w, layer.out_channels)

    def _kernel_grads(self, dy):
        """(gradient of the dense kernel (kh, kw, C_in, C_out), gradient of the input)."""
        layer = self.layer
        dy2 = dy.reshape(-1, dy.shape[-1])
        dk = (self.cols.T @ dy2).astype(np.float64)
        dk = dk.reshape(layer.kernel_h, layer.kernel_w, layer.in_channels, layer.out_channels)
        if not self.need_dx:
            return dk, None
        dcols = (dy2 @ self.k.T).reshape(dy.shape[:3] + (layer.kernel_h, layer.kernel_w, layer.in_channels))
        return dk, self.win.col2im(dcols)

    def backward(self, dy):
        dk, dx = self._kernel_grads(dy)
        self.grads = {"weight": dk, "bias": dy.sum(axis=(0, 1, 2), dtype=np.float64)}
        return dx


class BlockCirculantConv2dOp(_CirculantParams, Conv2dOp):
    def __init__(self, layer, dtype=np.float32, path="auto"):
        self._init_circulant(layer, dtype, path)

    def kernel(self):
        """The dense kernel (kh, kw, C_in, C_out) of the defining vectors."""
        layer = self.layer
        mats = dense_blocks(self.params["weight"].astype(self.dtype), layer.out_channels, layer.in_channels)
        return np.ascontiguousarray(mats.transpose(0, 1, 3, 2))

    def forward(self, x, training=False):
        if self.path == "dense":
            return super().forward(x, training)
        layer = self.layer
        w = self.params["weight"].astype(self.dtype)
        kh, kw, p, q, k = w.shape
        batch, h, wd, c = x.shape
        self.shape = x.shape
        xp = np.zeros((batch, h, wd, q * k), dtype=self.dtype)
        xp[..., :c] = x
        xs = rfft(xp.reshape(batch, h, wd, q, k)).transpose(4, 0, 1, 2, 3)   # (F, B, H, W, q)
        self.win = _Windows(layer, h, wd, 2)
        g = self.win.g
        f = k // 2 + 1
        self.cols = self.win.im2col(xs).reshape(f, batch * g.out_h * g.out_w, kh * kw * q)
        self.ws = rfft(w).transpose(4, 0, 1, 3, 2).reshape(f, kh * kw * q, p)  # (F, taps*q, p)
        ys = self.cols @ self.ws                                               # (F, N, p)
        y = irfft(ys.transpose(1, 2, 0), k).reshape(batch, g.out_h, g.out_w, p * k)
        return y[..., :layer.out_channels] + self.params["bias"].astype(self.dtype)

    def backward(self, dy):
        layer = self.layer
        kh, kw, p, q, k = self.params["weight"].shape
        db = dy.sum(axis=(0, 1, 2), dtype=np.float64)
        if self.path == "dense":
            dk, dx = self._kernel_grads(dy)                                    # dk (kh, kw, C_in, C_out)
            dw = project_blocks(dk.transpose(0, 1, 3, 2), p, q, k)
            self.grads = {"weight": dw, "bias": db}
            return dx
        batch, oh, ow, m = dy.shape
        f = k // 2 + 1
        gp = np.zeros((batch * oh * ow, p * k), dtype=self.dtype)
        gp[:, :m] = dy.reshape(-1, m)
        gs = rfft(gp.reshape(-1, p, k)).transpose(2, 0, 1)                   # (F, N, p)
        dws = np.conj(self.cols.transpose(0, 2, 1) @ np.conj(gs))              # (F, taps*q, p)
        dws = dws.reshape(f, kh, kw, q, p).transpose(1, 2, 4, 3, 0)            # (kh, kw, p, q, F)
        dw = irfft(dws, k)
        self.grads = {"weight": dw.astype(np.float64), "bias": db}
        if not self.need_dx:
            return None
        dcols = gs @ np.conj(self.ws).transpose(0, 2, 1)                       # (F, N, taps*q)
        dxs = self.win.col2im(dcols.reshape(f, batch, oh, ow, kh, kw, q))     # (F, B, H, W, q)
        dx = irfft(dxs.transpose(1, 2, 3, 4, 0), k).reshape(self.shape[:3] + (q * k,))
        return np.ascontiguousarray(dx[..., :self.shape[3]])


class DepthwiseConv2dOp(Op):
    """Tap by tap on the padded input (no window copies): y = sum_ab x_ab * w[a, b];
    dw[a, b] = sum over batch and pixels of x_ab * dy; dx_ab += dy * w[a, b]
    (x_ab: the input pixels that tap (a, b) reads for every output pixel)."""

    decay = ("weight",)

    def __init__(self, layer, dtype=np.float32):
        super().__init__(layer, dtype)
        self.params = {"weight": layer.weight, "bias": layer.bias}

    def forward(self, x, training=False):
        self.win = _Windows(self.layer, x.shape[1], x.shape[2], 1)
        self.canvas = self.win.canvas(x, 0.0)
        self.w = self.params["weight"].astype(self.dtype)
        kw = self.layer.kernel_w
        y = None
        for t, tap in enumerate(self.win.taps(self.canvas)):
            term = tap * self.w[t // kw, t % kw]
            y = term if y is None else y + term
        return y + self.params["bias"].astype(self.dtype)

    def backward(self, dy):
        kw = self.layer.kernel_w
        dw = np.empty(self.w.shape, dtype=np.float64)
        for t, tap in enumerate(self.win.taps(self.canvas)):
            dw[t // kw, t % kw] = np.einsum("bhwc,bhwc->c", tap, dy)
        self.grads = {"weight": dw, "bias": dy.sum(axis=(0, 1, 2), dtype=np.float64)}
        if not self.need_dx:
            return None
        grad = np.zeros(dy.shape[:1] + (self.win.rows, self.win.cols) + dy.shape[3:], dtype=dy.dtype)
        for t, target in enumerate(self.win.taps(grad)):
            target += dy * self.w[t // kw, t % kw]
        return self.win.crop(grad)


class ReLUOp(Op):
    def forward(self, x, training=False):
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dy):
        return dy * self.mask


class MaxPool2dOp(Op):
    """Max over each window, tap by tap (no window copies); the gradient goes
    to the first largest value of a window (taps in row-major order), as argmax."""

    def forward(self, x, training=False):
        self.win = _Windows(self.layer, x.shape[1], x.shape[2], 1)
        self.canvas = self.win.canvas(x, -np.inf)
        taps = self.win.taps(self.canvas)
        y = next(taps).copy()
        for tap in taps:
            np.maximum(y, tap, out=y)
        self.y = y
        return y

    def backward(self, dy):
        grad = np.zeros(self.canvas.shape, dtype=dy.dtype)
        free = np.ones(dy.shape, dtype=bool)          # windows whose maximum is not yet found
        hit = np.empty(dy.shape, dtype=bool)
        part = np.empty(dy.shape, dtype=dy.dtype)
        for tap, target in zip(self.win.taps(self.canvas), self.win.taps(grad)):
            np.equal(tap, self.y, out=hit)
            hit &= free
            np.multiply(dy, hit, out=part)
            target += part
            free &= ~hit
        return self.win.crop(grad)


class AvgPool2dOp(Op):
    """Mean over the pixels of each window that lie inside the input."""

    def forward(self, x, training=False):
        self.win = _Windows(self.layer, x.shape[1], x.shape[2], 1)
        ones = self.win.canvas(np.ones((1, x.shape[1], x.shape[2], 1), dtype=x.dtype), 0.0)
        self.count = sum(self.win.taps(ones))                                   # (1, oh, ow, 1)
        return sum(self.win.taps(self.win.canvas(x, 0.0))) / self.count

    def backward(self, dy):
        d = dy / self.count
        grad = np.zeros(dy.shape[:1] + (self.win.rows, self.win.cols) + dy.shape[3:], dtype=dy.dtype)
        for target in self.win.taps(grad):
            target += d
        return self.win.crop(grad)


class GlobalAvgPool2dOp(Op):
    def forward(self, x, training=False):
        self.shape = x.shape
        return x.mean(axis=(1, 2), keepdims=True)

    def backward(self, dy):
        return np.broadcast_to(dy / (self.shape[1] * self.shape[2]), self.shape).copy()


class FlattenOp(Op):
    def forward(self, x, training=False):
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dy):
        return dy.reshape(self.shape)


class BatchNormOp(Op):
    """Training: batch statistics over every axis but the channels, and the
    running mean and (unbiased) variance written into layer.mean / layer.var
    with `momentum`; evaluation: the layer's running statistics."""

    def __init__(self, layer, dtype=np.float32, momentum=0.1):
        super().__init__(layer, dtype)
        self.momentum = float(momentum)
        self.params = {"gamma": layer.gamma, "beta": layer.beta}

    def forward(self, x, training=False):
        layer = self.layer
        gamma = self.params["gamma"].astype(self.dtype)
        beta = self.params["beta"].astype(self.dtype)
        self.training = training
        self.shape = x.shape
        x = x.reshape(-1, x.shape[-1])                    # (pixels of every sample, channels)
        if training:
            mean = x.mean(axis=0)
            xc = x - mean
            var = np.mean(xc * xc, axis=0)
            self.inv = (1.0 / np.sqrt(var.astype(np.float64) + layer.eps)).astype(self.dtype)
            count = len(x)
            mom = self.momentum
            layer.mean *= 1 - mom
            layer.mean += mom * mean
            layer.var *= 1 - mom
            layer.var += mom * var * (count / max(count - 1, 1))
        else:
            self.inv = (1.0 / np.sqrt(layer.var + layer.eps)).astype(self.dtype)
            xc = x - layer.mean.astype(self.dtype)
        xc *= self.inv
        self.xhat = xc
        return (xc * gamma + beta).reshape(self.shape)

    def backward(self, dy):
        gamma = self.params["gamma"].astype(self.dtype)
        dy = dy.reshape(self.xhat.shape)
        dbeta = dy.sum(axis=0)
        dgamma = (dy * self.xhat).sum(axis=0)
        self.grads = {"gamma": dgamma.astype(np.float64), "beta": dbeta.astype(np.float64)}
        if not self.training:                       # running statistics are constants
            return (dy * (gamma * self.inv)).reshape(self.shape)
        # dx = gamma / sigma / N * (N dy - sum(dy) - xhat * sum(dy xhat))
        count = len(dy)
        dx = dy * count
        dx -= dbeta
        dx -= self.xhat * dgamma
        dx *= gamma * self.inv / count
        return dx.reshape(self.shape)


class SoftmaxOp(Op):
    def forward(self, x, training=False):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.y = e / e.sum(axis=-1, keepdims=True)
        return self.y

    def backward(self, dy):
        return self.y * (dy - (dy * self.y).sum(axis=-1, keepdims=True))


class ArgmaxOp(Op):
    def forward(self, x, training=False):
        return np.argmax(x, axis=-1).astype(self.dtype)[:, None]

    def backward(self, dy):
        raise ValueError("Argmax has no gradient: train the model without it (fit strips a final Argmax)")


_OPS = [   # subclasses before their base classes
    (L.BlockCirculantDense, BlockCirculantDenseOp), (L.Dense, DenseOp),
    (L.BlockCirculantConv2d, BlockCirculantConv2dOp), (L.Conv2d, Conv2dOp),
    (L.DepthwiseConv2d, DepthwiseConv2dOp),
    (L.AvgPool2d, AvgPool2dOp), (L.MaxPool2d, MaxPool2dOp), (L.GlobalAvgPool2d, GlobalAvgPool2dOp),
    (L.ReLU, ReLUOp), (L.Flatten, FlattenOp), (L.BatchNorm, BatchNormOp),
    (L.Softmax, SoftmaxOp), (L.Argmax, ArgmaxOp),
]


def make_op(layer, dtype=np.float32, path="auto"):
    """The Op of a circnn.layers layer.  path ("auto", "fft", "dense") applies
    to block-circulant layers only."""
    for cls, op in _OPS:
        if type(layer) is cls:
            if op in (BlockCirculantDenseOp, BlockCirculantConv2dOp):
                return op(layer, dtype, path)
            return op(layer, dtype)
    for cls, op in _OPS:   # user subclasses of a known layer
        if isinstance(layer, cls):
            return op(layer, dtype, path) if op in (BlockCirculantDenseOp, BlockCirculantConv2dOp) \
                else op(layer, dtype)
    raise TypeError(f"no training implementation for layer {layer.describe()}")
