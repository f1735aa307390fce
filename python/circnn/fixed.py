"""Bit-exact numpy simulator of circnn's q15 kernels, vectorised over a batch.

Each function performs the integer operations of its C twin in the same
order (src/fft_q15.c, src/bc_dense_q15.c; the contracts are in
include/circnn/fft.h and include/circnn/bc_dense.h), in int64 numpy arrays
whose values never leave the int32 range where the C uses int32.  A leading
batch shape is allowed everywhere; per-row decisions (block floating point
shifts) are arrays over that shape.
"""
import numpy as np

from .circulant import blocks, check_block_size

STAGE_LIMIT_0 = 13568   # largest part a stage passes unscaled
STAGE_LIMIT_1 = 27136   # largest part a stage passes halved
BIAS_FRAC_BITS = 16     # CIRCNN_Q15_BIAS_FRAC_BITS
INT16_MIN, INT16_MAX = -32768, 32767


def _cos_table():
    angles = 2.0 * np.pi * np.arange(257) / 1024.0
    cos = np.cos(angles)
    cos[256] = 0.0
    return np.rint(cos * 32768.0).astype(np.int64)


COS_Q15 = _cos_table()


def twiddle_q15(t):
    """cos and sin of 2 pi t / 1024 in q15 (1.0 = 32768) for 0 <= t < 512."""
    t = np.asarray(t, dtype=np.int64)
    low = t <= 256
    c = np.where(low, COS_Q15[np.minimum(t, 256)], -COS_Q15[np.clip(512 - t, 0, 256)])
    s = np.where(low, COS_Q15[np.clip(256 - t, 0, 256)], COS_Q15[np.clip(t - 256, 0, 256)])
    return c, s


def sat16(v):
    return np.clip(v, INT16_MIN, INT16_MAX)


def rshift_round(v, r):
    """round(v / 2^r) half up, for r >= 1 (scalar or broadcastable array)."""
    r = np.asarray(r, dtype=np.int64)
    return (v + np.left_shift(np.int64(1), r - 1)) >> r


def quantize(x, frac_bits=15):
    """Float -> int16: round(x * 2^frac_bits) half up, saturated.

    This is the rounding of the C code (add one half, floor), not numpy's
    round-half-to-even.  NaN and infinities are refused.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("cannot quantize NaN or infinite values")
    return sat16(np.floor(x * 2.0 ** frac_bits + 0.5)).astype(np.int16)


def _stage_shift(largest):
    return np.where(largest <= STAGE_LIMIT_0, 0, np.where(largest <= STAGE_LIMIT_1, 1, 2))


def _row_max(v):
    """Largest |value| per row of a (B, ...) array -> (B,)."""
    return np.abs(v.reshape(v.shape[0], -1)).max(axis=1)


def _normalise(v):
    """The input step: v * 2^s0 with the largest s0 in [0, 15] keeping |v| <= 32767."""
    largest = _row_max(v)
    s0 = np.zeros_like(largest)
    for s in range(1, 16):
        s0 = np.where((largest << s) <= INT16_MAX, s, s0)
    s0 = np.where(largest == 0, 15, s0)
    return v << s0.reshape((-1,) + (1,) * (v.ndim - 1)), s0, largest << s0


def _bit_reverse_perm(m):
    bits = int(m).bit_length() - 1
    idx = np.arange(m)
    rev = np.zeros(m, dtype=np.int64)
    for b in range(bits):
        rev |= ((idx >> b) & 1) << (bits - 1 - b)
    return rev


def _complex_stages(z, inverse, largest):
    """Radix-2 DIT stages on z (B, m, 2) in bit-reversed order."""
    batch, m, _ = z.shape
    exponent = np.zeros(batch, dtype=np.int64)
    length = 2
    while length <= m:
        half = length // 2
        shift = _stage_shift(largest)
        exponent += shift
        r = (14 + shift).reshape(batch, 1, 1)
        c, s = twiddle_q15(np.arange(half) * (1024 // length))
        wr, wi = c, (s if inverse else -s)
        zz = z.reshape(batch, m // length, 2, half, 2)
        ar, ai = zz[:, :, 0, :, 0], zz[:, :, 0, :, 1]
        br, bi = zz[:, :, 1, :, 0], zz[:, :, 1, :, 1]
        tr = ((wr * br) >> 1) - ((wi * bi) >> 1)
        ti = ((wr * bi) >> 1) + ((wi * br) >> 1)
        ar, ai = ar * 16384, ai * 16384
        out = np.empty_like(zz)
        out[:, :, 0, :, 0] = sat16(rshift_round(ar + tr, r))
        out[:, :, 0, :, 1] = sat16(rshift_round(ai + ti, r))
        out[:, :, 1, :, 0] = sat16(rshift_round(ar - tr, r))
        out[:, :, 1, :, 1] = sat16(rshift_round(ai - ti, r))
        z = out.reshape(batch, m, 2)
        largest = _row_max(z)
        length *= 2
    return z, exponent, largest


def _split(z, n, largest, inverse):
    """split_forward / split_inverse of src/fft_q15.c on z (B, m, 2)."""
    batch, m, _ = z.shape
    shift = _stage_shift(largest)
    r = (14 + shift).reshape(batch, 1)
    out = np.empty_like(z)
    z0r, z0i = z[:, 0, 0], z[:, 0, 1]
    if inverse:
        first = np.stack([(z0r + z0i) * 8192, (z0r - z0i) * 8192], axis=1)
    else:
        first = np.stack([(z0r + z0i) * 16384, (z0r - z0i) * 16384], axis=1)
    out[:, 0, :] = sat16(rshift_round(first, r))
    if m >= 2:
        h = m // 2
        mid = np.stack([z[:, h, 0] * 16384, -z[:, h, 1] * 16384], axis=1)
        out[:, h, :] = sat16(rshift_round(mid, r))
    if m >= 4:
        k = np.arange(1, m // 2)
        c, s = twiddle_q15(k * (1024 // n))
        zk, zm = z[:, k, :], z[:, m - k, :]
        er, ei = zk[..., 0] + zm[..., 0], zk[..., 1] - zm[..., 1]
        dr, di = zk[..., 0] - zm[..., 0], zk[..., 1] + zm[..., 1]
        if inverse:   # dr, di are P; the results are Q
            pr = -((s * dr) >> 2) - ((c * di) >> 2)
            pi = ((c * dr) >> 2) - ((s * di) >> 2)
        else:
            pr = ((c * di) >> 2) - ((s * dr) >> 2)
            pi = -((c * dr) >> 2) - ((s * di) >> 2)
        out[:, k, 0] = sat16(rshift_round(er * 8192 + pr, r))
        out[:, k, 1] = sat16(rshift_round(ei * 8192 + pi, r))
        out[:, m - k, 0] = sat16(rshift_round(er * 8192 - pr, r))
        out[:, m - k, 1] = sat16(rshift_round(pi - ei * 8192, r))
    return out, shift, _row_max(out)


def _as_rows(x, name):
    x = np.asarray(x)
    if x.dtype != np.int16:
        raise TypeError(f"{name} must be int16, got {x.dtype}")
    n = x.shape[-1] if x.ndim else 0
    check_block_size(n)
    return x.reshape(-1, n).astype(np.int64), x.shape[:-1], n


def rfft_q15(x):
    """Forward q15 real FFT of x (..., n) int16 -> (packed int16 (..., n), exponent int32 (...))."""
    rows, lead, n = _as_rows(x, "x")
    m = n // 2
    v, s0, largest = _normalise(rows)
    z = v.reshape(-1, m, 2)[:, _bit_reverse_perm(m), :]
    z, e_stages, largest = _complex_stages(z, False, largest)
    z, e_split, _ = _split(z, n, largest, inverse=False)
    exponent = -s0 + e_stages + e_split
    return z.reshape(lead + (n,)).astype(np.int16), exponent.reshape(lead).astype(np.int32)


def irfft_q15(spectrum):
    """Inverse q15 real FFT of packed mantissas (..., n) int16 -> (int16 (..., n), exponent (...))."""
    rows, lead, n = _as_rows(spectrum, "spectrum")
    m = n // 2
    v, s0, largest = _normalise(rows)
    z, e_split, largest = _split(v.reshape(-1, m, 2), n, largest, inverse=True)
    z = z[:, _bit_reverse_perm(m), :]
    z, e_stages, _ = _complex_stages(z, True, largest)
    exponent = -s0 + e_split + e_stages - (m.bit_length() - 1)
    return z.reshape(lead + (n,)).astype(np.int16), exponent.reshape(lead).astype(np.int32)


def spectral_sums(weight, spectra):
    """Step 3 of the circulant layers: for packed spectra weight (p, q, k) and
    spectra (N, q, k), the exact sums over q of the complex products -> (N, p, k) int64.

    Computed as float64 matrix products (BLAS), which are exact here: every
    product is an integer of magnitude <= 2^30 and a sum holds q <= 2^15 of
    them, so every partial sum is an integer below 2^53.
    """
    w = np.asarray(weight, dtype=np.float64).transpose(2, 0, 1)          # (k, p, q)
    x = np.asarray(spectra, dtype=np.float64).transpose(2, 1, 0)         # (k, q, N)
    if w.shape[2] > 1 << 15:
        raise ValueError("more than 2^15 input blocks: float64 sums would not be exact")
    real = np.empty((w.shape[0], w.shape[1], x.shape[2]), dtype=np.int64)   # (k, p, N)
    real[:2] = np.rint(w[:2] @ x[:2])
    wr, wi, xr, xi = w[2::2], w[3::2], x[2::2], x[3::2]
    real[2::2] = np.rint(wr @ xr).astype(np.int64) - np.rint(wi @ xi).astype(np.int64)
    real[3::2] = np.rint(wr @ xi).astype(np.int64) + np.rint(wi @ xr).astype(np.int64)
    return real.transpose(2, 1, 0)


def _to_q15(acc):
    """Step 4 of bc_dense_q15: int64 sums (B, k) -> (int16 (B, k), r (B,)).

    Uses Python integers for the bit length so no value can overflow int64.
    """
    largest = np.abs(acc).max(axis=1)
    bits = np.array([int(v).bit_length() for v in largest], dtype=np.int64)
    r = (bits - 15).reshape(-1, 1)
    right = rshift_round(acc, np.maximum(r, 1))
    left = acc << np.maximum(-r, 0)
    return sat16(np.where(r > 0, right, left)), r[:, 0]


def bc_dense_q15(weight, weight_exp, x, out_features, bias=None, relu=False):
    """Bit-exact twin of circnn_bc_dense_q15.

    weight: (p, q, k) int16 packed spectrum mantissas; weight_exp: int;
    x: (..., n) int16; bias: (m,) int32 with 16 fraction bits, or None.
    Returns (..., out_features) int16.
    """
    weight = np.asarray(weight)
    if weight.dtype != np.int16 or weight.ndim != 3:
        raise TypeError(f"weight must be an int16 array of shape (p, q, k), got {weight.dtype} {weight.shape}")
    p, q, k = weight.shape
    check_block_size(k)
    x = np.asarray(x)
    if x.dtype != np.int16:
        raise TypeError(f"x must be int16, got {x.dtype}")
    n = x.shape[-1]
    m = int(out_features)
    if blocks(n, k) != q or blocks(m, k) != p:
        raise ValueError(f"weight shape {weight.shape} does not fit {n} inputs and {m} outputs with k = {k}")
    lead = x.shape[:-1]
    rows = x.reshape(-1, n)
    batch = rows.shape[0]
    xp = np.zeros((batch, q * k), dtype=np.int16)
    xp[:, :n] = rows
    # Steps 1 and 2.
    spectra, exps = rfft_q15(xp.reshape(batch, q, k))
    spectra = spectra.astype(np.int64)
    e_max = exps.max(axis=1).astype(np.int64)
    shift = (e_max[:, None] - exps).astype(np.int64)[..., None]
    aligned = np.where(shift >= 16, 0, rshift_round(spectra, np.clip(shift, 1, 16)))
    spectra = np.where(shift == 0, spectra, aligned)
    # Step 3: exact complex products summed over j.
    w = weight.astype(np.int64)
    acc = spectral_sums(w, spectra)
    # Steps 4 and 5.
    v, r = _to_q15(acc.reshape(batch * p, k))
    a, d = irfft_q15(v.astype(np.int16))
    f = (int(weight_exp) + np.repeat(e_max, p) + r + d).reshape(batch, p, 1)
    a = a.astype(np.int64).reshape(batch, p, k)
    # Step 6.
    exps = np.broadcast_to(f, (batch, p, k)).reshape(batch, p * k)[:, :m]
    a = a.reshape(batch, p * k)[:, :m]
    if bias is None:
        bias = np.zeros(m, dtype=np.int32)
    bias = np.asarray(bias)
    if bias.dtype != np.int32 or bias.shape != (m,):
        raise TypeError(f"bias must be int32 of shape ({m},), got {bias.dtype} {bias.shape}")
    y = requant_q15(a, exps, bias)
    if relu:
        y = np.maximum(y, 0)
    return y.astype(np.int16).reshape(lead + (m,))


def requant_q15(v, e, bias=0):
    """Twin of circnn_requant_q15: sat16(round_half_up(v * 2^e + bias / 2^16)), elementwise.

    v: int64 array (exact accumulators); e: int or int array; bias: int32 (16 fraction bits).
    Uses Python integers where an int64 could overflow, exactly as the C saturates.
    """
    v = np.asarray(v, dtype=np.int64)
    u = np.asarray(e, dtype=np.int64) + BIAS_FRAC_BITS
    bias = np.asarray(bias, dtype=np.int64)
    if np.all(u < 0):      # the usual case: only the right shift
        t = v >> np.minimum(-u, 63)
        return sat16(rshift_round(t + bias, BIAS_FRAC_BITS)).astype(np.int16)
    u, v = np.broadcast_arrays(u, v)
    limit = 1 << 62
    up = np.minimum(np.maximum(u, 0), 62)
    bound = np.right_shift(np.int64(limit), up)
    safe = np.where(np.abs(v) < bound, v, 0) << up
    t_up = np.where(v >= bound, limit, np.where(v <= -bound, -limit, safe))
    t_down = v >> np.minimum(np.maximum(-u, 0), 63)
    t = np.where(u >= 0, t_up, t_down)
    return sat16(rshift_round(t + bias, BIAS_FRAC_BITS)).astype(np.int16)
