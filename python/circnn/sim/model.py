"""Whole-model numpy simulation of an ExportedModel, layer by layer.

run_q15 chains the bit-exact twins of the C layers (circnn.sim.q15,
fixed_layers, fixed_conv), so its int16 result is exactly circnn_model_run's.
run_f32 computes the f32 model in float64 numpy: close to the C engine,
not bit-exact (the C rounds every float operation to 32 bits).
"""
import numpy as np

from ..format import blob as B
from ..nn import circulant
from . import q15 as fixed, bc_conv2d as fixed_conv, layers as fixed_layers
from ..nn.window import window_geometry


def _geometry(op):
    return window_geometry(op.in_shape[0], op.in_shape[1], op.kernel[0], op.kernel[1], op.stride,
                           "same" if op.same else "valid")


def run_q15(model, xq):
    """int16 batch (N,) + input_shape -> int16 batch (N,) + output_shape."""
    n = len(xq)
    v = xq.reshape((n,) + model.ops[0].in_shape)
    for op in model.ops:
        v = _q15_op(op, v)
        if op.pool:   # the fused 2x2 max pool (FLAG_POOL2): the pool layer's twin on the convolution's output
            v = fixed_layers.maxpool2d_q15(v, 2, 2, 2, 0, 0, op.out_shape[0], op.out_shape[1])
    return v.reshape((n,) + model.output_shape)


def _q15_op(op, v):
    n = len(v)
    if op.type in (B.DENSE, B.BC_DENSE):
        flat = v.reshape(n, -1)
        if op.type == B.DENSE:
            y = fixed_layers.dense_q15(op.weight, op.weight_exp, flat, op.bias, op.relu)
        else:
            y = fixed.bc_dense_q15(op.weight, op.weight_exp, flat, op.out_shape[2], op.bias, op.relu)
        return y.reshape((n,) + op.out_shape)
    if op.type in B.WINDOWED:
        g = _geometry(op)
        where = (op.stride, g.pad_top, g.pad_left, g.out_h, g.out_w)
        if op.type == B.CONV2D:
            return fixed_layers.conv2d_q15(op.weight, op.weight_exp, v, *where, op.bias, op.relu)
        if op.type == B.DEPTHWISE_CONV2D:
            return fixed_layers.depthwise_conv2d_q15(op.weight, op.weight_exp, v, *where, op.bias, op.relu)
        if op.type == B.BC_CONV2D:
            return fixed_conv.bc_conv2d_q15(op.weight, op.weight_exp, v, op.out_shape[2], *where,
                                            bias=op.bias, scale=op.scale, scale_exp=op.scale_exp, relu=op.relu)
        pool = fixed_layers.maxpool2d_q15 if op.type == B.MAXPOOL2D else fixed_layers.avgpool2d_q15
        return pool(v, op.kernel[0], op.kernel[1], *where)
    if op.type == B.RELU:
        return fixed_layers.relu_q15(v)
    if op.type == B.FLATTEN:
        return v.reshape((n,) + op.out_shape)
    if op.type == B.ARGMAX:
        return fixed_layers.argmax_q15(v.reshape(n, -1)).astype(np.int16).reshape(n, 1, 1, 1)
    raise ValueError(f"a q15 model cannot hold a {op.name} layer")


def run_f32(model, x):
    """float batch -> float64 batch, computed in float64 from the f32 weights."""
    n = len(x)
    v = np.asarray(x, dtype=np.float64).reshape((n,) + model.ops[0].in_shape)
    for op in model.ops:
        v = float_op(op, v, *(None if a is None else a.astype(np.float64) for a in (op.weight, op.bias, op.scale)))
    return v.reshape((n,) + model.output_shape)


def float_op(op, x, weight=None, bias=None, scale=None):
    """The float64 forward pass of one op on a batch x (N, h, w, c), with the
    given weight, bias and scale (float64; bias and scale may be None).  The
    one float forward over lowered ops: run_f32 passes the f32 model's arrays,
    the exporter's calibration its float64 originals.  An op type it does not
    know raises ValueError."""
    y = _float_layer(op, x, weight, bias, scale)
    if op.pool:   # the fused 2x2 max pool (FLAG_POOL2)
        from ..nn import layers as L
        return L.MaxPool2d(2).forward(y)
    return y


def _float_layer(op, x, weight=None, bias=None, scale=None):
    from ..nn import layers as L
    n = len(x)
    padding = "same" if op.same else "valid"
    if op.type == B.DENSE:
        y = (x.reshape(n, -1) @ weight.T).reshape((n,) + op.out_shape)
    elif op.type == B.BC_DENSE:
        y = circulant.matvec(circulant.from_spectrum(weight), x.reshape(n, -1), op.out_shape[2])
        y = y.reshape((n,) + op.out_shape)
    elif op.type == B.CONV2D:
        y = L.Conv2d(op.in_shape[2], op.out_shape[2], op.kernel, op.stride, padding, weight=weight).forward(x)
    elif op.type == B.BC_CONV2D:
        y = L.BlockCirculantConv2d(op.in_shape[2], op.out_shape[2], op.kernel, op.block_size, op.stride, padding,
                                   spectrum=weight).forward(x)
    elif op.type == B.DEPTHWISE_CONV2D:
        y = L.DepthwiseConv2d(op.in_shape[2], op.kernel, op.stride, padding, weight=weight).forward(x)
    elif op.type in (B.MAXPOOL2D, B.AVGPOOL2D):
        cls = L.MaxPool2d if op.type == B.MAXPOOL2D else L.AvgPool2d
        return cls(op.kernel, op.stride, padding).forward(x)
    elif op.type == B.RELU:
        return np.maximum(x, 0.0)
    elif op.type == B.FLATTEN:
        return x.reshape((n,) + op.out_shape)
    elif op.type == B.SOFTMAX:
        return L.Softmax().forward(x.reshape(n, -1)).reshape(x.shape)
    elif op.type == B.ARGMAX:
        return np.argmax(x.reshape(n, -1), axis=-1).astype(np.float64).reshape(n, 1, 1, 1)
    else:
        raise ValueError(f"no float forward pass for layer type {op.type}")
    if scale is not None:
        y = y * scale
    if bias is not None:
        y = y + bias
    return np.maximum(y, 0.0) if op.relu else y
