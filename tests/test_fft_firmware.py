"""The q15 FFTs and bc_dense on emulated Cortex-M cores (QEMU) against the simulator, bit for bit.

tests/fft_firmware.c runs circnn_rfft_q15 and circnn_irfft_q15 on vectors of
every size and many kinds (full scale, quiet, extremes, sparse, tones,
impulses, constants, zero), out of place and in place, aligned and
misaligned by one int16, and compares every output and exponent with
circnn.fixed's.  On M4F, M7 and M33 this is the DSP-extension variant
(whose inner loops are ARMv7E-M assembly, so only these runs check them);
on M0+ and M3 the portable code, and on M4F also the portable code built
with -DCIRCNN_NO_DSP.  Without the toolchain or QEMU these tests fail with
the install line (they never skip).

tests/bc_dense_firmware.c does the same for circnn_bc_dense_q15 on corner
cases (every value -32768, full-range random weights and inputs, bias,
ReLU, input blocks of different exponents, 1 to 13 input blocks), which
reach the cores' own spectral MACs: ARMv7E-M assembly on M4F, M7 and M33,
ARMv6-M assembly on M0+.
"""
import os

import numpy as np
import pytest

from circnn import firmware, fixed

HERE = os.path.dirname(os.path.abspath(__file__))


# conftest.py: fail, never skip; the firmware tier (pyproject.toml)
pytestmark = [pytest.mark.usefixtures("cortex_m_tools"), pytest.mark.firmware]


def vectors(seed=2026):
    r = np.random.default_rng(seed)
    out = []
    for e in range(1, 11):
        n = 2 ** e
        t = np.arange(n)
        kinds = [r.integers(-32768, 32768, n),                                  # full scale
                 r.integers(-300, 301, n),                                      # quiet
                 r.choice([-32768, 32767, 0], n),                               # extremes
                 np.where(r.random(n) < 0.05, r.integers(-32768, 32768, n), 0),  # sparse
                 np.round(32767 * np.cos(2 * np.pi * (t * (1 + e) % n) / n + 0.3)),  # a tone
                 np.eye(1, n, 0)[0] * -32768,                                   # impulse
                 np.full(n, 32767), np.zeros(n),
                 r.integers(-4000, 4001, n) + 2000,                             # offset, mid scale
                 np.round(9000 * np.sin(2 * np.pi * 3 * t / n) + r.normal(0, 300, n))]  # tone in noise
        if n >= 256:
            kinds = kinds[:3] + kinds[4:6] + kinds[8:]
        out += [np.asarray(k, dtype=np.int64).clip(-32768, 32767).astype(np.int16) for k in kinds]
    return out


def write_header(path, vecs):
    data, rows = [], []
    for x in vecs:
        f, fe = fixed.rfft_q15(x[None, :])
        i, ie = fixed.irfft_q15(x[None, :])
        rows.append((len(x), len(data), len(data) + len(x), int(fe[0]), len(data) + 2 * len(x), int(ie[0])))
        data += list(x) + list(f[0]) + list(i[0])

    def arr(ctype, name, values):
        return f"static const {ctype} {name}[] = {{" + ",".join(str(int(v)) for v in values) + "};\n"

    with open(path, "w") as fh:
        fh.write(f"#define FFT_COUNT {len(rows)}u\n")
        fh.write(arr("int16_t", "fft_data", data))
        for k, (name, ctype) in enumerate([("fft_n", "uint32_t"), ("fft_in", "uint32_t"), ("fft_fwd", "uint32_t"),
                                           ("fft_fwd_e", "int32_t"), ("fft_inv", "uint32_t"),
                                           ("fft_inv_e", "int32_t")]):
            fh.write(arr(ctype, name, [row[k] for row in rows]))
    return len(rows)


@pytest.mark.parametrize("target,args", [("cortex-m0plus", ()), ("cortex-m3", ()), ("cortex-m4f", ()),
                                         ("cortex-m4f", ("-DCIRCNN_NO_DSP",)), ("cortex-m7", ()),
                                         ("cortex-m33", ())])
def test_q15_fft_bit_exact_on_the_core(tmp_path, target, args):
    count = write_header(tmp_path / "fft_vectors.h", vectors())
    elf, board = firmware.build_program(target, str(tmp_path), [(os.path.join(HERE, "fft_firmware.c"), list(args))],
                                        "fft", extra_c_args=list(args))
    status, text, _ = firmware.run_elf(board, elf, pairs=("empty",), timeout=120)
    assert f"fft-firmware: {4 * count} passed, 0 failed" in text, text
    assert status == 0, text


def bc_layers(seed=7):
    r = np.random.default_rng(seed)
    out = []
    # q from 1 to 13 input blocks (the DSP sums take four a step, then the rest), k from 2 to 64
    for n, m, k in [(16, 16, 8), (40, 24, 8), (64, 64, 16), (100, 70, 32), (128, 128, 64), (30, 50, 4),
                    (10, 6, 2), (200, 40, 16), (7, 9, 8)]:
        p, q = -(-m // k), -(-n // k)
        for kind in range(5):
            if kind == 0:   # every weight and input -32768
                w = np.full((p, q, k), -32768)
                x = np.full(n, -32768)
            else:
                w = r.integers(-32768, 32768, (p, q, k))
                x = r.integers(-32768, 32768, n) >> (0 if kind < 3 else 9)
            if kind == 4:   # blocks of different exponents, one all zero: the shifts to a common one
                x = r.integers(-32768, 32768, n) >> (np.arange(n) // k * 5 % 16)
                x[(q // 2) * k:(q // 2 + 1) * k] = 0
            bias = r.integers(-2 ** 31, 2 ** 31, m) >> int(r.integers(0, 20)) if kind in (2, 3) else None
            out.append((w.astype(np.int16), -int(r.integers(10, 30)), x.astype(np.int16), m, bias, kind >= 3))
    return out


def write_bc_header(path, layers):
    data, biases, rows = [], [], []
    for w, e, x, m, bias, relu in layers:
        y = fixed.bc_dense_q15(w, e, x, m, None if bias is None else bias.astype(np.int32), relu)
        row = dict(n=len(x), m=m, k=w.shape[2], e=e, relu=int(relu), has_bias=int(bias is not None),
                   bias_at=len(biases), w=len(data), x=len(data) + w.size, y=len(data) + w.size + len(x))
        data += list(w.ravel()) + list(x) + list(y)
        if bias is not None:
            biases += list(bias)
        rows.append(row)

    def arr(ctype, name, values):
        return f"static const {ctype} {name}[] = {{" + (",".join(str(int(v)) for v in values) or "0") + "};\n"

    scratch = max(8 * r["k"] + 8 * -(-r["n"] // r["k"]) + 2 * (-(-r["n"] // r["k"]) * r["k"] + r["k"]) + 64
                  for r in rows)
    with open(path, "w") as fh:
        fh.write(f"#define BC_COUNT {len(rows)}u\n#define BC_MAX_SCRATCH {scratch}\n"
                 f"#define BC_MAX_M {max(r['m'] for r in rows)}\n")
        fh.write(arr("int16_t", "bc_data", data))
        fh.write(arr("int32_t", "bc_bias", biases))
        for name, ctype in [("n", "uint32_t"), ("m", "uint32_t"), ("k", "uint32_t"), ("e", "int32_t"),
                            ("relu", "uint8_t"), ("has_bias", "uint8_t"), ("bias_at", "uint32_t"), ("w", "uint32_t"),
                            ("x", "uint32_t"), ("y", "uint32_t")]:
            fh.write(arr(ctype, f"bc_{name}", [row[name] for row in rows]))
    return len(rows)


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m4f", "cortex-m7", "cortex-m33"])
def test_q15_bc_dense_bit_exact_on_the_core(tmp_path, target):
    count = write_bc_header(tmp_path / "bc_vectors.h", bc_layers())
    elf, board = firmware.build_program(target, str(tmp_path), [(os.path.join(HERE, "bc_dense_firmware.c"), [])],
                                        "bc", board="mps2-an385" if target == "cortex-m0plus" else None)
    status, text, _ = firmware.run_elf(board, elf, pairs=("empty",), timeout=120)
    assert f"bc-dense-firmware: {count} passed, 0 failed" in text, text
    assert status == 0, text
