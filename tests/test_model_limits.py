"""Blobs whose shape products do not fit 32 bits, built with circnn.blob's
own packer (header shapes that match, sections of the expected length, the
arena figure of the layout, the CRC computed): the C runtime refuses each
with CIRCNN_ERR_SHAPE (circnn/model.h, Limits), and accepts the same layers
at an in-range shape.  test_model_limits_c.c holds the same cases in C."""
import numpy as np
import pytest

import circnn
from circnn import blob as B
from circnn._native import ffi, lib

WRAPS = (2048, 2048, 1025)        # 4,299,161,600 elements: 4,194,304 in 32 bits


def weights(dtype, count):
    return np.zeros(count, np.float32 if dtype == "f32" else np.int16)


def window(kind, dtype, shape, out_c, k=0):
    """One window layer (1x1 kernel, stride 1, "valid") with its sections."""
    h, w, c = shape
    op = B.Op(kind, (h, w, c), (h, w, out_c), kernel=(1, 1), stride=1, block_size=k)
    if kind == B.CONV2D:
        op.weight = weights(dtype, c * out_c)
    elif kind == B.DEPTHWISE_CONV2D:
        op.weight = weights(dtype, c)
    elif kind == B.BC_CONV2D:
        op.weight = weights(dtype, -(-out_c // k) * -(-c // k) * k)
    return op


def bc_conv2d_arena(dtype, op):
    g = ffi.new("circnn_window_t *")
    g.in_h, g.in_w, g.in_c = op.in_shape
    g.out_c = op.out_shape[2]
    g.kernel_h = g.kernel_w = g.stride = 1
    assert lib.circnn_window_geometry(g, lib.CIRCNN_PAD_VALID) == lib.CIRCNN_OK
    scratch = (lib.circnn_bc_conv2d_f32_scratch_bytes if dtype == "f32" else lib.circnn_bc_conv2d_q15_scratch_bytes)(
        g, op.block_size)
    return -(-scratch // 16) * 16


def model(dtype, ops, arena=0):
    return B.pack(dtype, ops, ops[0].in_shape, ops[-1].out_shape, 0, 0, arena)


def init_status(data):
    """circnn_model_init's status without an arena (CIRCNN_ERR_ARENA: a valid blob)."""
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    return lib.circnn_model_init(ffi.new("circnn_model_t *"), ffi.from_buffer(buf), len(buf), ffi.NULL, 0)


def cases(dtype):
    """(name, blob builder taking a shape) for each layer kind."""
    def one(kind, out_c=None, k=0):
        def build(shape):
            op = window(kind, dtype, shape, shape[2] if out_c is None else out_c, k)
            if kind == B.RELU:
                op.kernel, op.stride = (0, 0), 0
            return model(dtype, [op], bc_conv2d_arena(dtype, op) if kind == B.BC_CONV2D else 0)
        return build

    def conv_out(shape):          # the output wraps: 1 channel in, 1025 out
        h, w, _ = shape
        return model(dtype, [window(B.CONV2D, dtype, (h, w, 1), 1025)])

    def bc_conv_out(shape):       # 4 channels in (2^24 elements: the limit), 1025 out
        h, w, _ = shape
        op = window(B.BC_CONV2D, dtype, (h, w, 4), 1025, k=4)
        return model(dtype, [op], bc_conv2d_arena(dtype, op))

    def flatten(shape, dense=False):
        h, w, c = (2, 32769, 65535) if shape == WRAPS else (2, 3, 5)
        n = (h * w * c) % 2 ** 32            # what a 32-bit count says: 65534 for the wrapping shape
        ops = [B.Op(B.FLATTEN, (h, w, c), (1, 1, n))]
        if dense:
            ops.append(B.Op(B.DENSE, (1, 1, n), (1, 1, 1), weight=weights(dtype, n)))
        es = 4 if dtype == "f32" else 2
        return model(dtype, ops, -(-n * es // 16) * 16 if dense else 0)

    return [("maxpool2d", one(B.MAXPOOL2D)), ("avgpool2d", one(B.AVGPOOL2D)), ("relu", one(B.RELU)),
            ("conv2d, input", one(B.CONV2D, out_c=1)), ("conv2d, output", conv_out),
            ("depthwise_conv2d", one(B.DEPTHWISE_CONV2D)), ("bc_conv2d", bc_conv_out),
            ("flatten", flatten), ("flatten, dense", lambda shape: flatten(shape, dense=True))]


@pytest.mark.parametrize("dtype", ["q15", "f32"])
@pytest.mark.parametrize("case", range(9))
def test_wrapping_shapes_are_refused(dtype, case):
    name, build = cases(dtype)[case]
    fine = build((4, 4, 5))
    assert init_status(fine) in (lib.CIRCNN_OK, lib.CIRCNN_ERR_ARENA), name
    wrapped = build(WRAPS)
    status = init_status(wrapped)
    assert status == lib.CIRCNN_ERR_SHAPE, f"{name}: {circnn.engine.status_name(status)}"
    with pytest.raises(circnn.RuntimeRefused, match="CIRCNN_ERR_SHAPE"):
        circnn.Engine(wrapped)
