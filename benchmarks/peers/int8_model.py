"""A circnn float model as the int8 model TensorFlow Lite would make of it,
and its integer forward pass, bit for bit the arithmetic of CMSIS-NN.

Quantization (TFLite's post-training integer scheme, written here from its
published specification):

- activations: asymmetric int8 per tensor, real = scale * (q - zero_point),
  the range [min, max] calibrated on training images (extended to hold 0);
- convolution weights: symmetric int8 per output channel (zero point 0,
  scale max|w| / 127, values in [-127, 127]); fully connected weights:
  symmetric int8 per tensor (arm_fully_connected_s8 takes one multiplier);
- bias: int32 at scale input_scale * weight_scale, zero point 0;
- requantization of the int32 accumulator to the output scale: the real
  factor input_scale * weight_scale / output_scale as a Q31 multiplier and
  a power-of-two shift (quantize_multiplier), applied by
  SaturatingRoundingDoublingHighMul and RoundingDivideByPOT (requantize);
- a ReLU after a layer is fused into its clamp [max(zero_point, -128), 127];
  max and average pooling keep their input's scale and zero point; batch
  normalisation is folded into the layer before it; block-circulant layers
  become their equivalent dense kernels (CMSIS-NN has no circulant kernels).

Int8Model.forward runs the integer network in numpy with CMSIS-NN's
arithmetic (average pooling rounds half away from zero), so its outputs are
the ones arm_convolve_wrapper_s8 & co. give; the benchmark checks that on
every test image.  Int8Model.layers is what benchmarks/peers/cmsis_runner.c
is generated from.
"""
import math

import numpy as np

from circnn import layers as L

QMIN, QMAX = -128, 127
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# -- TFLite's requantization --------------------------------------------------

def round_half_away(x):
    """Round to the nearest integer, ties away from zero (C's round, TfLiteRound)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_multiplier(real):
    """(multiplier, shift) with real ~= multiplier * 2**(shift - 31), the
    multiplier a Q31 number in [2**30, 2**31) (0 for real == 0): TFLite's
    QuantizeMultiplier.  shift > 0 shifts left."""
    real = float(real)
    if real < 0 or not math.isfinite(real):
        raise ValueError(f"a requantization factor must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)            # real = fraction * 2**shift, fraction in [0.5, 1)
    q = int(math.floor(fraction * (1 << 31) + 0.5))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def doubling_high_mul(a, b):
    """SaturatingRoundingDoublingHighMul of int32 arrays: (2 a b) / 2**32
    rounded to nearest (ties up: floor((a b + 2**30) / 2**31)), saturated
    where a = b = INT32_MIN."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    r = (a * b + (1 << 30)) >> 31
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, r)


def rounding_divide_by_pot(x, exponent):
    """RoundingDivideByPOT: x / 2**exponent rounded to nearest, ties away from
    zero (exponent 0..31, per element allowed)."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + ((x & mask) > threshold)


def requantize(acc, multiplier, shift):
    """MultiplyByQuantizedMultiplier: acc * multiplier * 2**(shift - 31) in
    TFLite's two roundings (CMSIS-NN's arm_nn_requantize, default build).
    multiplier and shift broadcast against acc (per channel: the last axis)."""
    acc = np.asarray(acc, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    scaled = acc << left
    if np.any((scaled < INT32_MIN) | (scaled > INT32_MAX)):
        raise OverflowError("requantize: the accumulator shifted left leaves int32")
    return rounding_divide_by_pot(doubling_high_mul(scaled, multiplier), np.maximum(-shift, 0))


# -- calibration ----------------------------------------------------------------

def activation_params(lo, hi):
    """(scale, zero_point) of an asymmetric int8 tensor holding [lo, hi]
    (the range is extended to hold 0; TFLite's nudged zero point)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi == lo:
        return 1.0, 0
    scale = (hi - lo) / (QMAX - QMIN)
    zp = QMIN - lo / scale
    zp = int(min(max(round_half_away(zp), QMIN), QMAX))
    return scale, zp


def quantize_symmetric(w, axis=None):
    """(int8 values, scales): symmetric int8 in [-127, 127], one scale per
    slice along `axis` (the output channel), or one for the tensor."""
    w = np.asarray(w, dtype=np.float64)
    if axis is None:
        peak = np.array([np.max(np.abs(w))])
        scales = np.where(peak > 0, peak / 127.0, 1.0)
        q = round_half_away(w / scales[0])
    else:
        peak = np.max(np.abs(np.moveaxis(w, axis, -1)).reshape(-1, w.shape[axis]), axis=0)
        scales = np.where(peak > 0, peak / 127.0, 1.0)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = round_half_away(w / scales.reshape(shape))
    return np.clip(q, -127, 127).astype(np.int8), scales


# -- the network ----------------------------------------------------------------

class Op:
    """One int8 layer as CMSIS-NN runs it.

    kind: "conv" (arm_convolve_wrapper_s8), "dwconv"
    (arm_depthwise_conv_wrapper_s8), "fc" (arm_fully_connected_s8),
    "maxpool" (arm_max_pool_s8), "avgpool" (arm_avgpool_s8), "flatten" (no
    call: NHWC is already the order the fully connected layer reads).
    in_shape / out_shape: (h, w, c) or (n,).  For conv/dwconv/fc: weight
    int8 (conv: (c_out, kh, kw, c_in); dwconv: (kh, kw, c); fc: (out, in)),
    bias int32, multiplier/shift int32 per output channel (fc: one each).
    For windows: kernel (kh, kw), stride, pad (top, left).  in_zp / out_zp
    zero points, act (min, max) the clamp.  source: the circnn layer it
    came from (for the tables).
    """

    def __init__(self, kind, source, in_shape, out_shape, **fields):
        self.kind, self.source = kind, source
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.__dict__.update(fields)

    def weight_bytes(self):
        """Constant bytes: int8 weights, int32 bias, int32 multiplier and shift."""
        if self.kind not in ("conv", "dwconv", "fc"):
            return 0
        return self.weight.size + 4 * (self.bias.size + self.multiplier.size + self.shift.size)


def _float_ops(model):
    """The model as float ops: (kind, circnn layer for the float forward pass,
    relu, source description), batch normalisation folded, ReLU fused,
    block-circulant layers as dense."""
    Depthwise = getattr(L, "DepthwiseConv2d", None)
    ops = []
    for layer in model.layers:
        if isinstance(layer, L.BatchNorm):
            if not ops or ops[-1][0] not in ("conv", "dwconv", "fc") or ops[-1][2]:
                raise ValueError("BatchNorm must follow a convolution or dense layer (before its ReLU)")
            kind, f, relu, src = ops[-1]
            scale, shift = layer.scale_shift()
            if kind == "fc":
                f = L.Dense(f.in_features, f.out_features, weight=f.weight * scale[:, None],
                            bias=f.bias * scale + shift)
            elif kind == "conv":
                f = L.Conv2d(f.in_channels, f.out_channels, (f.kernel_h, f.kernel_w), f.stride, f.padding,
                             weight=f.weight * scale, bias=f.bias * scale + shift)
            else:
                f = Depthwise(f.channels, (f.kernel_h, f.kernel_w), f.stride, f.padding,
                              weight=f.weight * scale, bias=f.bias * scale + shift)
            ops[-1] = (kind, f, relu, src + "+bn")
        elif isinstance(layer, L.ReLU):
            if not ops or ops[-1][0] not in ("conv", "dwconv", "fc") or ops[-1][2]:
                raise ValueError("ReLU must follow a convolution or dense layer (it is fused into its clamp)")
            ops[-1] = ops[-1][:2] + (True, ops[-1][3])
        elif isinstance(layer, (L.Dense, L.BlockCirculantDense)):
            w = layer.weight if isinstance(layer, L.Dense) else layer.dense_matrix()
            ops.append(("fc", L.Dense(layer.in_features, layer.out_features, weight=w, bias=layer.bias),
                        False, layer.describe()))
        elif Depthwise is not None and isinstance(layer, Depthwise):
            ops.append(("dwconv", Depthwise(layer.channels, (layer.kernel_h, layer.kernel_w), layer.stride,
                                            layer.padding, weight=layer.weight, bias=layer.bias),
                        False, layer.describe()))
        elif isinstance(layer, L.Conv2d):      # BlockCirculantConv2d too: its dense kernel
            ops.append(("conv", L.Conv2d(layer.in_channels, layer.out_channels, (layer.kernel_h, layer.kernel_w),
                                         layer.stride, layer.padding, weight=layer.dense_kernel(),
                                         bias=layer.bias), False, layer.describe()))
        elif isinstance(layer, L.AvgPool2d):
            ops.append(("avgpool", layer, False, layer.describe()))
        elif isinstance(layer, L.MaxPool2d):
            ops.append(("maxpool", layer, False, layer.describe()))
        elif isinstance(layer, L.GlobalAvgPool2d):
            ops.append(("gavgpool", layer, False, layer.describe()))
        elif isinstance(layer, L.Flatten):
            ops.append(("flatten", layer, False, layer.describe()))
        else:
            raise ValueError(f"{layer.describe()}: no int8 CMSIS-NN equivalent here")
    return ops


class Int8Model:
    """The int8 version of a circnn float Model, calibrated on calibration_x
    (float images, the model's input shape)."""

    def __init__(self, model, calibration_x):
        x = model.check_input(calibration_x)
        float_ops = _float_ops(model)
        # activation ranges: the model's input and every op's output, in float64
        ranges, h = [(x.min(), x.max())], x
        for kind, f, relu, _ in float_ops:
            h = f.forward(h)
            if relu:
                h = np.maximum(h, 0.0)
            ranges.append((h.min(), h.max()))
        self.input_shape = model.input_shape
        self.input_scale, self.input_zp = activation_params(*ranges[0])
        self.layers = []
        scale, zp, shape = self.input_scale, self.input_zp, model.input_shape
        for (kind, f, relu, src), rng in zip(float_ops, ranges[1:]):
            out_shape = f.output_shape(shape)
            if kind in ("maxpool", "avgpool", "gavgpool", "flatten"):
                fields = dict(in_zp=zp, out_zp=zp, scale=scale, act=(QMIN, QMAX))
                if kind != "flatten":
                    kh, kw = (shape[0], shape[1]) if kind == "gavgpool" else (f.kernel_h, f.kernel_w)
                    stride = 1 if kind == "gavgpool" else f.stride
                    pad = (0, 0) if kind == "gavgpool" else _pads(f, shape)
                    fields.update(kernel=(kh, kw), stride=stride, pad=pad)
                    kind = "avgpool" if kind == "gavgpool" else kind
                self.layers.append(Op(kind, src, shape, out_shape, **fields))
                shape = out_shape
                continue
            out_scale, out_zp = activation_params(*rng)
            if kind == "fc":
                wq, ws = quantize_symmetric(f.weight)                    # per tensor
                ws_c = np.full(f.out_features, ws[0])
                fields = dict(weight=wq)
            elif kind == "conv":
                wq, ws_c = quantize_symmetric(f.weight, axis=3)          # (kh, kw, cin, cout), per cout
                fields = dict(weight=np.ascontiguousarray(wq.transpose(3, 0, 1, 2)),
                              kernel=(f.kernel_h, f.kernel_w), stride=f.stride, pad=_pads(f, shape))
            else:
                wq, ws_c = quantize_symmetric(f.weight, axis=2)          # (kh, kw, c), per channel
                fields = dict(weight=wq, kernel=(f.kernel_h, f.kernel_w), stride=f.stride, pad=_pads(f, shape))
            bias = np.clip(round_half_away(f.bias / (scale * ws_c)), INT32_MIN, INT32_MAX).astype(np.int32)
            mults = [quantize_multiplier(scale * s / out_scale) for s in ws_c]
            if kind == "fc":
                mults = mults[:1]
            fields.update(
                bias=bias, multiplier=np.array([m for m, _ in mults], np.int32),
                shift=np.array([s for _, s in mults], np.int32), in_zp=zp, out_zp=out_zp, scale=out_scale,
                act=(max(out_zp, QMIN) if relu else QMIN, QMAX), weight_scale=ws_c)
            self.layers.append(Op(kind, src, shape, out_shape, **fields))
            scale, zp, shape = out_scale, out_zp, out_shape
        self.output_scale, self.output_zp, self.output_shape = scale, zp, shape

    # -- input / output ---------------------------------------------------
    def quantize_input(self, x):
        """Float images -> int8 at the input's scale and zero point."""
        q = round_half_away(np.asarray(x, np.float64) / self.input_scale) + self.input_zp
        return np.clip(q, QMIN, QMAX).astype(np.int8)

    def dequantize_output(self, q):
        return (np.asarray(q, np.float64) - self.output_zp) * self.output_scale

    def weight_bytes(self):
        return sum(op.weight_bytes() for op in self.layers)

    # -- the integer forward pass ----------------------------------------------
    def forward(self, xq, upto=None):
        """int8 (N,) + input shape -> int8 outputs, CMSIS-NN's arithmetic."""
        h = np.asarray(xq)
        if h.dtype != np.int8 or h.shape[1:] != tuple(self.input_shape):
            raise ValueError(f"expected int8 of shape (N,) + {tuple(self.input_shape)}, got {h.dtype} {h.shape}")
        for op in self.layers[:upto]:
            h = run_op(op, h)
        return h


def _pads(layer, shape):
    g = L.window_geometry(shape[0], shape[1], layer.kernel_h, layer.kernel_w, layer.stride, layer.padding)
    return (g.pad_top, g.pad_left)


def _windows(x, op, fill):
    """(N, oh, ow, kh, kw, C) windows of x (N, H, W, C), outside filled with `fill`."""
    (kh, kw), s, (pt, pl) = op.kernel, op.stride, op.pad
    oh, ow = op.out_shape[0], op.out_shape[1]
    n, h, w, c = x.shape
    rows, cols = max((oh - 1) * s + kh, h + pt), max((ow - 1) * s + kw, w + pl)
    canvas = np.full((n, rows, cols, c), fill, dtype=x.dtype)
    canvas[:, pt:pt + h, pl:pl + w] = x
    view = np.lib.stride_tricks.sliding_window_view(canvas, (kh, kw), axis=(1, 2))
    return view[:, ::s, ::s][:, :oh, :ow].transpose(0, 1, 2, 4, 5, 3)


def _finish(acc, op):
    y = requantize(acc, op.multiplier, op.shift) + op.out_zp
    return np.clip(y, op.act[0], op.act[1]).astype(np.int8)


def run_op(op, x):
    """One int8 layer on a batch, as CMSIS-NN computes it."""
    if op.kind == "flatten":
        return x.reshape(len(x), -1)
    if op.kind == "fc":
        xs = x.reshape(len(x), -1).astype(np.float64) - op.in_zp
        acc = np.rint(xs @ op.weight.astype(np.float64).T).astype(np.int64) + op.bias   # exact: |sums| < 2**53
        return _finish(acc, op)
    if op.kind in ("conv", "dwconv"):
        # padding holds the zero point: it adds 0 once the input offset is applied
        win = _windows(x.astype(np.float64) - op.in_zp, op, 0.0)
        if op.kind == "conv":
            acc = np.einsum("nhwijc,dijc->nhwd", win, op.weight.astype(np.float64), optimize=True)
        else:
            acc = np.einsum("nhwijc,ijc->nhwc", win, op.weight.astype(np.float64), optimize=True)
        return _finish(np.rint(acc).astype(np.int64) + op.bias, op)
    if op.kind == "maxpool":
        y = _windows(x, op, np.int8(QMIN)).max(axis=(3, 4))
        return np.clip(y, op.act[0], op.act[1]).astype(np.int8)
    if op.kind == "avgpool":
        win = _windows(x.astype(np.int64), op, 0)
        total = win.sum(axis=(3, 4))
        ones = np.ones((1,) + x.shape[1:3] + (1,), np.int64)
        count = _windows(ones, op, 0).sum(axis=(3, 4))
        half = count // 2
        rounded = np.where(total > 0, total + half, total - half)
        y = np.sign(rounded) * (np.abs(rounded) // count)      # C division: toward zero
        return np.clip(y, op.act[0], op.act[1]).astype(np.int8)
    raise ValueError(f"unknown op kind {op.kind!r}")
