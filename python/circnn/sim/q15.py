"""Bit-exact numpy simulator of circnn's q15 kernels, vectorised over a batch.

Each function performs the integer operations of its C twin in the same
order (src/fft_q15.c, src/bc_dense_q15.c; the contracts are in
include/circnn/fft.h and include/circnn/bc_dense.h), in int64 numpy arrays
whose values never leave the int32 range where the C uses int32.  A leading
batch shape is allowed everywhere; per-row decisions (block floating point
shifts) are arrays over that shape.
"""
import numpy as np

from .._native import lib
from ..nn.circulant import blocks, check_block_size

BIAS_FRAC_BITS = lib.CIRCNN_Q15_BIAS_FRAC_BITS
INT16_MIN, INT16_MAX = -32768, 32767

# Largest bit length of |z|^2 (z any complex word entering a step) for which
# the step may use each shift; include/circnn/fft.h derives them.
RADIX4_LIMITS = (26, 28, 29)   # shift 0, 1, 2; else 3
RADIX2_LIMIT = 28              # shift 0; else 1
SPLIT_LIMITS = (28, 30)        # shift 0, 1; else 2
TWIDDLE_RADIUS = 32767


def _cos_table():
    """The q15 cosines of src/gen_twiddle.py's rule: round(32767 cos(2 pi u / 1024)), u = 0..256,
    then entry u or 256 - u lowered until (u, 256 - u) lies within 32767 of 0 (src/twiddle.c
    stores (cos, sin) = (t[u], t[256 - u]) for u = 0..128)."""
    angles = 2.0 * np.pi * np.arange(257) / 1024.0
    cos = np.cos(angles)
    cos[256] = 0.0
    t = [int(v) for v in np.rint(cos * TWIDDLE_RADIUS)]
    for a in range(129):
        b = 256 - a
        while t[a] * t[a] + t[b] * t[b] > TWIDDLE_RADIUS * TWIDDLE_RADIUS:
            if t[a] >= t[b]:
                t[a] -= 1
            else:
                t[b] -= 1
    return np.array(t, dtype=np.int64)


COS_Q15 = _cos_table()


def twiddle_q15(t):
    """q15 cos and sin of 2 pi t / 1024 (radius <= 32767) for 0 <= t < 768."""
    t = np.asarray(t, dtype=np.int64)
    q0, q1 = t <= 256, (t > 256) & (t <= 512)
    c = np.where(q0, COS_Q15[np.clip(t, 0, 256)],
                 np.where(q1, -COS_Q15[np.clip(512 - t, 0, 256)], -COS_Q15[np.clip(t - 512, 0, 256)]))
    s = np.where(q0, COS_Q15[np.clip(256 - t, 0, 256)],
                 np.where(q1, COS_Q15[np.clip(t - 256, 0, 256)], -COS_Q15[np.clip(768 - t, 0, 256)]))
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


# ---------------------------------------------------------------------------
# q15 real FFT.  z arrays are (B, m, 2) int64: m complex words (re, im) per row.

def _bits_sq(z):
    """Per row: the bit length of the largest |z|^2 = re^2 + im^2 (the OR of them all)."""
    sq = (z[..., 0] * z[..., 0] + z[..., 1] * z[..., 1]).reshape(z.shape[0], -1)
    return np.frexp(sq.max(axis=1).astype(np.float64))[1].astype(np.int64)


def _shift_from(bits, limits):
    return np.searchsorted(np.asarray(limits), bits, side="left")


def _by_shift(z, shifts, step):
    """Apply step(rows, s) to the rows of z grouped by their shift s."""
    out = np.empty_like(z)
    for s in np.unique(shifts):
        rows = shifts == s
        out[rows] = step(z[rows], int(s))
    return out


def _radix4(z, length, s, inverse):
    """One radix-4 decimation-in-frequency stage, groups of `length`, shift s."""
    b_, m, _ = z.shape
    q4 = length // 4
    zz = z.reshape(b_, m // length, 4, q4, 2)
    a, b, c, d = zz[:, :, 0], zz[:, :, 1], zz[:, :, 2], zz[:, :, 3]
    h1 = 1 if s >= 2 else 0
    p, q, r, u = (a + c) >> h1, (a - c) >> h1, (b + d) >> h1, (b - d) >> h1
    out = np.empty_like(zz)
    out[:, :, 0] = (p + r) >> (s - h1)
    qr, qi, ur, ui = q[..., 0], q[..., 1], u[..., 0], u[..., 1]
    if inverse:   # q + iu, q - iu
        y1, y3 = (qr - ui, qi + ur), (qr + ui, qi - ur)
    else:         # q - iu, q + iu
        y1, y3 = (qr + ui, qi - ur), (qr - ui, qi + ur)
    y2 = (p[..., 0] - r[..., 0], p[..., 1] - r[..., 1])
    h2 = 1 if s == 3 else 0
    k = 15 if s == 0 else 16
    j = np.arange(q4)
    for pos, (yr, yi), mult in ((1, y2, 2), (2, y1, 1), (3, y3, 3)):
        yr, yi = yr >> h2, yi >> h2
        c, sn = twiddle_q15(mult * j * (1024 // length))
        if inverse:
            tr, ti = yr * c - yi * sn, yi * c + yr * sn
        else:
            tr, ti = yr * c + yi * sn, yi * c - yr * sn
        tr, ti = (tr + (1 << (k - 1))) >> k, (ti + (1 << (k - 1))) >> k
        # j = 0: the twiddle 1 is exact, the shift a floor
        tr[..., 0], ti[..., 0] = yr[..., 0] >> (k - 15), yi[..., 0] >> (k - 15)
        out[:, :, pos, :, 0], out[:, :, pos, :, 1] = tr, ti
    return out.reshape(b_, m, 2)


def _radix2(z, s):
    """The last stage when log2(m) is odd: radix 2, twiddle 1."""
    b_, m, _ = z.shape
    zz = z.reshape(b_, m // 2, 2, 2)
    a, b = zz[:, :, 0], zz[:, :, 1]
    return np.stack([(a + b) >> s, (a - b) >> s], axis=2).reshape(b_, m, 2)


def _bit_reverse_perm(m):
    bits = int(m).bit_length() - 1
    idx = np.arange(m)
    rev = np.zeros(m, dtype=np.int64)
    for b in range(bits):
        rev |= ((idx >> b) & 1) << (bits - 1 - b)
    return rev


def _complex_fft(z, inverse, bits):
    """Radix-4 DIF stages (a radix-2 one last when log2 m is odd), then the
    bit reversal: natural order in and out.  bits: _bits_sq of z."""
    m = z.shape[1]
    exponent = np.zeros(z.shape[0], dtype=np.int64)
    length = m
    while length >= 4:
        shifts = _shift_from(bits, RADIX4_LIMITS)
        z = _by_shift(z, shifts, lambda rows, s, n=length: _radix4(rows, n, s, inverse))
        exponent += shifts
        bits = _bits_sq(z)
        length //= 4
    if length == 2:
        shifts = _shift_from(bits, (RADIX2_LIMIT,))
        z = _by_shift(z, shifts, _radix2)
        exponent += shifts
        bits = _bits_sq(z)
    if m > 2:
        z = z[:, _bit_reverse_perm(m), :]
    return z, exponent, bits


def _split(z, n, bits, inverse):
    """Forward: Z (the m-point FFT of the pairs) -> the packed real spectrum X;
    inverse: X -> Z.  One rounding per output from exact int32 sums."""
    shifts = _shift_from(bits, SPLIT_LIMITS)

    def step(v, s):
        m = v.shape[1]
        out = np.empty_like(v)
        x0, x1 = v[:, 0, 0], v[:, 0, 1]
        t = s + 1 if inverse else s
        out[:, 0, 0], out[:, 0, 1] = (x0 + x1) >> t, (x0 - x1) >> t
        if m >= 2:
            h = m // 2
            out[:, h, 0], out[:, h, 1] = v[:, h, 0] >> s, (-v[:, h, 1]) >> s
        if m >= 4:
            k = np.arange(1, m // 2)
            c, sn = twiddle_q15(k * (1024 // n))
            br, bi = ((32767 + sn) >> 1) + 1, c >> 1   # A + B = 1 exactly
            ar, ai = 32768 - br, -bi
            h = 1 if s == 2 else 0                     # shift 2: halve first, then as 1
            zr, zi, mr, mi = (v[:, k, 0] >> h, v[:, k, 1] >> h, v[:, m - k, 0] >> h, v[:, m - k, 1] >> h)
            if inverse:   # Z[k] = X[k] A* + X[m-k]* B*,  Z[m-k] = X[m-k] A + X[k]* B
                sums = (zr * ar + zi * ai + mr * br - mi * bi, zi * ar - zr * ai - mr * bi - mi * br,
                        mr * ar - mi * ai + zr * br + zi * bi, mr * ai + mi * ar + zr * bi - zi * br)
            else:         # X[k] = Z[k] A + Z[m-k]* B,  X[m-k] = Z[m-k] A* + Z[k]* B*
                sums = (zr * ar - zi * ai + mr * br + mi * bi, zr * ai + zi * ar + mr * bi - mi * br,
                        mr * ar + mi * ai + zr * br - zi * bi, mi * ar - mr * ai - zr * bi - zi * br)
            rs = [(v_ + (1 << (14 + s - h))) >> (15 + s - h) for v_ in sums]
            out[:, k, 0], out[:, k, 1], out[:, m - k, 0], out[:, m - k, 1] = rs
        return out

    return _by_shift(z, shifts, step), shifts


def _normalise(rows):
    """rows (B, n) -> (rows * 2^s0, s0, bits): the largest s0 in [0, 15] with
    |z| * 2^s0 < 2^15 for every pair z; bits: _bits_sq of the result."""
    z = rows.reshape(rows.shape[0], -1, 2)
    bits = _bits_sq(z)
    s0 = np.clip((30 - bits) >> 1, 0, 15)
    return rows << s0[:, None], s0, np.where(bits > 0, bits + 2 * s0, 0)


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
    v, s0, bits = _normalise(rows)
    z, e_stages, bits = _complex_fft(v.reshape(-1, m, 2), False, bits)
    z, e_split = _split(z, n, bits, inverse=False)
    exponent = -s0 + e_stages + e_split
    return z.reshape(lead + (n,)).astype(np.int16), exponent.reshape(lead).astype(np.int32)


def irfft_q15(spectrum):
    """Inverse q15 real FFT of packed mantissas (..., n) int16 -> (int16 (..., n), exponent (...))."""
    rows, lead, n = _as_rows(spectrum, "spectrum")
    m = n // 2
    v, s0, bits = _normalise(rows)
    z, e_split = _split(v.reshape(-1, m, 2), n, bits, inverse=True)
    z, e_stages, _ = _complex_fft(z, True, _bits_sq(z))
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
