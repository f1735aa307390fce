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
