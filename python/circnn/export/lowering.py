"""Lowering: the layers of a float Model -> the ops the runtime runs, with
float64 weights in op.extra["float"] (and the bias in op.extra["bias"]).

One lowering function per layer kind, all with the same signature
lower_<kind>(ops, layer, in_shape, out_shape, index): it appends the kind's
op to `ops`, or changes the op before it (BatchNorm is folded into the layer
before it, a ReLU fused into it, a Flatten of a vector disappears).
LOWERINGS says which function lowers which layer class (circnn/kinds.py
names them too).
"""
import numpy as np

from ..format import blob as B
from ..nn import layers as L


class ExportError(ValueError):
    """The model cannot be exported as asked; the message says why."""


def shape3(shape):
    """A layer's shape as the runtime's (h, w, c): a vector (n,) is (1, 1, n)."""
    return tuple(shape) if len(shape) == 3 else (1, 1, shape[0])


def where(op):
    """The model layer an op comes from, for error messages."""
    return op.extra.get("layer", op.name)


def _append(ops, op, index, layer):
    op.extra["layer"] = f"layer {index} ({layer.describe()})"
    ops.append(op)


def _window(layer):
    return dict(same=layer.padding == "same", kernel=(layer.kernel_h, layer.kernel_w), stride=layer.stride)


def _weighted(layer, weights):
    return {"float": weights.copy(), "bias": layer.bias.copy()}


def lower_dense(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.DENSE, shape3(in_shape), shape3(out_shape), extra=_weighted(layer, layer.weight)),
            index, layer)


def lower_bc_dense(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.BC_DENSE, shape3(in_shape), shape3(out_shape), block_size=layer.block_size,
                      extra=_weighted(layer, layer.spectrum)), index, layer)


def lower_conv2d(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.CONV2D, shape3(in_shape), shape3(out_shape), **_window(layer),
                      extra=_weighted(layer, layer.weight)), index, layer)


def lower_bc_conv2d(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.BC_CONV2D, shape3(in_shape), shape3(out_shape), **_window(layer),
                      block_size=layer.block_size, extra=_weighted(layer, layer.spectrum)), index, layer)


def lower_depthwise_conv2d(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.DEPTHWISE_CONV2D, shape3(in_shape), shape3(out_shape), **_window(layer),
                      extra=_weighted(layer, layer.weight)), index, layer)


def lower_maxpool2d(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.MAXPOOL2D, shape3(in_shape), shape3(out_shape), **_window(layer)), index, layer)


def lower_avgpool2d(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.AVGPOOL2D, shape3(in_shape), shape3(out_shape), **_window(layer)), index, layer)


def lower_global_avgpool2d(ops, layer, in_shape, out_shape, index):
    """An average pool whose window is the whole image."""
    i3 = shape3(in_shape)
    _append(ops, B.Op(B.AVGPOOL2D, i3, shape3(out_shape), kernel=(i3[0], i3[1]), stride=1), index, layer)


def lower_softmax(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.SOFTMAX, shape3(in_shape), shape3(out_shape)), index, layer)


def lower_argmax(ops, layer, in_shape, out_shape, index):
    _append(ops, B.Op(B.ARGMAX, shape3(in_shape), shape3(out_shape)), index, layer)


def lower_relu(ops, layer, in_shape, out_shape, index):
    """Fused into the weighted layer before it (its output stage), else an op of its own."""
    prev = ops[-1] if ops else None
    if prev is not None and prev.type in B.WEIGHTED and not prev.relu:
        prev.relu = True
    else:
        _append(ops, B.Op(B.RELU, shape3(in_shape), shape3(out_shape)), index, layer)


def lower_flatten(ops, layer, in_shape, out_shape, index):
    """An op for an image; nothing for a vector or a (1, 1, c) image, which the runtime holds flat already."""
    if len(in_shape) == 3 and in_shape[:2] != (1, 1):
        _append(ops, B.Op(B.FLATTEN, shape3(in_shape), shape3(out_shape)), index, layer)


def lower_batchnorm(ops, layer, in_shape, out_shape, index):
    """Folded into the weighted layer before it: into its weights (dense and the
    plain convolutions) or, for circulant layers, as a per-channel scale."""
    prev = ops[-1] if ops else None
    if prev is None or prev.type not in B.WEIGHTED:
        raise ExportError(f"layer {index} (BatchNorm) must follow a Dense or convolution layer to be folded")
    if prev.relu:
        raise ExportError(f"layer {index} (BatchNorm) follows a ReLU and cannot be folded; "
                          "put the BatchNorm before the ReLU")
    scale, shift = layer.scale_shift()
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


#: layer class -> its lowering; a subclass before its base class (the first isinstance match lowers)
LOWERINGS = (
    (L.BatchNorm, lower_batchnorm), (L.ReLU, lower_relu), (L.Flatten, lower_flatten),
    (L.BlockCirculantDense, lower_bc_dense), (L.Dense, lower_dense),
    (L.BlockCirculantConv2d, lower_bc_conv2d), (L.Conv2d, lower_conv2d),
    (L.DepthwiseConv2d, lower_depthwise_conv2d),
    (L.AvgPool2d, lower_avgpool2d), (L.MaxPool2d, lower_maxpool2d), (L.GlobalAvgPool2d, lower_global_avgpool2d),
    (L.Softmax, lower_softmax), (L.Argmax, lower_argmax),
)


def lowering_of(layer):
    """The lowering function of a layer (None: the runtime has no such layer)."""
    return next((fn for cls, fn in LOWERINGS if isinstance(layer, cls)), None)


def lower(model):
    """Ops with float64 weights in extra["float"]: BatchNorm folded into the
    layer before it, ReLU fused into the layer before it where possible."""
    ops = []
    for index, (layer, in_shape, out_shape) in enumerate(zip(model.layers, model.shapes, model.shapes[1:])):
        fn = lowering_of(layer)
        if fn is None:
            raise ExportError(f"layer {index} ({layer.describe()}) has no C implementation")
        fn(ops, layer, in_shape, out_shape, index)
    if not ops:
        raise ExportError("the model has no layer the runtime runs")
    return ops
