"""Real FFTs: the C kernels against float64 numpy, and q15 C against the simulator bit for bit."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from circnn import circulant, fixed, kernels
from conftest import snr_db

SIZES = [2 ** e for e in range(1, 11)]
Q15_SIZES = [2 ** e for e in range(3, 11)]


def dequantized(packed, exponent):
    return circulant.unpack(packed.astype(np.float64) * np.exp2(exponent.astype(np.float64))[..., None])


@pytest.mark.parametrize("n", SIZES)
def test_f32_rfft_and_irfft_against_float64(rng, n):
    x = rng.standard_normal((8, n)).astype(np.float32).astype(np.float64)
    X = np.fft.rfft(x)
    got = kernels.rfft(x, dtype="f32")
    err = np.sqrt(np.mean(np.abs(got - X) ** 2) / np.mean(np.abs(X) ** 2))
    assert err <= 1e-6, f"n={n}: normalised RMS error {err:.2e}"
    Xr = X.astype(np.complex64).astype(np.complex128)
    back = kernels.irfft(Xr, dtype="f32")
    ref = np.fft.irfft(Xr, n=n)
    err = np.sqrt(np.mean((back - ref) ** 2) / np.mean(ref ** 2))
    assert err <= 1e-6, f"n={n}: inverse normalised RMS error {err:.2e}"


def test_q15_twiddle_table_is_the_c_table_within_radius():
    import pathlib
    import re
    text = (pathlib.Path(__file__).resolve().parents[1] / "src" / "twiddle.c").read_text()
    block = text[text.index("circnn_twiddle_pairs_q15"):]
    block = block[:block.index("};")]
    # one table per circle C (the largest transform size compiled in): every (1024/C)-th word of C = 1024's
    tables = {int(c): [int(v, 16) for v in re.findall(r"0x([0-9a-f]{8})u,", body)]
              for c, body in re.findall(r"#(?:el)?if CIRCNN_TWIDDLE_Q15_CIRCLE == (\d+)u\n(.*?)(?=\n#)", block, re.S)}
    assert sorted(tables) == [8, 16, 32, 64, 128, 256, 512, 1024]
    words = tables[1024]
    assert len(words) == 129
    for c, t in tables.items():
        assert t == words[::1024 // c], c
    np.testing.assert_array_equal([w & 0xFFFF for w in words], fixed.COS_Q15[:129])        # cos of t
    np.testing.assert_array_equal([w >> 16 for w in words], fixed.COS_Q15[256:127:-1])     # sin of t
    c, s = fixed.twiddle_q15(np.arange(768))
    assert (c * c + s * s).max() <= 32767 ** 2     # fft.h's stage bounds rely on it
    angle = 2 * np.pi * np.arange(768) / 1024
    assert np.abs(c - 32767 * np.cos(angle)).max() <= 1.5 and np.abs(s - 32767 * np.sin(angle)).max() <= 1.5


def q15_snr_row(rng, n, trials=16):
    full = rng.integers(-32768, 32768, size=(trials, n)).astype(np.int16)
    quiet = rng.integers(-512, 513, size=(trials, n)).astype(np.int16)
    row = {}
    for name, x in (("full", full), ("quiet", quiet)):
        spectrum, e = kernels.rfft_q15(x)
        row[name] = snr_db(np.fft.rfft(x.astype(np.float64)), dequantized(spectrum, e))
    spectrum, e = kernels.rfft_q15(full)
    back, d = kernels.irfft_q15(spectrum)
    row["round trip"] = snr_db(full.astype(np.float64), back * np.exp2((e + d).astype(np.float64))[:, None])
    return row


def test_q15_snr_table(rng, capsys):
    """Forward >= 65 dB full scale and >= 50 dB at 1/64; forward-inverse >= 60 dB (n = 8..1024)."""
    rows = {n: q15_snr_row(rng, n) for n in Q15_SIZES}
    with capsys.disabled():
        print("\nq15 real FFT SNR against float64 (dB), 16 random vectors per size")
        print(f"{'n':>6} {'forward full':>13} {'forward 1/64':>13} {'fwd+inverse':>12}")
        for n, row in rows.items():
            print(f"{n:>6} {row['full']:>13.1f} {row['quiet']:>13.1f} {row['round trip']:>12.1f}")
    for n, row in rows.items():
        assert row["full"] >= 65.0, (n, row)
        assert row["quiet"] >= 50.0, (n, row)
        assert row["round trip"] >= 60.0, (n, row)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("pattern", ["max", "min", "alternating", "impulse"])
def test_q15_saturating_inputs(n, pattern):
    x = {"max": np.full(n, 32767), "min": np.full(n, -32768),
         "alternating": np.where(np.arange(n) % 2 == 0, 32767, -32768),
         "impulse": np.eye(1, n, 0)[0] * -32768}[pattern].astype(np.int16)[None, :]
    spectrum, e = kernels.rfft_q15(x)
    sim, se = fixed.rfft_q15(x)
    np.testing.assert_array_equal(spectrum, sim)
    np.testing.assert_array_equal(e, se)
    assert snr_db(np.fft.rfft(x.astype(np.float64)), dequantized(spectrum, e)) >= 60.0
    back, d = kernels.irfft_q15(spectrum)
    assert snr_db(x.astype(np.float64), back * 2.0 ** float(e[0] + d[0])) >= 60.0


def test_q15_small_sizes_exact():
    # n = 2: X0 = x0 + x1, X1 = x0 - x1;  n = 4 by hand.
    s, e = kernels.rfft_q15(np.array([[1000, 200]], dtype=np.int16))
    np.testing.assert_array_equal(s[0] * 2.0 ** e[0], [1200, 800])
    s, e = kernels.rfft_q15(np.array([[1, 2, 3, 4]], dtype=np.int16))
    # X0 = 10, X2 = -2, X1 = -2 + 2i
    np.testing.assert_array_equal(s[0] * 2.0 ** e[0], [10, -2, -2, 2])


def test_q15_zero_input_gives_zero():
    for n in SIZES:
        s, _ = kernels.rfft_q15(np.zeros((1, n), dtype=np.int16))
        assert not s.any()
        x, _ = kernels.irfft_q15(np.zeros((1, n), dtype=np.int16))
        assert not x.any()


def test_float_q15_wrappers_follow_numpy_scale(rng):
    x = rng.uniform(-0.5, 0.5, size=(3, 256))
    assert snr_db(np.fft.rfft(x), kernels.rfft(x, dtype="q15")) >= 60.0
    X = np.fft.rfft(x)
    assert snr_db(x, kernels.irfft(X, dtype="q15")) >= 60.0


@st.composite
def int16_batches(draw):
    n = 2 ** draw(st.integers(1, 10))
    batch = draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["uniform", "quiet", "extremes", "sparse"]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    r = np.random.default_rng(seed)
    if kind == "uniform":
        x = r.integers(-32768, 32768, size=(batch, n))
    elif kind == "quiet":
        amp = int(r.integers(1, 300))
        x = r.integers(-amp, amp + 1, size=(batch, n))
    elif kind == "extremes":
        x = r.choice([-32768, 32767, 0], size=(batch, n))
    else:
        x = np.where(r.random((batch, n)) < 0.05, r.integers(-32768, 32768, size=(batch, n)), 0)
    return x.astype(np.int16)


@settings(max_examples=150, deadline=None)
@given(int16_batches())
def test_q15_rfft_c_matches_simulator_bit_for_bit(x):
    c_out, c_exp = kernels.rfft_q15(x)
    s_out, s_exp = fixed.rfft_q15(x)
    np.testing.assert_array_equal(c_out, s_out)
    np.testing.assert_array_equal(c_exp, s_exp)


@settings(max_examples=150, deadline=None)
@given(int16_batches())
def test_q15_irfft_c_matches_simulator_bit_for_bit(spectrum):
    c_out, c_exp = kernels.irfft_q15(spectrum)
    s_out, s_exp = fixed.irfft_q15(spectrum)
    np.testing.assert_array_equal(c_out, s_out)
    np.testing.assert_array_equal(c_exp, s_exp)


def straight_line_vectors(n, seed=4):
    """int16 rows of n for the written-out transforms (n = 4, 8): every
    combination of edge values (n = 4) or random rows of them (n = 8),
    single nonzero values at every place, all zero, full-scale and quiet
    random rows, constants."""
    r = np.random.default_rng(seed + n)
    edges = np.array([-32768, -32767, -23171, -16385, -16384, -8192, -1, 0, 1, 2, 8191, 16383, 16384, 23170,
                      32767])
    if n == 4:
        grid = np.stack(np.meshgrid(*[edges] * 4, indexing="ij"), -1).reshape(-1, 4)
    else:
        grid = r.choice(edges, (20000, n))
    single = np.zeros((n * len(edges), n), dtype=np.int64)
    single[np.arange(len(single)), np.repeat(np.arange(n), len(edges))] = np.tile(edges, n)
    rows = [grid, single, np.zeros((1, n)), np.full((1, n), 32767), np.full((1, n), -32768),
            r.integers(-32768, 32768, (20000, n)),
            r.integers(-32768, 32768, (20000, n)) >> r.integers(0, 16, (20000, 1))]
    return np.concatenate(rows).astype(np.int16)


@pytest.mark.parametrize("n", [4, 8])
def test_q15_straight_line_sizes_bit_exact(n):
    """circnn_rfft_q15 / circnn_irfft_q15 at n = 4 and 8 (written out in fft_q15.c)
    against the simulator, which runs the general loops' operations (and the
    round trip against float64): edges, single values, zero, random."""
    x = straight_line_vectors(n)
    for c, sim in ((kernels.rfft_q15, fixed.rfft_q15), (kernels.irfft_q15, fixed.irfft_q15)):
        out, e = c(x)
        want, we = sim(x)
        bad = np.flatnonzero((out != want).any(axis=1) | (e != we))
        assert bad.size == 0, (c.__name__, x[bad[:5]], out[bad[:5]], want[bad[:5]], e[bad[:5]], we[bad[:5]])
    zero = np.zeros((1, n), dtype=np.int16)
    assert kernels.rfft_q15(zero)[1][0] == -15 and kernels.irfft_q15(zero)[1][0] == -15 - int(np.log2(n // 2))
    spectrum, e = kernels.rfft_q15(x[-20000:])
    assert snr_db(np.fft.rfft(x[-20000:].astype(np.float64)), dequantized(spectrum, e)) >= 60.0


HOST_FFT = r"""
#include <stdio.h>
#include "circnn/fft.h"

int main(void)
{
    unsigned n;
    int inverse;
    int16_t x[1024], y[1024];
    printf("check");
    for (n = 2; n <= 1024; n *= 2) printf(" %d", (int)circnn_fft_check(n));
    printf("\n");
    while (scanf("%u %d", &n, &inverse) == 2) {
        for (unsigned i = 0; i < n; i++) {
            int v;
            if (scanf("%d", &v) != 1) return 1;
            x[i] = (int16_t)v;
        }
        int32_t e = inverse ? circnn_irfft_q15(x, y, n) : circnn_rfft_q15(x, y, n);
        printf("%ld", (long)e);
        for (unsigned i = 0; i < n; i++) printf(" %d", y[i]);
        printf("\n");
    }
    return 0;
}
"""


@pytest.mark.parametrize("sizes", [4, 8, 12, 4 | 16])
@pytest.mark.parametrize("dsp", [False, True])
def test_q15_transforms_built_with_fft_sizes(tmp_path, sizes, dsp):
    """fft_q15.c, fft_q15_dsp.c and twiddle.c built on the host with
    -DCIRCNN_FFT_SIZES (circnn/config.h), portable and with the DSP code path
    (CIRCNN_DSP_EMULATE, as on M4F): the sizes in the build give the
    simulator's bits, the others are refused; with 4 and 8 alone the general
    transforms and the twiddle table are not linked."""
    import os
    import shutil
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cc = os.environ.get("CC", "cc")
    nm = shutil.which("nm")
    assert nm, "nm (binutils) is needed"
    (tmp_path / "main.c").write_text(HOST_FFT)
    exe = tmp_path / "fft"
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wconversion", f"-DCIRCNN_FFT_SIZES={sizes}",
             "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections"] + (["-DCIRCNN_DSP_EMULATE"] if dsp else [])
    subprocess.run([cc, *flags, "-I", os.path.join(root, "include"), "-I", os.path.join(root, "src"),
                    str(tmp_path / "main.c")] + [os.path.join(root, "src", f) for f in
                                                 ("fft_q15.c", "fft_q15_dsp.c", "twiddle.c")] + ["-o", str(exe)],
                   check=True)
    rows = []
    for n in (2 ** e for e in range(1, 6)):
        if sizes & n:
            x = straight_line_vectors(n, seed=9)[::7] if n in (4, 8) else \
                np.random.default_rng(n).integers(-32768, 32768, (300, n)).astype(np.int16)
            rows.append(x)
    stdin = "".join(f"{x.shape[1]} {inv} " + " ".join(map(str, row)) + "\n"
                    for x in rows for inv in (0, 1) for row in x)
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True).stdout.splitlines()
    checks = [int(v) for v in out[0].split()[1:]]
    ok, disabled = 0, int(fixed.lib.CIRCNN_ERR_DISABLED)
    assert checks == [ok if sizes & (2 ** e) else disabled for e in range(1, 11)]
    got = iter(out[1:])
    for x in rows:
        for sim in (fixed.rfft_q15, fixed.irfft_q15):
            want, we = sim(x)
            lines = [next(got) for _ in range(len(x))]
            e = np.array([int(line.split()[0]) for line in lines])
            y = np.array([[int(v) for v in line.split()[1:]] for line in lines])
            np.testing.assert_array_equal(y, want, err_msg=f"{sim.__name__} n = {x.shape[1]}")
            np.testing.assert_array_equal(e, we, err_msg=f"{sim.__name__} n = {x.shape[1]}")
    names = subprocess.run([nm, str(exe)], capture_output=True, text=True, check=True).stdout
    general = ("circnn_rfft_q15_dsp", "circnn_irfft_q15_dsp", "circnn_twiddle_pairs_q15", "complex_fft",
               "radix4_stage")
    linked = [g for g in general if g in names]
    if sizes & ~12:
        assert "circnn_twiddle_pairs_q15" in names and (not dsp or "circnn_rfft_q15_dsp" in names), linked
    else:
        assert not linked, linked
