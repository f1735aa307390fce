"""The q15 convolutions on emulated Cortex-M cores (QEMU) against the simulator, bit for bit.

tests/conv_firmware.c runs circnn_conv2d_q15 and circnn_bc_conv2d_q15 on
layers chosen to reach every kernel of each core and the bounds of their
arithmetic, and compares every output (and a guard after it) with
circnn.fixed_layers / circnn.fixed_conv.  Dense conv2d: one input channel
with 3 x 3 kernels (the ARMv7E-M assembly on M4F, M7 and M33), 5 x 5 and
2 x 2 (the C loop), more than 16 taps (the reference), stride 2, 'valid'
padding, several input channels with output channels not a multiple of
four, each with its weights HWIO (the reference) and OHWI
(circnn_conv2d_q15_ohwi: the gathered windows and their assembly on M4F, M7 and M33, rows on
M0+ and without the DSP extension; odd input channel counts, an odd last
output channel, windows larger than the gathered one), exponents in both
ranges of the shifted
output stage and outside it, the int32 extremes of the bias, all -32768
weights and inputs (the largest sums), ReLU or not.  Block-circulant
conv2d: k = 2 .. 64 (the assembly's k = 4, 8, 16 with one and two blocks a
list entry), odd channel counts, stride 2, 'valid', scale and bias, the all
-32768 corner.  On M0+ the portable code runs (on mps2-an385 for
its RAM), on M4F also the portable code built with -DCIRCNN_NO_DSP.  Without
the toolchain or QEMU these tests fail with the install line (they never
skip).
"""
import os

import numpy as np
import pytest

from circnn import firmware, fixed_conv, fixed_layers
from circnn.window import window_geometry

HERE = os.path.dirname(os.path.abspath(__file__))

# conftest.py: fail, never skip; the firmware tier (pyproject.toml)
pytestmark = [pytest.mark.usefixtures("cortex_m_tools"), pytest.mark.firmware]


def draw(r, shape, kind):
    if kind == "min":
        return np.full(shape, -32768, dtype=np.int16)
    if kind == "quiet":
        return r.integers(-300, 301, shape).astype(np.int16)
    return r.integers(-32768, 32768, shape).astype(np.int16)


def dense_cases(r):
    # (h, w, in_c, out_c, kh, kw, stride, padding, exponent, kind, bias kind, relu)
    spec = [(28, 28, 1, 16, 3, 3, 1, "same", -15, "full", "small", True),    # the demo's first layer
            (9, 7, 1, 5, 3, 3, 1, "same", -15, "min", "none", False),
            (9, 7, 1, 6, 3, 3, 2, "valid", -40, "full", "extreme", True),      # s >= 32
            (8, 9, 1, 19, 3, 3, 1, "same", -20, "full", "small", False),        # two chunks of channels
            (9, 9, 1, 4, 5, 5, 1, "same", -18, "full", "small", True),          # 13 pairs: the C loop
            (7, 8, 1, 3, 2, 2, 2, "valid", -14, "quiet", "none", False),
            (9, 9, 1, 3, 5, 4, 1, "same", -17, "full", "small", False),         # 20 taps: the reference
            (6, 7, 1, 3, 3, 3, 1, "same", -1, "full", "small", False),          # s = 1 does not apply: reference
            (7, 6, 3, 5, 3, 3, 2, "same", -16, "full", "small", True),          # several channels + tail
            (6, 6, 16, 8, 3, 3, 1, "same", -19, "min", "extreme", False),
            (5, 6, 5, 7, 1, 1, 1, "valid", -33, "full", "small", True),
            (6, 5, 2, 4, 3, 3, 1, "same", 2, "quiet", "small", False),          # u > 15: the reference
            # OHWI weights only (model blobs store conv2d of several input channels so): odd input channels
            # (runs ending in one value), an odd last output channel, 1x1 runs of 4n + 2
            (7, 7, 33, 5, 3, 3, 1, "same", -21, "full", "small", True),
            (6, 7, 16, 9, 3, 3, 2, "valid", -19, "min", "extreme", False),
            (7, 7, 30, 6, 1, 1, 1, "valid", -18, "full", "small", True),
            # windows of 8n values: the assembly of whole pairs (ReLU and not, a 1x1), and s >= 32 beside it
            (7, 7, 8, 6, 3, 3, 1, "same", -18, "full", "small", True),
            (5, 5, 16, 5, 1, 1, 1, "valid", -16, "full", "small", False),
            (6, 6, 8, 4, 3, 3, 1, "same", -40, "full", "extreme", True),
            (6, 5, 40, 3, 5, 3, 1, "same", -22, "full", "small", True)]      # 600 values: over the gathered window
    ohwi_only = 7
    out = []
    for i, (h, w, in_c, out_c, kh, kw, stride, padding, e, kind, bias_kind, relu) in enumerate(spec):
        g = window_geometry(h, w, kh, kw, stride, padding)
        weight = draw(r, (kh, kw, in_c, out_c), kind)
        x = draw(r, (h, w, in_c), kind)
        bias = None
        if bias_kind == "small":
            bias = (r.integers(-2 ** 31, 2 ** 31, out_c) >> int(r.integers(4, 20))).astype(np.int32)
        elif bias_kind == "extreme":
            bias = np.where(np.arange(out_c) % 2, 2 ** 31 - 1, -2 ** 31).astype(np.int32)
        y = fixed_layers.conv2d_q15(weight, e, x[None], stride, g.pad_top, g.pad_left, g.out_h, g.out_w,
                                    bias, relu)[0]
        case = dict(k=0, g=(h, w, in_c, g.out_h, g.out_w, out_c, kh, kw, stride, g.pad_top, g.pad_left),
                    e=e, relu=relu, bias=bias, scale=None, scale_exp=0, w=weight, x=x, y=y, ohwi=False)
        if i < len(spec) - ohwi_only:
            out.append(case)
        if in_c > 1:   # the same layer with its weights OHWI (the struct's ohwi set)
            out.append(dict(case, ohwi=True))
    return out


def bc_cases(r):
    # (h, w, in_c, out_c, kernel, stride, padding, k, kind, scale, relu)
    spec = [(14, 14, 16, 32, 3, 1, "same", 8, "full", False, True),           # the demo's layer
            (7, 7, 32, 64, 3, 1, "same", 8, "quiet", True, True),
            (6, 5, 7, 9, 3, 2, "same", 4, "full", False, False),
            (6, 6, 5, 3, 3, 1, "valid", 2, "full", True, True),
            (5, 4, 16, 16, 3, 1, "same", 16, "min", False, False),
            (4, 4, 40, 24, 1, 1, "same", 32, "full", True, False),
            (3, 3, 64, 64, 3, 1, "same", 64, "full", False, True),
            (6, 7, 8, 8, 1, 1, "valid", 8, "full", False, True),                # pointwise
            (5, 5, 17, 12, 3, 2, "valid", 8, "full", True, False),
            (5, 6, 12, 9, 3, 1, "same", 4, "full", False, True),               # k = 4, odd q: one block an entry
            (4, 5, 32, 20, 3, 1, "same", 16, "min", True, False)]             # k = 16, two blocks an entry
    out = []
    for h, w, in_c, out_c, kern, stride, padding, k, kind, scale, relu in spec:
        g = window_geometry(h, w, kern, kern, stride, padding)
        p, q = -(-out_c // k), -(-in_c // k)
        weight = draw(r, (kern, kern, p, q, k), kind)
        x = draw(r, (h, w, in_c), kind)
        e = -int(r.integers(12, 30))
        bias = (r.integers(-2 ** 31, 2 ** 31, out_c) >> int(r.integers(0, 20))).astype(np.int32)
        sc = r.integers(-32768, 32768, out_c).astype(np.int16) if scale else None
        se = -int(r.integers(10, 16)) if scale else 0
        y = fixed_conv.bc_conv2d_q15(weight, e, x, out_c, stride, g.pad_top, g.pad_left, g.out_h, g.out_w,
                                     bias=bias, scale=sc, scale_exp=se, relu=relu)
        out.append(dict(k=k, g=(h, w, in_c, g.out_h, g.out_w, out_c, kern, kern, stride, g.pad_top, g.pad_left),
                        e=e, relu=relu, bias=bias, scale=sc, scale_exp=se, w=weight, x=x, y=y))
    return out


def write_header(path, cases):
    data, biases, rows = [], [], []
    for c in cases:
        row = dict(k=c["k"], e=c["e"], relu=int(c["relu"]), has_bias=int(c["bias"] is not None),
                   bias_at=len(biases), has_scale=int(c["scale"] is not None), scale_exp=c["scale_exp"],
                   scale_at=len(data))
        if c["scale"] is not None:
            data += list(c["scale"])
        row["w"], row["ohwi"] = len(data), int(c.get("ohwi", False))
        data += list((c["w"].transpose(3, 0, 1, 2) if row["ohwi"] else c["w"]).ravel())
        row["x"] = len(data)
        data += list(c["x"].ravel())
        row["y"] = len(data)
        data += list(c["y"].ravel())
        if c["bias"] is not None:
            biases += list(c["bias"])
        rows.append(row)

    def arr(ctype, name, values):
        return f"static const {ctype} {name}[] = {{" + (",".join(str(int(v)) for v in values) or "0") + "};\n"

    scratch = 64
    for c in cases:
        if c["k"]:
            h, w, in_c, k = c["g"][0], c["g"][1], c["g"][2], c["k"]
            blocks = h * w * -(-in_c // k)
            scratch = max(scratch, 16 * k + 64 + 2 * blocks * k + 4 * blocks + 64)
    with open(path, "w") as fh:
        fh.write(f"#define CONV_COUNT {len(rows)}u\n#define CONV_SCRATCH {scratch}\n"
                 f"#define CONV_MAX_Y {max(c['y'].size for c in cases)}\n")
        fh.write(arr("int16_t", "cv_data", data))
        fh.write(arr("int32_t", "cv_bias", biases))
        fh.write("static const uint16_t cv_g[][11] = {" +
                 ",".join("{" + ",".join(str(v) for v in c["g"]) + "}" for c in cases) + "};\n")
        for name, ctype in [("k", "uint32_t"), ("e", "int32_t"), ("relu", "uint8_t"), ("has_bias", "uint8_t"),
                            ("bias_at", "uint32_t"), ("has_scale", "uint8_t"), ("scale_exp", "int32_t"),
                            ("scale_at", "uint32_t"), ("w", "uint32_t"), ("x", "uint32_t"), ("y", "uint32_t"),
                            ("ohwi", "uint8_t")]:
            fh.write(arr(ctype, f"cv_{name}", [row[name] for row in rows]))
    return len(rows)


@pytest.mark.parametrize("target,args", [("cortex-m0plus", ()), ("cortex-m4f", ()),
                                         ("cortex-m4f", ("-DCIRCNN_NO_DSP",)), ("cortex-m7", ()),
                                         ("cortex-m33", ())])
def test_q15_convolutions_bit_exact_on_the_core(tmp_path, target, args):
    r = np.random.default_rng(10)
    count = write_header(tmp_path / "conv_vectors.h", dense_cases(r) + bc_cases(r))
    elf, board = firmware.build_program(target, str(tmp_path), [(os.path.join(HERE, "conv_firmware.c"), list(args))],
                                        "conv", board="mps2-an385" if target == "cortex-m0plus" else None,
                                        extra_c_args=list(args))
    status, text, _ = firmware.run_elf(board, elf, pairs=("empty",), timeout=300)
    assert f"conv-firmware: {count} passed, 0 failed" in text, text
    assert status == 0, text
