"""Where a model firmware's flash goes: circnn's runtime, the test harness,
the C library and libgcc, the model blob and the test vectors, per object and
per symbol; and its instructions per inference.

    python benchmarks/flash_breakdown.py MODEL [MODEL ...]   # .circ files
        [--targets cortex-m4f cortex-m0plus] [--images 4] [--top 25]

Each model is built by circnn.firmware.build (the runtime compiled with the
model's configuration, circnn/config.h, -O2 and the flags of
targets/<target>.ini, --gc-sections) on the first --images Fashion-MNIST
test images (random inputs without the data set), run on QEMU (every output
checked against the simulator) and read back from the linker's map file:
every input section kept in .text, .rodata, .data, .isr_vector or
.ARM.exidx, attributed to its object.  "code" is flash without the test
vectors and without the blob (what `circnn firmware build` reports as flash
without the test vectors, less the blob); the runner's per-layer copy of the
layer loop (circnn_model_run_layers) is left out as `circnn firmware build`
leaves it out (every section of its object, runner-1-model_run.o).
"""
import argparse
import collections
import os
import re
import sys
import tempfile

import numpy as np

import circnn
from circnn import firmware

# Symbols of the harness that are not code: the model and the test vectors.
BLOB, VECTORS = ("model_blob",), ("vectors_input", "vectors_expected")
map_sections = firmware.map_sections


def group_of(obj):
    """runtime, harness, libc or libgcc, from the object's path."""
    name = os.path.basename(obj)
    if "libgcc" in name:
        return "libgcc"
    if name.startswith("lib") and "(" in name:
        return "libc"
    if re.match(r"runner-\d+-", name) or name.startswith("everything-"):
        return "runtime" if name.endswith("-model_run.o") else "harness"
    return "runtime"


def breakdown(elf, map_path):
    """{"groups": {group: bytes}, "objects": {object: bytes}, "blob": n, "vectors": n, "layer_copy": n}"""
    syms = firmware.symbols(elf)
    groups, objects = collections.Counter(), collections.Counter()
    special = {name: 0 for name in BLOB + VECTORS}
    layer_copy = 0
    for _, section, size, obj in map_sections(map_path):
        tail = section.rsplit(".", 1)[-1]
        if tail in special and tail in syms:
            special[tail] += size
            continue
        if os.path.basename(obj) == firmware.LAYER_COPY_OBJECT:   # the runner's per-layer copy, helpers included
            layer_copy += size
            continue
        objects[os.path.basename(obj)] += size
        groups[group_of(obj)] += size
    return dict(groups=groups, objects=objects, blob=sum(special[n] for n in BLOB),
                vectors=sum(special[n] for n in VECTORS), layer_copy=layer_copy)


def top_symbols(elf, count):
    """The largest defined symbols in flash: [(size, type, name)]."""
    out = firmware._run([firmware.tool("arm-none-eabi-nm"), "--size-sort", "-S", elf], "arm-none-eabi-nm").stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "TtRrDdWw" and parts[3] not in BLOB + VECTORS + ("circnn_model_run_layers",):
            rows.append((int(parts[1], 16), parts[2], parts[3]))
    return rows[-count:][::-1]


def inputs(model, count):
    try:
        from circnn import datasets
        (_, _), (x, _) = datasets.fashion_mnist(limit=count)
        if tuple(x.shape[1:]) == tuple(model.input_shape):
            return x[:count], "the first %d Fashion-MNIST test images" % count
    except Exception:   # no data set: random inputs (flash is the same)
        pass
    return firmware.default_inputs(model, count), "%d random inputs" % count


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help=".circ files (q15 or f32)")
    ap.add_argument("--targets", nargs="+", default=["cortex-m4f", "cortex-m0plus"])
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--top", type=int, default=25, help="symbols listed per firmware")
    ap.add_argument("--out", help="build folder (default: a temporary one)")
    args = ap.parse_args(argv)
    firmware.check_tools(run=True)
    print(f"circnn {circnn.__version__}, {firmware.tool_versions()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or tmp
        for path in args.models:
            model = circnn.load(path)
            x, what = inputs(model, args.images)
            for target in args.targets:
                folder = os.path.join(root, f"{os.path.basename(path)}-{target}")
                record = firmware.build(model, target, folder, inputs=x)
                result = firmware.run(folder, timeout=600)
                mem = record["memory"]
                elf = os.path.join(folder, record["elf"])
                b = breakdown(elf, os.path.join(folder, "runner.map"))
                code = mem["flash_without_tests"] - mem["blob"]
                print(f"\n## {path} on {target} ({result['status']}, {what})\n")
                print(f"flash without test vectors {mem['flash_without_tests']:,} bytes = blob {mem['blob']:,} + "
                      f"code {code:,}; instructions per inference {result['instructions']['inference']:,}")
                g = b["groups"]
                print(f"code by origin (map file): runtime {g['runtime']:,}, harness {g['harness']:,}, "
                      f"libc {g['libc']:,}, libgcc {g['libgcc']:,}; left out: the per-layer copy of the loop "
                      f"{b['layer_copy']:,}, test vectors {b['vectors']:,}\n")
                print("| object | bytes |\n|---|---:|")
                for obj, size in b["objects"].most_common():
                    print(f"| {obj} | {size:,} |")
                print(f"\n| symbol | type | bytes |\n|---|---|---:|")
                for size, kind, name in top_symbols(elf, args.top):
                    print(f"| {name} | {kind} | {size:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
