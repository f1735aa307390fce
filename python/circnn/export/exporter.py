"""From a float Model to what the C runtime runs: lowering (batch
normalisation folded, ReLU fused), calibration and q15 quantization, the
blob, and the ExportedModel that simulates, saves and writes headers.
"""

import numpy as np

from ..format import blob as B
from ..nn import layers as L
from . import quantization as Q
from .._native import lib
from ..sim.model import float_op
from ..nn.window import window_geometry


class ExportError(ValueError):
    """The model cannot be exported as asked; the message says why."""


def _shape3(shape):
    return tuple(shape) if len(shape) == 3 else (1, 1, shape[0])


# ---------------------------------------------------------------------------
# Lowering: layers -> ops with float64 weights

def lower(model):
    """Ops with float64 weights in extra["float"]: BatchNorm folded into the
    layer before it, ReLU fused into the layer before it where possible."""
    ops = []
    for index, (layer, in_shape, out_shape) in enumerate(zip(model.layers, model.shapes, model.shapes[1:])):
        i3, o3 = _shape3(in_shape), _shape3(out_shape)
        prev = ops[-1] if ops else None
        if isinstance(layer, L.BatchNorm):
            _fold_batchnorm(prev, layer, index)
            continue
        if isinstance(layer, L.ReLU):
            if prev is not None and prev.type in B.WEIGHTED and not prev.relu:
                prev.relu = True
            else:
                ops.append(_named(B.Op(B.RELU, i3, o3), index, layer))
            continue
        if isinstance(layer, L.Flatten):
            if len(in_shape) == 3 and in_shape[:2] != (1, 1):
                ops.append(_named(B.Op(B.FLATTEN, i3, o3), index, layer))
            elif len(in_shape) == 3:   # (1, 1, c) is already a vector for the runtime
                pass
            continue
        ops.append(_named(_lower_one(layer, i3, o3, index), index, layer))
    if not ops:
        raise ExportError("the model has no layer the runtime runs")
    return ops


def _named(op, index, layer):
    """The model layer an op comes from, for error messages."""
    op.extra["layer"] = f"layer {index} ({layer.describe()})"
    return op


def _where(op):
    return op.extra.get("layer", op.name)


def _lower_one(layer, i3, o3, index):
    float_bias = {"bias": layer.bias.copy()} if hasattr(layer, "bias") else {}
    if isinstance(layer, L.BlockCirculantDense):
        return B.Op(B.BC_DENSE, i3, o3, block_size=layer.block_size,
                    extra={"float": layer.spectrum.copy(), **float_bias})
    if isinstance(layer, L.Dense):
        return B.Op(B.DENSE, i3, o3, extra={"float": layer.weight.copy(), **float_bias})
    if isinstance(layer, L.BlockCirculantConv2d):
        return B.Op(B.BC_CONV2D, i3, o3, same=layer.padding == "same", kernel=(layer.kernel_h, layer.kernel_w),
                    stride=layer.stride, block_size=layer.block_size,
                    extra={"float": layer.spectrum.copy(), **float_bias})
    if isinstance(layer, L.Conv2d):
        return B.Op(B.CONV2D, i3, o3, same=layer.padding == "same", kernel=(layer.kernel_h, layer.kernel_w),
                    stride=layer.stride, extra={"float": layer.weight.copy(), **float_bias})
    if isinstance(layer, L.DepthwiseConv2d):
        return B.Op(B.DEPTHWISE_CONV2D, i3, o3, same=layer.padding == "same",
                    kernel=(layer.kernel_h, layer.kernel_w), stride=layer.stride,
                    extra={"float": layer.weight.copy(), **float_bias})
    if isinstance(layer, L.AvgPool2d):
        return B.Op(B.AVGPOOL2D, i3, o3, same=layer.padding == "same", kernel=(layer.kernel_h, layer.kernel_w),
                    stride=layer.stride)
    if isinstance(layer, L.MaxPool2d):
        return B.Op(B.MAXPOOL2D, i3, o3, same=layer.padding == "same", kernel=(layer.kernel_h, layer.kernel_w),
                    stride=layer.stride)
    if isinstance(layer, L.GlobalAvgPool2d):
        return B.Op(B.AVGPOOL2D, i3, o3, kernel=(i3[0], i3[1]), stride=1)
    if isinstance(layer, L.Softmax):
        return B.Op(B.SOFTMAX, i3, o3)
    if isinstance(layer, L.Argmax):
        return B.Op(B.ARGMAX, i3, o3)
    raise ExportError(f"layer {index} ({layer.describe()}) has no C implementation")


def _fold_batchnorm(prev, bn, index):
    if prev is None or prev.type not in B.WEIGHTED:
        raise ExportError(f"layer {index} (BatchNorm) must follow a Dense or convolution layer to be folded")
    if prev.relu:
        raise ExportError(f"layer {index} (BatchNorm) follows a ReLU and cannot be folded; "
                          "put the BatchNorm before the ReLU")
    scale, shift = bn.scale_shift()
    e = prev.extra
    e["bias"] = e["bias"] * scale + shift
    if prev.type == B.DENSE:
        e["float"] = e["float"] * scale[:, None]
    elif prev.type in (B.CONV2D, B.DEPTHWISE_CONV2D):   # output channels on the last axis
        e["float"] = e["float"] * scale
    else:
        # A channel scale breaks circulant blocks: keep it as the layer's scale.
        e["scale"] = e.get("scale", np.ones_like(scale)) * scale
        if prev.type == B.BC_DENSE:   # a bc_dense with a scale is bc_conv2d on a 1x1 image
            p, q, k = e["float"].shape
            e["float"] = e["float"].reshape(1, 1, p, q, k)
            prev.type, prev.kernel, prev.stride, prev.same = B.BC_CONV2D, (1, 1), 1, False


# ---------------------------------------------------------------------------
# Quantization

def _quantize_op(op, f_in, f_out):
    e = op.extra
    op.out_frac = f_out
    if op.type not in B.WEIGHTED:
        return
    op.weight, op.weight_exp = Q.weights(e["float"], f_in, f_out)
    op.bias = Q.bias(e["bias"], f_out) if np.any(e["bias"]) else None
    if "scale" in e:
        op.scale, op.scale_exp = Q.mantissas(e["scale"])
    for name, value in (("weight", op.weight_exp), ("scale", op.scale_exp)):
        if abs(value) > B.MAX_EXPONENT:
            raise ExportError(f"{_where(op)}: {name} exponent {value} is out of range; are the weights or "
                              "the calibration data degenerate?")


def _float32_op(op):
    e = op.extra
    if op.type in B.WEIGHTED:
        op.weight = e["float"].astype(np.float32)
        op.bias = e["bias"].astype(np.float32) if np.any(e["bias"]) else None
        if "scale" in e:
            op.scale = e["scale"].astype(np.float32)


def _scratch_bytes(op, dtype):
    if op.type == B.BC_DENSE:
        fn = lib.circnn_bc_dense_f32_scratch_bytes if dtype == "f32" else lib.circnn_bc_dense_q15_scratch_bytes
        return fn(op.in_shape[2], op.out_shape[2], op.block_size)
    if op.type == B.BC_CONV2D:
        from .._native import ffi
        g = ffi.new("circnn_window_t *", _window(op))
        fn = lib.circnn_bc_conv2d_f32_scratch_bytes if dtype == "f32" else lib.circnn_bc_conv2d_q15_scratch_bytes
        return fn(g, op.block_size)
    return 0


def _window(op):
    g = window_geometry(op.in_shape[0], op.in_shape[1], op.kernel[0], op.kernel[1], op.stride,
                        "same" if op.same else "valid")
    return {"in_h": op.in_shape[0], "in_w": op.in_shape[1], "in_c": op.in_shape[2], "out_h": g.out_h,
            "out_w": g.out_w, "out_c": op.out_shape[2], "kernel_h": op.kernel[0], "kernel_w": op.kernel[1],
            "stride": op.stride, "pad_top": g.pad_top, "pad_left": g.pad_left}


def arena_bytes(ops, dtype):
    """The arena the runtime needs (the rule of circnn/model.h)."""
    es = 4 if dtype == "f32" else 2
    a16 = lambda n: -(-n // 16) * 16   # noqa: E731
    inter = [int(np.prod(op.out_shape)) * es for op in ops[:-1]]
    buffers = min(len(ops) - 1, 2)
    scratch = max(_scratch_bytes(op, dtype) for op in ops)
    return buffers * a16(max(inter, default=0)) + a16(scratch)


def _field_range_message(ops, exc):
    where = "the model's input" if exc.layer is None else _where(ops[exc.layer])
    text = f"{where}: {exc.field} {exc.value} does not fit the blob (range [{exc.low}, {exc.high}])"
    if "frac" in exc.field:
        text += (f"; a scale of 2^{-exc.value} means activations around 2^{15 - exc.value}: "
                 "are the weights or the calibration data degenerate?")
    return text


def export(model, dtype, calibration_x=None, batch_size=256):
    """The ExportedModel of `model` in dtype "q15" (activation scales from
    calibration_x) or "f32"."""
    if dtype not in B.DTYPES:
        raise ExportError(f"dtype must be 'f32' or 'q15', got {dtype!r}")
    ops = lower(model)
    if dtype == "f32":
        for op in ops:
            _float32_op(op)
        in_frac = out_frac = 0
    else:
        if any(op.type == B.SOFTMAX for op in ops):
            raise ExportError("q15 models have no softmax: end the model with its logits (or Argmax); "
                              "the ranking of the classes is the same")
        if calibration_x is None:
            raise ExportError("quantize needs calibration data: model.quantize(x) with a few hundred samples")
        x = model.check_input(calibration_x)
        largest = [0.0] * (len(ops) + 1)
        for start in range(0, len(x), batch_size):
            v = x[start:start + batch_size].reshape((-1,) + _shape3(model.input_shape))
            largest[0] = max(largest[0], float(np.abs(v).max()))
            for i, op in enumerate(ops):
                e = op.extra
                v = float_op(op, v, e.get("float"), e.get("bias"), e.get("scale"))
                largest[i + 1] = max(largest[i + 1], float(np.abs(v).max()))
        fracs = [Q.frac_bits(largest[0])]
        for i, op in enumerate(ops):
            # Only weighted layers rescale; the others keep their input's scale.
            fracs.append(Q.frac_bits(largest[i + 1]) if op.type in B.WEIGHTED else fracs[-1])
            if op.type == B.ARGMAX:
                fracs[-1] = 0
        for i, op in enumerate(ops):
            _quantize_op(op, fracs[i], fracs[i + 1])
        in_frac, out_frac = fracs[0], fracs[-1]
    arena = arena_bytes(ops, dtype)
    try:
        data = B.pack(dtype, ops, _shape3(model.input_shape), ops[-1].out_shape, in_frac, out_frac, arena)
    except B.FieldRangeError as exc:
        raise ExportError(_field_range_message(ops, exc)) from None
    from .exported import ExportedModel
    return ExportedModel(data, source=model)
