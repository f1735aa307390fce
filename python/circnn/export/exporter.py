"""From a float Model to what the C runtime runs: the model lowered to ops
(export/lowering.py), activation scales calibrated on data, weights
quantized to q15 (or kept as f32), the blob packed: an ExportedModel.
"""

import numpy as np

from ..format import blob as B
from ..format.arena import arena_bytes
from ..sim.model import float_op
from . import quantization as Q
from .exported import ExportedModel
from .lowering import ExportError, lower, shape3 as _shape3, where as _where


# ---------------------------------------------------------------------------
# Quantization

def _quantize_op(op, f_in, f_out, weight_bits=16):
    e = op.extra
    op.out_frac = f_out
    if op.type not in B.WEIGHTED:
        return
    if weight_bits == 8:   # one exponent per layer, as for 16 bits
        op.weight, op.weight_exp = Q.weights8(e["float"], f_in, f_out)
        op.weight_bits = 8
    else:
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


def fuse_max_pools(ops):
    """Each convolution followed by a 2x2 max pool of stride 2 and "valid"
    padding (MaxPool2d(2)) takes the pool in (Op.pool, format 7): the
    runtime then computes two of its output rows at a time and pools them at
    once (src/model_run.c), so that the convolution's output, often the
    model's largest tensor, is never stored: the arena holds the pooled one
    and a band of two rows.  Same values as the two layers."""
    fused = []
    for op in ops:
        prev = fused[-1] if fused else None
        if (op.type == B.MAXPOOL2D and op.kernel == (2, 2) and op.stride == 2 and not op.same
                and prev is not None and prev.type in B.POOLING and not prev.pool):
            prev.pool, prev.out_shape = True, op.out_shape
            prev.extra["layer"] = f"{_where(prev)} + {_where(op)}"
        else:
            fused.append(op)
    return fused


def _field_range_message(ops, exc):
    where = "the model's input" if exc.layer is None else _where(ops[exc.layer])
    text = f"{where}: {exc.field} {exc.value} does not fit the blob (range [{exc.low}, {exc.high}])"
    if "frac" in exc.field:
        text += (f"; a scale of 2^{-exc.value} means activations around 2^{15 - exc.value}: "
                 "are the weights or the calibration data degenerate?")
    return text


def export(model, dtype, calibration_x=None, batch_size=256, weight_bits=16, fuse_pools=True):
    """The ExportedModel of `model` in dtype "q15" (activation scales from
    calibration_x) or "f32".  weight_bits=8 (q15 only) stores the weights of
    every layer that has them (dense, conv2d, depthwise_conv2d, and the
    spectra of bc_dense, bc_conv2d) in 8 bits, one byte a weight (format 4;
    3 when only block-circulant layers have weights).  fuse_pools: a 2x2 max
    pool after a convolution is fused into it (format 7; fuse_max_pools);
    False keeps it a layer of its own, which older runtimes read."""
    if dtype not in B.DTYPES:
        raise ExportError(f"dtype must be 'f32' or 'q15', got {dtype!r}")
    if weight_bits not in (8, 16):
        raise ExportError(f"weight_bits must be 16 or 8, got {weight_bits!r}")
    if weight_bits == 8 and dtype != "q15":
        raise ExportError("weight_bits=8 is for q15 models (8-bit q15 weights)")
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
            _quantize_op(op, fracs[i], fracs[i + 1], weight_bits)
        in_frac, out_frac = fracs[0], fracs[-1]
    if fuse_pools:   # after calibration, which runs (and scales) the layers one by one
        ops = fuse_max_pools(ops)
    arena = arena_bytes(ops, dtype)
    try:
        data = B.pack(dtype, ops, _shape3(model.input_shape), ops[-1].out_shape, in_frac, out_frac, arena)
    except B.FieldRangeError as exc:
        raise ExportError(_field_range_message(ops, exc)) from None
    return ExportedModel(data, source=model)
