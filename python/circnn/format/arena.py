"""The arena the runtime needs for a list of ops: the rule of circnn/model.h
(buffer A as large as the largest output of the even layers before the
last, buffer B the same for the odd ones, then the largest scratch any
layer needs, each rounded up to 16 bytes; format versions 1 to 4: both
buffers as large as the largest intermediate tensor), with the layers'
scratch sizes from the C library."""
from .._native import ffi, lib
from ..nn.window import window_geometry
from . import blob as B


def _align16(n):
    return -(-n // 16) * 16


def _scratch_bytes(op, dtype, index):
    """The layer's scratch (src/model.c): with 8-bit weights the int16 copy
    of them first (2 bytes a weight, rounded up to 16; a dense layer's
    DENSE8_ROWS rows, B.dense8_rows, in the format it then needs); with a
    fused pool the band of two convolution rows next (rounded up to 16); the
    kernel's last (a bc_conv2d's without the spectra of its input where they
    overwrite it, B.spectra_over_input)."""
    es = 4 if dtype == "f32" else 2
    total = _kernel_scratch_bytes(op, dtype)
    if B.spectra_over_input(op, index):   # format 8: its input's place holds the spectra
        h, w, c = op.in_shape
        total -= -(-h * w * c * es // 8) * 8   # up8, as bc_conv2d_common.h sizes them
    if op.weight_bits == 8:
        total += _align16(2 * (B.DENSE8_ROWS * op.in_shape[2] if B.dense8_rows(op) else int(op.weight.size)))
    if op.pool:
        total += _align16(4 * op.out_shape[1] * op.out_shape[2] * es)
    return total


def _kernel_scratch_bytes(op, dtype):
    if op.type == B.BC_DENSE:
        fn = lib.circnn_bc_dense_f32_scratch_bytes if dtype == "f32" else lib.circnn_bc_dense_q15_scratch_bytes
        return fn(op.in_shape[2], op.out_shape[2], op.block_size)
    if op.type == B.BC_CONV2D:
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
    """The arena the runtime needs (the rule of circnn/model.h, format
    version 5 on): buffers A and B (blob.buffer_bytes), then the scratch."""
    scratch = max(_scratch_bytes(op, dtype, i) for i, op in enumerate(ops))
    return sum(B.buffer_bytes(ops, dtype)) + -(-scratch // 16) * 16
