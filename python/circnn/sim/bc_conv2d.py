"""Bit-exact numpy twin of circnn_bc_conv2d_q15 (src/bc_conv2d_q15.c), vectorised over a batch.

The contract is include/circnn/bc_conv2d.h: the steps of bc_dense_q15
(circnn.sim.q15.bc_dense_q15) with the input spectra of every pixel aligned to
one exponent, the spectral sums taken over the kernel taps that read a pixel
inside the input too, and an optional per-channel scale before the output
stage.  Spatial zero padding is applied to the aligned spectra, where a zero
pixel adds exactly nothing to the int64 sums; so the sums equal the C's,
which skips those taps.
"""
import numpy as np

from . import q15 as fixed
from ..nn.circulant import blocks, check_block_size

EXP_LIMIT = 128   # the C clamps the output stage's exponent to +-128 (changes no result)


def _bit_length(v):
    """Bit length of non-negative int64 values, elementwise."""
    v = np.asarray(v, dtype=np.int64)
    bits = np.zeros(v.shape, dtype=np.int64)
    for s in range(63):
        bits += (v >> s) != 0
    return bits


def _to_q15(acc):
    """Step 4 (bc_dense's): int64 sums (N, k) -> (int16 (N, k), r (N,)), vectorised."""
    r = (_bit_length(np.abs(acc).max(axis=1)) - 15).reshape(-1, 1)
    right = fixed.rshift_round(acc, np.maximum(r, 1))
    left = acc << np.maximum(-r, 0)
    return fixed.sat16(np.where(r > 0, right, left)).astype(np.int16), r[:, 0]


def _int_param(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {limit}, got {value}")
    return int(value)


def _spectral_sums(weight, spectra, stride, out_h, out_w):
    """Step 3: exact int64 sums over taps and input blocks.

    weight (kh, kw, p, q, k) int64; spectra (B, Hp, Wp, q, k) int64, spatially
    padded so that output pixel (oy, ox) reads padded pixel
    (oy * stride + a, ox * stride + b).  Returns (B, out_h, out_w, p, k).
    """
    kh, kw, p, q, k = weight.shape
    batch = spectra.shape[0]
    acc = np.zeros((batch, out_h, out_w, p, k), dtype=np.int64)
    for a in range(kh):
        for b in range(kw):
            xs = spectra[:, a:a + (out_h - 1) * stride + 1:stride, b:b + (out_w - 1) * stride + 1:stride]
            sums = fixed.spectral_sums(weight[a, b], xs.reshape(-1, q, k))
            acc += sums.reshape(batch, out_h, out_w, p, k)
    return acc


def bc_conv2d_q15(weight, weight_exp, x, out_channels, stride, pad_top, pad_left, out_h, out_w,
                  bias=None, scale=None, scale_exp=0, relu=False):
    """Bit-exact twin of circnn_bc_conv2d_q15.

    weight: (kernel_h, kernel_w, p, q, k) int16 packed spectrum mantissas,
    spectrum = weight * 2^weight_exp; x: (B, H, W, in_c) or (H, W, in_c)
    int16; bias: (out_channels,) int32 with 16 fraction bits, or None;
    scale: (out_channels,) int16 mantissas of scale * 2^-scale_exp, or None.
    The geometry is that of circnn_window_t: output pixel (oy, ox) reads
    input pixel (oy * stride + a - pad_top, ox * stride + b - pad_left).
    Returns (B, out_h, out_w, out_channels) int16 (no B if x had none).
    """
    weight = np.asarray(weight)
    if weight.dtype != np.int16 or weight.ndim != 5:
        raise TypeError("weight must be an int16 array of shape (kernel_h, kernel_w, p, q, k), "
                        f"got {weight.dtype} {weight.shape}")
    kh, kw, p, q, k = weight.shape
    check_block_size(k)
    x = np.asarray(x)
    if x.dtype != np.int16:
        raise TypeError(f"x must be int16, got {x.dtype}")
    single = x.ndim == 3
    if single:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"x must have shape (B, H, W, in_c) or (H, W, in_c), got {x.shape}")
    batch, in_h, in_w, in_c = x.shape
    m = _int_param(out_channels, "out_channels", 1)
    stride = _int_param(stride, "stride", 1)
    pad_top = _int_param(pad_top, "pad_top", 0)
    pad_left = _int_param(pad_left, "pad_left", 0)
    out_h = _int_param(out_h, "out_h", 1)
    out_w = _int_param(out_w, "out_w", 1)
    if blocks(in_c, k) != q or blocks(m, k) != p:
        raise ValueError(f"weight shape {weight.shape} does not fit {in_c} input and {m} output channels "
                         f"with k = {k}: expected (..., {blocks(m, k)}, {blocks(in_c, k)}, {k})")
    if bias is not None:
        bias = np.asarray(bias)
        if bias.dtype != np.int32 or bias.shape != (m,):
            raise TypeError(f"bias must be int32 of shape ({m},), got {bias.dtype} {bias.shape}")
    if scale is not None:
        scale = np.asarray(scale)
        if scale.dtype != np.int16 or scale.shape != (m,):
            raise TypeError(f"scale must be int16 of shape ({m},), got {scale.dtype} {scale.shape}")

    # Steps 1 and 2: every pixel's blocks, aligned to one exponent per sample.
    xp = np.zeros((batch, in_h, in_w, q * k), dtype=np.int16)
    xp[..., :in_c] = x
    spectra, exps = fixed.rfft_q15(xp.reshape(batch, in_h, in_w, q, k))
    spectra = spectra.astype(np.int64)
    e_max = exps.reshape(batch, -1).max(axis=1).astype(np.int64)
    shift = (e_max[:, None, None, None] - exps).astype(np.int64)[..., None]
    aligned = np.where(shift >= 16, 0, fixed.rshift_round(spectra, np.clip(shift, 1, 16)))
    spectra = np.where(shift == 0, spectra, aligned)

    # Spatial zero padding, then step 3.
    bottom = max(0, (out_h - 1) * stride + kh - pad_top - in_h)
    right = max(0, (out_w - 1) * stride + kw - pad_left - in_w)
    padded = np.zeros((batch, pad_top + in_h + bottom, pad_left + in_w + right, q, k), dtype=np.int64)
    padded[:, pad_top:pad_top + in_h, pad_left:pad_left + in_w] = spectra
    acc = _spectral_sums(weight.astype(np.int64), padded, stride, out_h, out_w)

    # Steps 4 and 5.
    v, r = _to_q15(acc.reshape(-1, k))
    a, d = fixed.irfft_q15(v)
    f = (int(weight_exp) + (int(scale_exp) if scale is not None else 0)
         + np.repeat(e_max, out_h * out_w * p) + r + d.astype(np.int64))
    f = np.clip(f, -EXP_LIMIT, EXP_LIMIT).reshape(batch, out_h, out_w, p, 1)

    # Step 6.
    a = a.astype(np.int64).reshape(batch, out_h, out_w, p * k)[..., :m]
    f = np.broadcast_to(f, (batch, out_h, out_w, p, k)).reshape(batch, out_h, out_w, p * k)[..., :m]
    if scale is not None:
        a = a * scale.astype(np.int64)
    y = fixed.requant_q15(a, f, np.zeros(m, dtype=np.int64) if bias is None else bias.astype(np.int64))
    if relu:
        y = np.maximum(y, 0)
    y = y.astype(np.int16)
    return y[0] if single else y
