"""Float64 reference mathematics of block-circulant matrices.

Convention (docs/DESIGN.md): W (m x n) is split into p x q blocks of k x k,
p = ceil(m / k), q = ceil(n / k).  Block (i, j) is circulant and defined by
its first column w[i, j]: W_ij[r, c] = w[i, j][(r - c) mod k].  Inputs are
zero-padded to q * k and outputs cut to m.

The packed spectrum of a length-k real vector stores rfft's k/2 + 1 complex
bins in exactly k reals (see include/circnn/fft.h):
    [Re X0, Re X(k/2), Re X1, Im X1, Re X2, Im X2, ..., Re X(k/2-1), Im X(k/2-1)]
This is the layout the C kernels read.
"""
import numpy as np

from .._native import lib

MIN_BLOCK = lib.CIRCNN_FFT_MIN_SIZE
MAX_BLOCK = lib.CIRCNN_FFT_MAX_SIZE


def blocks(features, block_size):
    """Number of blocks of block_size that cover `features` (ceil division)."""
    return -(-int(features) // int(block_size))


def check_block_size(k):
    """Raise ValueError unless k is a power of two in [2, 1024]."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"block size must be an int, got {type(k).__name__}")
    if k < MIN_BLOCK or k > MAX_BLOCK or (k & (k - 1)) != 0:
        raise ValueError(f"block size must be a power of two from {MIN_BLOCK} to {MAX_BLOCK}, got {k}")
    return int(k)


def pack(spectrum):
    """Complex rfft bins (..., k/2 + 1) -> packed reals (..., k)."""
    spectrum = np.asarray(spectrum)
    half = spectrum.shape[-1] - 1
    k = 2 * half
    out = np.empty(spectrum.shape[:-1] + (k,), dtype=np.float64)
    out[..., 0] = spectrum[..., 0].real
    out[..., 1] = spectrum[..., half].real
    out[..., 2::2] = spectrum[..., 1:half].real
    out[..., 3::2] = spectrum[..., 1:half].imag
    return out


def unpack(packed):
    """Packed reals (..., k) -> complex rfft bins (..., k/2 + 1)."""
    packed = np.asarray(packed, dtype=np.float64)
    k = packed.shape[-1]
    half = k // 2
    out = np.zeros(packed.shape[:-1] + (half + 1,), dtype=np.complex128)
    out[..., 0] = packed[..., 0]
    out[..., half] = packed[..., 1]
    out[..., 1:half] = packed[..., 2::2] + 1j * packed[..., 3::2]
    return out


def to_spectrum(w):
    """Defining vectors (..., k) -> packed spectra (..., k), float64."""
    w = np.asarray(w, dtype=np.float64)
    check_block_size(w.shape[-1])
    return pack(np.fft.rfft(w, axis=-1))


def from_spectrum(s):
    """Packed spectra (..., k) -> defining vectors (..., k), float64."""
    s = np.asarray(s, dtype=np.float64)
    k = check_block_size(s.shape[-1])
    return np.fft.irfft(unpack(s), n=k, axis=-1)


def dense_matrix(w, m, n):
    """The explicit m x n matrix of defining vectors w of shape (p, q, k)."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 3:
        raise ValueError(f"w must have shape (p, q, k), got {w.shape}")
    p, q, k = w.shape
    if p != blocks(m, k) or q != blocks(n, k):
        raise ValueError(f"w of shape {w.shape} does not cover a {m} x {n} matrix with k = {k}: "
                         f"expected ({blocks(m, k)}, {blocks(n, k)}, {k})")
    r = np.arange(k)
    index = (r[:, None] - r[None, :]) % k          # W_ij[r, c] = w_ij[(r - c) mod k]
    full = w[:, :, index]                          # (p, q, k, k)
    return full.transpose(0, 2, 1, 3).reshape(p * k, q * k)[:m, :n]


def matvec(w, x, out_features=None, bias=None):
    """Reference forward y = W x (+ bias) through float64 FFTs.

    w: (p, q, k) defining vectors; x: (..., n) with q = ceil(n / k).
    Returns (..., out_features), out_features defaulting to p * k.
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    p, q, k = w.shape
    n = x.shape[-1]
    if blocks(n, k) != q:
        raise ValueError(f"x has {n} features, w expects {q} blocks of {k}")
    m = p * k if out_features is None else int(out_features)
    xp = np.zeros(x.shape[:-1] + (q * k,))
    xp[..., :n] = x
    xs = np.fft.rfft(xp.reshape(x.shape[:-1] + (q, k)), axis=-1)      # (..., q, k/2+1)
    ws = np.fft.rfft(w, axis=-1)                                       # (p, q, k/2+1)
    ys = np.einsum("pqf,...qf->...pf", ws, xs)
    y = np.fft.irfft(ys, n=k, axis=-1).reshape(x.shape[:-1] + (p * k,))[..., :m]
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64)
    return y


def bc_conv2d_reference(w, x, out_channels, stride=1, padding="same", bias=None, scale=None):
    """Reference block-circulant 2-D convolution in float64, computed explicitly.

    w: (kernel_h, kernel_w, p, q, k) defining vectors, one block-circulant
    in_c x out_c channel matrix per tap (dense_matrix(w[a, b], out_c, in_c));
    x: (B, H, W, in_c) or (H, W, in_c).  padding: "same", "valid" or a
    window.Window (out_h, out_w, pad_top, pad_left).  Output pixel (oy, ox)
    reads input pixel (oy * stride + a - pad_top, ox * stride + b - pad_left)
    through tap (a, b); outside the input is zero.  Returns
    y = scale * (sum over taps of W_ab x) + bias, shape (B, out_h, out_w, out_c)
    (or without B when x had none).
    """
    from .window import Window, window_geometry

    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if w.ndim != 5:
        raise ValueError(f"w must have shape (kernel_h, kernel_w, p, q, k), got {w.shape}")
    single = x.ndim == 3
    if single:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"x must have shape (B, H, W, in_c) or (H, W, in_c), got {x.shape}")
    kh, kw = w.shape[:2]
    batch, in_h, in_w, in_c = x.shape
    m = int(out_channels)
    if isinstance(padding, str):
        geo = window_geometry(in_h, in_w, kh, kw, stride, padding)
    else:
        geo = Window(*padding)
    y = np.zeros((batch, geo.out_h, geo.out_w, m))
    oy = np.arange(geo.out_h) * stride - geo.pad_top
    ox = np.arange(geo.out_w) * stride - geo.pad_left
    for a in range(kh):
        rows = oy + a
        row_ok = (rows >= 0) & (rows < in_h)
        for b in range(kw):
            cols = ox + b
            col_ok = (cols >= 0) & (cols < in_w)
            matrix = dense_matrix(w[a, b], m, in_c)                     # (out_c, in_c)
            ri, ci = np.nonzero(row_ok)[0], np.nonzero(col_ok)[0]
            patch = np.zeros((batch, geo.out_h, geo.out_w, in_c))
            patch[:, ri[:, None], ci[None, :]] = x[:, rows[ri][:, None], cols[ci][None, :]]
            y += patch @ matrix.T
    if scale is not None:
        y = y * np.asarray(scale, dtype=np.float64)
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64)
    return y[0] if single else y
