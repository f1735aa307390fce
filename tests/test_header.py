"""The firmware header compiles with strict warnings, runs, and gives Python's numbers."""
import os
import subprocess

import numpy as np
import pytest

import circnn
from circnn import blob as B
from circnn import layers as L
from model_zoo import cnn, images

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wconversion", "-pedantic", "-O1"]

MAIN = r"""
#include <stdio.h>
#include "net.h"

static uint64_t arena[(NET_ARENA_BYTES + 7) / 8];

int main(void)
{
    static int16_t input[NET_INPUT_COUNT];
    static int16_t output[NET_OUTPUT_COUNT];
    circnn_model_t model;
    circnn_status_t s = circnn_model_init(&model, net_blob, NET_BLOB_BYTES, arena, sizeof arena);
    if (s != CIRCNN_OK) { printf("init %s\n", circnn_status_string(s)); return 1; }
    for (;;) {
        for (unsigned i = 0; i < NET_INPUT_COUNT; i++) {
            int v;
            if (scanf("%d", &v) != 1) return 0;
            input[i] = (int16_t)v;
        }
        circnn_model_run(&model, input, output, arena);
        for (unsigned i = 0; i < NET_OUTPUT_COUNT; i++) printf("%d ", output[i]);
        printf("\n");
    }
}
"""


def c_sources():
    src = os.path.join(ROOT, "src")
    return sorted(os.path.join(src, f) for f in os.listdir(src) if f.endswith(".c"))


def test_header_compiles_runs_and_matches_python(tmp_path):
    model = cnn()
    x = images(model, 6)
    q = model.quantize(x)
    q.write_header(tmp_path / "net.h", name="net")
    (tmp_path / "main.c").write_text(MAIN)
    exe = tmp_path / "net"
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, *FLAGS, "-I", circnn.get_include(), "-I", str(tmp_path), "-I", os.path.join(ROOT, "src"),
                    str(tmp_path / "main.c"), *c_sources(), "-lm", "-o", str(exe)], check=True)
    xq = q.quantize_input(x)
    stdin = "\n".join(" ".join(str(int(v)) for v in row.ravel()) for row in xq) + "\n"
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True).stdout
    got = np.array([[int(v) for v in line.split()] for line in out.strip().splitlines()])
    np.testing.assert_array_equal(got, q.simulate_raw(xq).reshape(len(x), -1))


REFUSE = r"""
#include <stdio.h>
#include "net.h"
#include "other.h"

int main(void)
{
    circnn_model_t model;
    circnn_status_t s = circnn_model_init(&model, other_blob, sizeof other_blob, NULL, 0);
    printf("%s\n", circnn_status_string(s));
    return 0;
}
"""


def test_runtime_built_for_the_model_alone(tmp_path):
    """The runtime compiled with the header's configuration (circnn/config.h,
    header.config_flags) runs the model bit for bit, refuses a blob that
    needs what it compiled out (CIRCNN_ERR_DISABLED), and the header stops
    a build that lacks something its model needs."""
    from circnn import header
    model = cnn()
    x = images(model, 6)
    q = model.quantize(x)
    need = header.needs(q)
    assert need["Q15"] == 1 and need["F32"] == 0 and need["BC_CONV2D"] == 1 and need["DEPTHWISE_CONV2D"] == 0
    flags = header.config_flags(q)
    assert "-DCIRCNN_WITH_F32=0" in flags
    assert sum(f.startswith("-DCIRCNN_WITH_") for f in flags) == sum(v == 0 for v in need.values())
    q.write_header(tmp_path / "net.h", name="net")
    text = (tmp_path / "net.h").read_text()
    assert "#define NET_NEEDS_Q15 1" in text and "#define NET_NEEDS_F32 0" in text
    cc = os.environ.get("CC", "cc")
    inc = ["-I", circnn.get_include(), "-I", str(tmp_path), "-I", os.path.join(ROOT, "src")]
    (tmp_path / "main.c").write_text(MAIN)
    exe = tmp_path / "net"
    subprocess.run([cc, *FLAGS, *flags, *inc, str(tmp_path / "main.c"), *c_sources(), "-lm", "-o", str(exe)],
                   check=True)
    xq = q.quantize_input(x)
    stdin = "\n".join(" ".join(str(int(v)) for v in row.ravel()) for row in xq) + "\n"
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True).stdout
    got = np.array([[int(v) for v in line.split()] for line in out.strip().splitlines()])
    np.testing.assert_array_equal(got, q.simulate_raw(xq).reshape(len(x), -1))

    # the same model in f32: this runtime refuses it at init
    blob = model.to_f32().blob
    rows = ",\n".join(", ".join(str(b) for b in blob[i:i + 32]) for i in range(0, len(blob), 32))
    (tmp_path / "other.h").write_text("static const uint8_t other_blob[] __attribute__((aligned(16))) = {\n"
                                      + rows + "\n};\n")
    (tmp_path / "refuse.c").write_text(REFUSE)
    subprocess.run([cc, *FLAGS, *flags, *inc, str(tmp_path / "refuse.c"), *c_sources(), "-lm",
                    "-o", str(tmp_path / "refuse")], check=True)
    out = subprocess.run([str(tmp_path / "refuse")], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "CIRCNN_ERR_DISABLED"
    # and the same model with 8-bit weights (format 4), which this runtime compiled out
    assert "-DCIRCNN_WITH_WEIGHT8=0" in flags and header.needs(model.quantize(x, weight_bits=8))["WEIGHT8"] == 1
    blob = model.quantize(x, weight_bits=8).blob
    rows = ",\n".join(", ".join(str(b) for b in blob[i:i + 32]) for i in range(0, len(blob), 32))
    (tmp_path / "other.h").write_text("static const uint8_t other_blob[] __attribute__((aligned(16))) = {\n"
                                      + rows + "\n};\n")
    subprocess.run([cc, *FLAGS, *flags, *inc, str(tmp_path / "refuse.c"), *c_sources(), "-lm",
                    "-o", str(tmp_path / "refuse")], check=True)
    out = subprocess.run([str(tmp_path / "refuse")], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "CIRCNN_ERR_DISABLED"

    # a configuration without one of the kinds or block sizes the model needs does not compile
    assert header.fft_sizes(q) == 4 and "-DCIRCNN_FFT_SIZES=4" in flags and "#define NET_BLOCK_SIZES 4 " in text
    for extra in ("-DCIRCNN_WITH_BC_CONV2D=0", "-DCIRCNN_FFT_SIZES=8"):
        r = subprocess.run([cc, *FLAGS, *flags, extra, *inc, "-c", str(tmp_path / "main.c"),
                            "-o", str(tmp_path / "main.o")], capture_output=True, text=True)
        assert r.returncode != 0 and "NET_NEEDS_" in r.stderr, extra


def test_header_is_deterministic_and_carries_its_facts(tmp_path):
    model = cnn()
    q = model.quantize(images(model))
    a = q.write_header(tmp_path / "a.h", name="fmnist")
    b = q.write_header(tmp_path / "b.h", name="fmnist")
    text = open(a).read()
    assert text == open(b).read()
    assert "Do not edit" in text and q.hash in text
    # the little CNN's bc_conv2d keeps its spectra in its input's place: format 8
    assert q.version == B.OVER_INPUT_VERSION
    assert "#error" in text and f"CIRCNN_FORMAT_VERSION_NEWEST < {q.version} ||" in text
    assert f"#define FMNIST_ARENA_BYTES {q.arena_bytes}u" in text
    assert "bc_conv2d" in text and "aligned(16)" in text
    body = text[text.index("fmnist_blob[FMNIST_BLOB_BYTES]"):]
    values = bytes(int(tok.strip(","), 16) for tok in body.split("{", 1)[1].split("}", 1)[0].split())
    assert values == q.blob


@pytest.mark.parametrize("two_layers", [True, False])
def test_header_refuses_a_version_mismatch(tmp_path, two_layers):
    """A version-1 model (two layers: one intermediate tensor, the same arena
    under every layout) checks CIRCNN_FORMAT_VERSION == 1; the little CNN
    (format 8) checks the range.  A header edited to want another version
    does not compile."""
    if two_layers:
        q = circnn.Model([L.Flatten(), L.Dense(16, 4, seed=1)], input_shape=(4, 4, 1)).to_f32()
        want, other = "CIRCNN_FORMAT_VERSION != 1", "CIRCNN_FORMAT_VERSION != 2"
    else:
        q = cnn().to_f32()
        want = f"CIRCNN_FORMAT_VERSION_NEWEST < {B.OVER_INPUT_VERSION} ||"
        other = f"CIRCNN_FORMAT_VERSION_NEWEST < {B.FORMAT_VERSION_NEWEST + 1} ||"
    q.write_header(tmp_path / "net.h", name="net")
    text = (tmp_path / "net.h").read_text()
    assert want in text
    (tmp_path / "net.h").write_text(text.replace(want, other))
    (tmp_path / "use.c").write_text('#include "net.h"\nint main(void) { return net_blob[0]; }\n')
    r = subprocess.run([os.environ.get("CC", "cc"), *FLAGS, "-I", circnn.get_include(), "-I", str(tmp_path),
                        "-c", str(tmp_path / "use.c"), "-o", str(tmp_path / "use.o")], capture_output=True, text=True)
    assert r.returncode != 0 and "re-export" in r.stderr


@pytest.mark.parametrize("bad", ["1net", "net-work", "int", "", "__x"])
def test_header_names_must_be_c_identifiers(tmp_path, bad):
    with pytest.raises(ValueError):
        cnn().to_f32().write_header(tmp_path / "x.h", name=bad)


def test_a_model_named_circnn_compiles_beside_circnn_h(tmp_path):
    # The guard used to be {NAME}_MODEL_H: for name="circnn" that is circnn/model.h's
    # own guard, and the blob vanished once circnn.h had been included.
    q = cnn().to_f32()
    q.write_header(tmp_path / "circnn_net.h", name="circnn")
    (tmp_path / "use.c").write_text(
        '#include <stdio.h>\n#include "circnn/circnn.h"\n#include "circnn_net.h"\n'
        "int main(void)\n{\n"
        "    printf(\"%c%c%c%c %u %u\\n\", circnn_blob[0], circnn_blob[1], circnn_blob[2], circnn_blob[3],\n"
        "           (unsigned)sizeof circnn_blob, (unsigned)CIRCNN_BLOB_BYTES);\n"
        "    return 0;\n}\n")
    exe = tmp_path / "use"
    subprocess.run([os.environ.get("CC", "cc"), *FLAGS, "-I", circnn.get_include(), "-I", str(tmp_path),
                    str(tmp_path / "use.c"), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["CIRC", str(len(q.blob)), str(len(q.blob))]


def test_a_name_whose_macros_the_runtime_defines_is_refused(tmp_path):
    from circnn.header import check_names_are_free
    folder = tmp_path / "circnn"
    folder.mkdir()
    (folder / "x.h").write_text("/* NET_INPUT_H in a comment is no clash */\n#define NET_ARENA_BYTES 1\n"
                                "extern const char *other_blob;\n")
    check_names_are_free("net2", include=str(tmp_path))
    with pytest.raises(ValueError, match="NET_ARENA_BYTES"):
        check_names_are_free("net", include=str(tmp_path))
    with pytest.raises(ValueError, match="other_blob"):
        check_names_are_free("other", include=str(tmp_path))
    # the real headers: every name the exporter writes for name="circnn" is free
    check_names_are_free("circnn")
