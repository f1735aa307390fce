"""Every layer kind and where each of its parts lives: the one table to read
(and to extend) when adding a layer kind.

A kind is a layer class of circnn.layers (the float64 reference: its
`forward`) with
    blob_type   its layer type in the blob (circnn/model.h; format/blob.py)
    train_op    its forward and backward pass for training (train/ops.py)
    lowering    how export turns it into ops (export/lowering.py)
    simulator   the bit-exact numpy twin of its q15 C kernel (circnn.sim)
    binding     its C kernel on numpy arrays, through cffi (circnn.native)
    c_functions the C functions the runtime runs for it (include/circnn/)
A part a kind does not have is an Absent that says why (BatchNorm is folded
into the layer before it at export: no blob type, no kernel).
tests/test_kinds.py fails when a layer class, a blob type or a part of a
kind is missing here, and checks each entry against what the trainer, the
exporter and the simulator really call.
"""
from dataclasses import dataclass

from .export import lowering
from .format import blob as B
from .native import bc_conv2d as native_bc_conv2d, fft as native_fft, layers as native_layers
from .nn import layers as L
from .sim import bc_conv2d as sim_bc_conv2d, layers as sim_layers, q15 as sim_q15
from .train import ops


class Absent(str):
    """A part a layer kind does not have, and why."""


@dataclass(frozen=True)
class Kind:
    name: str
    layer: type
    blob_type: object
    train_op: type
    lowering: object
    simulator: object
    binding: object
    c_functions: object

    def parts(self):
        """The parts a kind must name, by field name."""
        return {name: getattr(self, name) for name in
                ("blob_type", "train_op", "lowering", "simulator", "binding", "c_functions")}


def _c(name, dtypes=("f32", "q15")):
    return tuple(f"circnn_{name}_{dtype}" for dtype in dtypes)


FOLDED = Absent("folded into the weighted layer before it at export (export/lowering.py)")
RESHAPE = Absent("a reshape: the runtime hands the same numbers on (HWC order is already flat)")

KINDS = (
    Kind("dense", L.Dense, B.DENSE, ops.DenseOp, lowering.lower_dense,
         sim_layers.dense_q15, native_layers.dense, _c("dense")),
    Kind("bc_dense", L.BlockCirculantDense, B.BC_DENSE, ops.BlockCirculantDenseOp, lowering.lower_bc_dense,
         sim_q15.bc_dense_q15, native_fft.bc_dense, _c("bc_dense")),
    Kind("conv2d", L.Conv2d, B.CONV2D, ops.Conv2dOp, lowering.lower_conv2d,
         sim_layers.conv2d_q15, native_layers.conv2d, _c("conv2d")),
    Kind("bc_conv2d", L.BlockCirculantConv2d, B.BC_CONV2D, ops.BlockCirculantConv2dOp, lowering.lower_bc_conv2d,
         sim_bc_conv2d.bc_conv2d_q15, native_bc_conv2d.bc_conv2d, _c("bc_conv2d")),
    Kind("depthwise_conv2d", L.DepthwiseConv2d, B.DEPTHWISE_CONV2D, ops.DepthwiseConv2dOp,
         lowering.lower_depthwise_conv2d, sim_layers.depthwise_conv2d_q15, native_layers.depthwise_conv2d,
         _c("depthwise_conv2d")),
    Kind("relu", L.ReLU, B.RELU, ops.ReLUOp, lowering.lower_relu,
         sim_layers.relu_q15, native_layers.relu, _c("relu")),
    Kind("maxpool2d", L.MaxPool2d, B.MAXPOOL2D, ops.MaxPool2dOp, lowering.lower_maxpool2d,
         sim_layers.maxpool2d_q15, native_layers.maxpool2d, _c("maxpool2d")),
    Kind("avgpool2d", L.AvgPool2d, B.AVGPOOL2D, ops.AvgPool2dOp, lowering.lower_avgpool2d,
         sim_layers.avgpool2d_q15, native_layers.avgpool2d, _c("avgpool2d")),
    Kind("global_avgpool2d", L.GlobalAvgPool2d, B.AVGPOOL2D, ops.GlobalAvgPool2dOp, lowering.lower_global_avgpool2d,
         sim_layers.avgpool2d_q15, native_layers.avgpool2d, _c("avgpool2d")),
    Kind("flatten", L.Flatten, B.FLATTEN, ops.FlattenOp, lowering.lower_flatten, RESHAPE, RESHAPE, RESHAPE),
    Kind("batchnorm", L.BatchNorm, FOLDED, ops.BatchNormOp, lowering.lower_batchnorm, FOLDED, FOLDED, FOLDED),
    Kind("softmax", L.Softmax, B.SOFTMAX, ops.SoftmaxOp, lowering.lower_softmax,
         Absent("f32 models only: a q15 model has no softmax (the exporter refuses it)"),
         native_layers.softmax, _c("softmax", ("f32",))),
    Kind("argmax", L.Argmax, B.ARGMAX, ops.ArgmaxOp, lowering.lower_argmax,
         sim_layers.argmax_q15, native_layers.argmax, _c("argmax")),
)


def kind_of(layer):
    """The Kind of a layer object (its exact class, else the first base class in KINDS)."""
    for kind in KINDS:
        if type(layer) is kind.layer:
            return kind
    for kind in KINDS:
        if isinstance(layer, kind.layer):
            return kind
    raise TypeError(f"{layer.describe()} is no layer kind of circnn.kinds")
