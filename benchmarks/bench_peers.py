"""circnn against CMSIS-NN int8, side by side, measured in one run.

Every network of MODELS is trained once with circnn's trainer (the same
recipe and budget for all, --recipe, cached), then measured two ways:

  circnn   the q15 model through circnn's own firmware path
           (circnn.firmware.build / run: flash, RAM, instructions per
           inference and per layer, every output checked bit for bit);
  cmsis-nn the same float weights quantized in numpy to int8 the way
           TensorFlow Lite does it (benchmarks/peers/int8_model.py:
           per-channel symmetric int8 weights, asymmetric int8
           activations calibrated on training images, int32 bias, TFLite
           requantization), run by benchmarks/peers/cmsis_runner.c through
           CMSIS-NN's kernels as TFLite Micro calls them
           (arm_convolve_wrapper_s8, arm_depthwise_conv_wrapper_s8,
           arm_fully_connected_s8, arm_max_pool_s8, arm_avgpool_s8):
           built for the host (plain C paths) for the accuracy on all
           10,000 test images, and for Cortex-M with circnn's startup,
           boards, flags and QEMU counting plugin.

Block-circulant layers go to CMSIS-NN as their equivalent dense kernels
(CMSIS-NN has no circulant layers), so every network has both rows.

CMSIS-NN is not part of circnn.  Get it, and CMSIS 6 for the Cortex-M core
headers, at the commit this table was measured with:

    git clone https://github.com/ARM-software/CMSIS-NN && git -C CMSIS-NN checkout 99f736a6
    git clone https://github.com/ARM-software/CMSIS_6
    python benchmarks/bench_peers.py --cmsis-nn CMSIS-NN --cmsis-core CMSIS_6

--cmsis-core is optional: CMSIS-NN 99f736a6 takes its intrinsics from the
compiler's ACLE header and builds without CMSIS Core; when given, CMSIS_6's
CMSIS/Core/Include goes on the include path and its commit is recorded.

Training (the first run only; the weights are cached in --cache, default
build/peers, one subfolder per recipe) takes 5 to 20 minutes per network on
2 shared cores with the short recipe, 15 to 45 with --recipe long (30
epochs with augmentation); the rest about 5 minutes.  Add a network to
MODELS with one line.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import circnn  # noqa: E402
from circnn import firmware, presets, train  # noqa: E402
from peers import int8_model  # noqa: E402

# The CMSIS-NN commit the table in benchmarks/README.md was measured with.
CMSIS_NN_COMMIT = "99f736a63036613032f9b70de36b493bcd7802d4"

# The networks: name -> function(seed) returning an untrained circnn.Model.
# Add a preset with one line.
MODELS = {
    "cnn-k8": lambda seed: presets.cnn(block_size=8, seed=seed),      # the demo CNN
    "cnn-dense": lambda seed: presets.cnn(block_size=None, seed=seed),
    "ds-cnn": lambda seed: presets.ds_cnn(seed=seed),                 # depthwise-separable, k = 16 pointwise
    "ds-cnn-dense": lambda seed: presets.ds_cnn(block_size=None, seed=seed),
    "cnn-pool": lambda seed: presets.compact_cnn(8, seed=seed),      # conv 64-32 on 7x7, pool, FC 288-10
    "cnn-sq4": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 32, 64, 64), head=4),
    "cnn-sq8": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 32, 64), head=8),
    # block-circulant FC 3136-10 on the 7x7 map (8-bit weights, WEIGHT_BITS); k = 4 and 8 are written out
    "cnn-fc4": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 32, 64), head="fc", head_block_size=4),
    "cnn-fc8": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 32, 64), head="fc", head_block_size=8),
    "cnn-fc8-96": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 32, 96), head="fc", head_block_size=8),
    "cnn-fc8-48": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 48, 64), head="fc", head_block_size=8),
    "cnn-fc4-48": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 48, 64), head="fc", head_block_size=4),
    "cnn-sq11": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 32, 64), head=11),
    "cnn-sq9-96": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 32, 96), head=9),
    "cnn-sq16-96": lambda seed: presets.compact_cnn(8, seed=seed, channels=(16, 32, 96), head=16),
    # k = 4 on the 7x7 conv: twice its weights, where a conv is cheapest (49 pixels)
    "cnn-sq11-84": lambda seed: presets.compact_cnn((8, 4), seed=seed, channels=(16, 32, 64), head=11),
    # a dense network whose int8 version fits the flash target (half the int8 cnn-dense's): what CMSIS-NN
    # offers at the compact circnn networks' flash
    "cnn-dense-s": lambda seed: presets.compact_cnn(None, seed=seed, channels=(12, 24, 48), head=8),
}

# Networks whose circnn side stores its weights in 8 bits
# (model.quantize(x, weight_bits=8)); the others in q15.
WEIGHT_BITS = {name: 8 for name in ("cnn-fc4", "cnn-fc4-48", "cnn-fc8", "cnn-fc8-96", "cnn-fc8-48", "cnn-sq11",
                                    "cnn-sq9-96", "cnn-sq16-96", "cnn-sq11-84")}

# The published figures (--publish): the demo quotes them, the package ships them.
PUBLISHED = os.path.join(HERE, "peers.json")

# The training recipes (circnn.train.fit); one run trains every network with
# the same one.  "short": the budget the published table was measured with.
# "long": modelled on the circnn.torch recipe of issue 11's 91.78 % (AdamW,
# warm-up and cosine, label smoothing, 2-pixel shifts and mirror images), in
# numpy, so that a longer, regularised budget lifts both engines' networks alike.
RECIPES = {
    "short": dict(epochs=10, batch_size=128, lr=1e-3, schedule="cosine", seed=0),
    "long": dict(epochs=30, batch_size=128, lr=2e-3, schedule="cosine", seed=0, warmup=1, weight_decay=1e-2,
                 label_smoothing=0.1, shift=2, flip=True),
}
CALIBRATION = 512          # training images for the activation ranges (both engines)
TARGETS = ("cortex-m4f", "cortex-m0plus")
QEMU_CHECKS = 4            # test images run on QEMU and compared with the host


def say(text):
    print(text, flush=True)


def recipe_text(recipe):
    text = (f"{recipe['epochs']} epochs on all 60,000 training images, "
            f"{'AdamW' if recipe.get('weight_decay') else 'Adam'} lr {recipe['lr']}")
    if recipe.get("weight_decay"):
        text += f" weight decay {recipe['weight_decay']}"
    text += f", batch {recipe['batch_size']}, "
    if recipe.get("warmup"):
        text += f"{recipe['warmup']} warm-up epoch{'s' if recipe['warmup'] != 1 else ''} then "
    text += f"{recipe['schedule']} schedule"
    if recipe.get("label_smoothing"):
        text += f", label smoothing {recipe['label_smoothing']}"
    if recipe.get("shift") or recipe.get("flip"):
        text += f", random shifts of up to {recipe.get('shift', 0)} pixels"
        text += " and mirror images" if recipe.get("flip") else ""
    return text + f", seed {recipe['seed']}"


def architecture_key(model):
    """Eight hex digits naming the model's input shape and layers: a preset
    whose shape changes trains anew instead of loading the old weights."""
    text = repr((model.input_shape, [layer.describe() for layer in model.layers]))
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def trained(name, data, cache, recipe):
    """The trained float model `name`, from cache/<name>.npz or trained now."""
    (x_train, y_train), _ = data
    model = MODELS[name](recipe["seed"])
    path = os.path.join(cache, f"{name}-e{recipe['epochs']}-s{recipe['seed']}-{architecture_key(model)}.npz")
    done = path + ".done"
    if os.path.isfile(done):
        train.load_checkpoint(path, model)
        return model
    os.makedirs(cache, exist_ok=True)
    say(f"training {name}: {recipe_text(recipe)}")
    t0 = time.time()
    augment = (train.random_shift_flip(recipe.get("shift", 0), recipe.get("flip", False))
               if recipe.get("shift") or recipe.get("flip") else None)
    train.fit(model, x_train, y_train, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
              lr=recipe["lr"], schedule=recipe["schedule"], seed=recipe["seed"], warmup=recipe.get("warmup", 0.0),
              weight_decay=recipe.get("weight_decay", 0.0), label_smoothing=recipe.get("label_smoothing", 0.0),
              augment=augment, checkpoint=path, resume=True if os.path.isfile(path) else None, progress=True)
    with open(done, "w") as f:
        json.dump(dict(recipe=recipe, seconds=round(time.time() - t0, 1)), f)
    return model


# -- CMSIS-NN ------------------------------------------------------------------

HOW_TO_GET = f"""CMSIS-NN is not part of circnn; get it (and CMSIS 6 for the Cortex-M core headers):
    git clone https://github.com/ARM-software/CMSIS-NN && git -C CMSIS-NN checkout {CMSIS_NN_COMMIT[:8]}
    git clone https://github.com/ARM-software/CMSIS_6
then: python benchmarks/bench_peers.py --cmsis-nn CMSIS-NN --cmsis-core CMSIS_6"""
KERNEL_FOLDERS = ("ConvolutionFunctions", "FullyConnectedFunctions", "PoolingFunctions", "NNSupportFunctions")


def git_commit(folder):
    """The commit of a git checkout, or None."""
    r = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def check_cmsis(nn, core):
    """(CMSIS-NN folder, include folders, {name: commit}): the checkouts
    checked, a warning when CMSIS-NN is not at CMSIS_NN_COMMIT."""
    if not nn or not os.path.isfile(os.path.join(nn, "Include", "arm_nnfunctions.h")):
        raise SystemExit(("--cmsis-nn is missing" if not nn else f"{nn} is not a CMSIS-NN checkout "
                          "(no Include/arm_nnfunctions.h)") + ".\n" + HOW_TO_GET)
    nn = os.path.abspath(nn)
    commits = {"CMSIS-NN": git_commit(nn)}
    if commits["CMSIS-NN"] is None:
        say(f"warning: {nn} is not a git checkout: cannot check that it is CMSIS-NN {CMSIS_NN_COMMIT[:8]}")
    elif commits["CMSIS-NN"] != CMSIS_NN_COMMIT:
        say(f"warning: CMSIS-NN is at {commits['CMSIS-NN'][:8]}, the table was measured with {CMSIS_NN_COMMIT[:8]}")
    includes = [os.path.join(nn, "Include")]
    if core:
        inc = os.path.join(core, "CMSIS", "Core", "Include")
        if not os.path.isfile(os.path.join(inc, "cmsis_compiler.h")):
            raise SystemExit(f"{core} is not a CMSIS_6 checkout (no CMSIS/Core/Include/cmsis_compiler.h).\n" + HOW_TO_GET)
        includes.append(os.path.abspath(inc))
        commits["CMSIS_6"] = git_commit(core)
    return nn, includes, commits


def cmsis_sources(nn):
    """CMSIS-NN's integer kernels and support functions (the float ones left out)."""
    out = []
    for folder in KERNEL_FOLDERS:
        d = os.path.join(nn, "Source", folder)
        out += [os.path.join(d, f) for f in sorted(os.listdir(d))
                if f.endswith(".c") and not f.endswith(("_f16.c", "_f32.c")) and "_lstm_" not in f]
    return out


KINDS = {"conv": "PEERS_CONV", "dwconv": "PEERS_DWCONV", "fc": "PEERS_FC", "maxpool": "PEERS_MAXPOOL",
         "avgpool": "PEERS_AVGPOOL", "flatten": "PEERS_FLATTEN"}


def _c_array(ctype, name, values):
    values = [str(int(v)) for v in np.asarray(values).ravel()]
    rows = [", ".join(values[i:i + 24]) for i in range(0, len(values), 24)]
    return f"static const {ctype} {name}[{len(values)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def arena_bytes(im):
    """The activation arena: the largest input + output of a layer."""
    return max(int(np.prod(op.in_shape)) + int(np.prod(op.out_shape)) for op in im.layers if op.kind != "flatten")


def render_model_header(im, name):
    """peers_model.h for cmsis_runner.c."""
    parts = [f"/* peers_model.h - the int8 network {name} for cmsis_runner.c, generated by "
             "benchmarks/bench_peers.py.  Do not edit. */\n",
             f"#define PEERS_LAYER_COUNT {len(im.layers)}\n#define PEERS_INPUT_COUNT {int(np.prod(im.input_shape))}\n"
             f"#define PEERS_OUTPUT_COUNT {int(np.prod(im.output_shape))}\n#define PEERS_ARENA_BYTES {arena_bytes(im)}\n",
             "".join(f"#define PEERS_USE_{kind.upper()} {int(any(op.kind == kind for op in im.layers))}\n"
                     for kind in KINDS if kind != "flatten")]
    rows = []
    for i, op in enumerate(im.layers):
        ins = tuple(op.in_shape) if len(op.in_shape) == 3 else (1, 1, op.in_shape[0])
        outs = tuple(op.out_shape) if len(op.out_shape) == 3 else (1, 1, op.out_shape[0])
        kh, kw = getattr(op, "kernel", (1, 1))
        pad = getattr(op, "pad", (0, 0))
        ptrs = ["NULL"] * 4
        if op.kind in ("conv", "dwconv", "fc"):
            parts.append(_c_array("int8_t", f"peers_w{i}", op.weight))
            parts.append(_c_array("int32_t", f"peers_b{i}", op.bias))
            parts.append(_c_array("int32_t", f"peers_m{i}", op.multiplier))
            parts.append(_c_array("int32_t", f"peers_s{i}", op.shift))
            ptrs = [f"peers_w{i}", f"peers_b{i}", f"peers_m{i}", f"peers_s{i}"]
        fields = [KINDS[op.kind], *ins, *outs, kh, kw, getattr(op, "stride", 1), pad[0], pad[1],
                  -op.in_zp, op.out_zp, op.act[0], op.act[1], *ptrs]
        rows.append("    {" + ", ".join(str(f) for f in fields) + "},   /* " + op.source + " */")
    parts.append("static const peers_layer_t peers_layers[PEERS_LAYER_COUNT] = {\n" + "\n".join(rows) + "\n};\n")
    return "\n".join(parts)


def render_vectors(x, y):
    return ("/* peers_vectors.h - test inputs and the host CMSIS-NN build's outputs. Do not edit. */\n"
            f"#define VECTORS_COUNT {len(x)}u\n"
            f"static const int8_t vectors_input[{len(x)}][{x[0].size}] = {{\n" +
            ",\n".join("    {" + ", ".join(map(str, r.ravel())) + "}" for r in x) + "\n};\n"
            f"static const int8_t vectors_expected[{len(y)}][{y[0].size}] = {{\n" +
            ",\n".join("    {" + ", ".join(map(str, r.ravel())) + "}" for r in y) + "\n};\n")


def _write(path, text):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(text)


def _run(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{what} failed (exit {r.returncode}):\n{' '.join(cmd)[:400]}\n{r.stdout}{r.stderr}")
    return r.stdout


def host_runner(nn, includes, work, commit):
    """Compile CMSIS-NN for the host once (gcc -O2, its portable C code);
    returns a function building the runner for a model folder."""
    key = hashlib.sha256(repr((nn, commit, includes)).encode()).hexdigest()[:12]
    obj_dir = os.path.join(work, f"host-cmsis-nn-{key}")
    sources = cmsis_sources(nn)
    objects = [os.path.join(obj_dir, os.path.basename(s)[:-2] + ".o") for s in sources]
    library = os.path.join(obj_dir, "libcmsis-nn.a")
    inc = [a for d in includes for a in ("-I", d)]
    if not os.path.isfile(library):
        say(f"compiling CMSIS-NN for the host ({len(sources)} files)")
        os.makedirs(obj_dir, exist_ok=True)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda so: _run(["gcc", "-std=c99", "-O2", *inc, "-c", so[0], "-o", so[1]],
                                          f"compiling {os.path.basename(so[0])}"), zip(sources, objects)))
        _run(["ar", "rcs", library + ".tmp", *objects], "ar")
        os.replace(library + ".tmp", library)

    def build(folder):
        exe = os.path.join(folder, "cmsis_runner")
        _run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-DPEERS_SCRATCH_BYTES=1048576", *inc, "-I", folder,
              os.path.join(HERE, "peers", "cmsis_runner.c"), library, "-o", exe], "building the host runner")
        return exe
    return build


def section_sizes(elf):
    out = _run([firmware.tool("arm-none-eabi-size"), "-A", elf], "arm-none-eabi-size")
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def stack_bytes(board):
    _, targets = firmware.source_dirs()
    with open(os.path.join(targets, "ld", firmware.BOARD_SCRIPTS[board])) as f:
        for line in f:
            if line.strip().startswith("STACK_SIZE"):
                return int(line.split("=")[1].strip().rstrip(";"), 0)
    return 0x4000


# -- the two engines ------------------------------------------------------------

def cmsis_nn_side(name, im, x_test, y_test, nn, includes, build_host, folder):
    """Accuracy on the host build (checked against the numpy reference on
    every image), then the firmware on QEMU for each target."""
    os.makedirs(folder, exist_ok=True)
    _write(os.path.join(folder, "peers_model.h"), render_model_header(im, name))
    exe = build_host(folder)
    sizes = [tuple(map(int, line.split()[1:])) for line in _run([exe, "sizes"], "cmsis_runner sizes").splitlines()]
    xq = im.quantize_input(x_test)
    with tempfile.TemporaryDirectory() as tmp:
        xin, yout = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")
        xq.tofile(xin)
        say(f"  CMSIS-NN (host) on {len(xq)} test images")
        _run([exe, xin, yout], "the host runner")
        host = np.fromfile(yout, dtype=np.int8).reshape(len(xq), -1)
    say("  numpy int8 reference on the same images")
    ref = np.concatenate([im.forward(xq[i:i + 500]).reshape(-1, host.shape[1]) for i in range(0, len(xq), 500)])
    row = dict(engine="CMSIS-NN int8", accuracy=float(np.mean(np.argmax(host, 1) == y_test)),
               reference_mismatches=int(np.count_nonzero(np.any(host != ref, axis=1))),
               weight_bytes=im.weight_bytes(), layers=[op.source for op in im.layers if op.kind != "flatten"],
               targets={})
    sources = [(os.path.join(HERE, "peers", "cmsis_runner.c"), ["-DPEERS_FIRMWARE"])]
    sources += [(s, []) for s in cmsis_sources(nn)]
    _write(os.path.join(folder, "peers_vectors.h"), render_vectors(xq[:QEMU_CHECKS], host[:QEMU_CHECKS]))
    for target in TARGETS:
        scratch = max(s[1] if firmware.TARGETS[target]["dsp"] else s[0] for s in sizes)
        out = os.path.join(folder, target)
        os.makedirs(out, exist_ok=True)
        say(f"  CMSIS-NN on {target}: cross-compiling and running on QEMU")
        elf, board = firmware.build_program(target, out, sources, "cmsis", include_dirs=[folder, *includes],
                                            extra_c_args=[f"-DPEERS_SCRATCH_BYTES={scratch}"])
        status, text, counts = firmware.run_elf(board, elf, timeout=600)
        if status != 0 or f"{QEMU_CHECKS + 1} passed, 0 failed" not in text:
            raise SystemExit(f"the CMSIS-NN firmware on {target} failed (exit {status}):\n{text}")
        s, syms = section_sizes(elf), firmware.symbols(elf)
        vectors = sum(syms.get(v, (0, 0))[1] for v in ("vectors_input", "vectors_expected"))
        flash = s.get(".isr_vector", 0) + s.get(".text", 0) + s.get(".ARM.exidx", 0) + s.get(".rodata", 0) + \
            s.get(".data", 0) - vectors
        stack = stack_bytes(board)
        row["targets"][target] = dict(
            board=board, status="passed", instructions=counts["inference"][0], per_layer=counts["layer"],
            flash=flash, ram=s.get(".data", 0) + s.get(".bss", 0) + stack, stack=stack,
            arena=arena_bytes(im) + scratch, scratch=scratch)
    return row


def circnn_side(model, calibration, x_test, y_test, folder, weight_bits=16):
    """circnn's q15 model: accuracy through the C engine, firmware on QEMU."""
    q = model.quantize(calibration, weight_bits=weight_bits)
    out = circnn.Engine(q).run_raw(q.quantize_input(x_test)).reshape(len(x_test), -1)
    row = dict(engine="circnn q15" + (", 8-bit weights" if weight_bits == 8 else ""), weight_bits=weight_bits,
               accuracy=float(np.mean(np.argmax(out, 1) == y_test)), weight_bytes=len(q.blob),
               layers=[op.label for op in q.ops], targets={})
    for target in TARGETS:
        say(f"  circnn on {target}: cross-compiling and running on QEMU")
        out_dir = os.path.join(folder, target)
        build = firmware.build(q, target, out_dir, inputs=q.quantize_input(x_test[:QEMU_CHECKS]))
        result = firmware.run(out_dir, timeout=600)
        if result["status"] != "passed":
            raise SystemExit(firmware.format_run(result))
        m = build["memory"]
        row["targets"][target] = dict(
            board=result["board"], status=result["status"], instructions=result["instructions"]["inference"],
            per_layer=[r["instructions"] for r in result["instructions"]["per_layer"]],
            flash=m["flash_without_tests"], ram=m["ram"], stack=m["stack"], arena=m["arena"])
    return row


# -- tables ------------------------------------------------------------------------

def n(v):
    return f"{v:,}" if isinstance(v, int) else str(v)


def summary_table(results):
    t4, t0 = TARGETS
    lines = ["| network | engine | float % | quantized % | weight bytes | flash M4F / M0+ | RAM M4F / M0+ | "
             "arena M4F / M0+ | M4F instructions | M0+ instructions |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for e in r["engines"]:
            a, b = e["targets"][t4], e["targets"][t0]
            lines.append(f"| {r['model']} | {e['engine']} | {100 * r['float_accuracy']:.2f} | "
                         f"{100 * e['accuracy']:.2f} | {n(e['weight_bytes'])} | {n(a['flash'])} / {n(b['flash'])} | "
                         f"{n(a['ram'])} / {n(b['ram'])} | {n(a['arena'])} / {n(b['arena'])} | "
                         f"{n(a['instructions'])} | {n(b['instructions'])} |")
    return "\n".join(lines)


def layer_table(r):
    """Per layer, both engines side by side (the layers of the float model in
    order; CMSIS-NN has no flatten call, and its convolution and max pool
    calls sum into the row of circnn's layer that fuses them)."""
    t4, t0 = TARGETS
    circ = next(e for e in r["engines"] if e["engine"].startswith("circnn"))
    cm = next(e for e in r["engines"] if e["engine"].startswith("CMSIS"))
    lines = [f"| {r['model']} layer | circnn M4F | CMSIS-NN M4F | circnn M0+ | CMSIS-NN M0+ |",
             "|---|---:|---:|---:|---:|"]
    c_iter = iter(range(len(cm["targets"][t4]["per_layer"])))
    for i, name in enumerate(circ["layers"]):
        calls = 0 if name.startswith("flatten") else 2 if name.endswith("+maxpool2d") else 1
        js = [j for j in (next(c_iter, None) for _ in range(calls)) if j is not None]
        cells = []
        for t in (t4, t0):
            cells.append(n(circ["targets"][t]["per_layer"][i]))
            cells.append(n(sum(cm["targets"][t]["per_layer"][j] for j in js)) if js else "-")
        lines.append(f"| {i} {name} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} |")
    lines.append(f"| **per inference** | **{n(circ['targets'][t4]['instructions'])}** | "
                 f"**{n(cm['targets'][t4]['instructions'])}** | **{n(circ['targets'][t0]['instructions'])}** | "
                 f"**{n(cm['targets'][t0]['instructions'])}** |")
    return "\n".join(lines)


def last_runs(cache, names):
    """The records of the networks' last runs in cache (peers-<network>.json), in MODELS order."""
    records = []
    for name in names:
        path = os.path.join(cache, f"peers-{name}.json")
        if os.path.isfile(path):
            with open(path) as f:
                records.append(json.load(f))
    return records


def publish(cache, path=None):
    """Write the last run of every network into one record at `path`
    (default PUBLISHED).  The runs must share the training recipe and the
    CMSIS-NN commit: a table mixing them would compare unlike things."""
    path = path or PUBLISHED
    records = last_runs(cache, list(MODELS))
    if not records:
        raise SystemExit(f"nothing to publish: no peers-<network>.json in {cache}")
    first = records[0]
    for rec in records[1:]:
        for field in ("recipe", "commits"):
            if rec[field] != first[field]:
                raise SystemExit(f"cannot publish: {rec['results'][0]['model']} was measured with {field} "
                                 f"{rec[field]}, {first['results'][0]['model']} with {first[field]}; "
                                 "rerun the networks together")
    record = dict(first, results=[rec["results"][0] for rec in records])
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    say(f"published {', '.join(r['model'] for r in record['results'])} -> {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cmsis-nn", help="a CMSIS-NN checkout (measured with commit %s)" % CMSIS_NN_COMMIT[:8])
    ap.add_argument("--cmsis-core", help="a CMSIS_6 checkout (its CMSIS/Core/Include goes on the include path)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated, from: " + ", ".join(MODELS))
    ap.add_argument("--cache", default=os.path.join(HERE, "..", "build", "peers"),
                    help="trained weights and build folders, one subfolder per recipe (default build/peers)")
    ap.add_argument("--recipe", choices=list(RECIPES), default="short",
                    help="training recipe, the same for every network (default %(default)s: " +
                         recipe_text(RECIPES["short"]) + "; long: " + recipe_text(RECIPES["long"]) + ")")
    ap.add_argument("--epochs", type=int, help="training budget (default: the recipe's)")
    ap.add_argument("--train-only", action="store_true", help="train (or load) the networks and stop")
    ap.add_argument("--table", action="store_true", help="print the tables of the networks' last runs and stop")
    ap.add_argument("--publish", action="store_true",
                    help="write the last runs of every network into benchmarks/peers.json (the figures "
                         "`circnn demo` quotes; they ship with the package)")
    args = ap.parse_args(argv)
    names = args.models.split(",")
    for name in names:
        if name not in MODELS:
            raise SystemExit(f"unknown model {name!r}: choose from {', '.join(MODELS)}")
    recipe = dict(RECIPES[args.recipe])
    if args.epochs is not None:
        if args.epochs < 1:
            raise SystemExit("--epochs must be at least 1")
        recipe["epochs"] = args.epochs
    cache = os.path.join(os.path.abspath(args.cache), args.recipe)
    if args.table:
        records = last_runs(cache, names)
        for rec in records:
            print(f"{rec['results'][0]['model']}: CMSIS-NN {(rec['commits']['CMSIS-NN'] or '?')[:8]}; {rec['recipe']}")
        results = [rec["results"][0] for rec in records]
        print("\n" + summary_table(results))
        for r in results:
            print("\n" + layer_table(r))
        if args.publish:
            publish(cache)
        return 0
    if not args.train_only:
        nn, includes, commits = check_cmsis(args.cmsis_nn, args.cmsis_core)
        firmware.check_tools(run=True)
        firmware.tool("gcc", "gcc")
    data = circnn.datasets.fashion_mnist()
    (x_train, _), (x_test, y_test) = data
    models = {name: trained(name, data, cache, recipe) for name in names}
    if args.train_only:
        return 0
    build_host = host_runner(nn, includes, cache, commits["CMSIS-NN"])
    calibration = x_train[np.random.default_rng(0).permutation(len(x_train))[:CALIBRATION]]
    results = []
    for name, model in models.items():
        say(f"{name}: float accuracy, circnn q15, CMSIS-NN int8")
        r = dict(model=name, float_accuracy=float(train.evaluate(model, x_test, y_test)), engines=[])
        r["engines"].append(circnn_side(model, calibration, x_test, y_test, os.path.join(cache, name, "circnn"),
                                        weight_bits=WEIGHT_BITS.get(name, 16)))
        im = int8_model.Int8Model(model, calibration)
        r["engines"].append(cmsis_nn_side(name, im, x_test, y_test, nn, includes, build_host,
                                          os.path.join(cache, name, "cmsis-nn")))
        if r["engines"][-1]["reference_mismatches"]:
            raise SystemExit(f"{name}: CMSIS-NN and the numpy int8 reference differ on "
                             f"{r['engines'][-1]['reference_mismatches']} test images")
        results.append(r)
    record = dict(recipe=recipe_text(recipe), commits=commits, tools=firmware.tool_versions(),
                  calibration_images=CALIBRATION, test_images=len(x_test), qemu_checks=QEMU_CHECKS,
                  results=results)
    for r in results:      # one file per network, so that runs of some networks keep the others'
        with open(os.path.join(cache, f"peers-{r['model']}.json"), "w") as f:
            json.dump(dict(record, results=[r]), f, indent=2)
    print()
    print(f"circnn against CMSIS-NN int8 (CMSIS-NN {(commits['CMSIS-NN'] or 'unknown commit')[:8]}), "
          f"Fashion-MNIST, {len(x_test)} test images; training: {recipe_text(recipe)}")
    print(f"{record['tools']}\n")
    print(summary_table(results))
    for r in results:
        print()
        print(layer_table(r))
    if args.publish:
        publish(cache)
    print(f"\n(numpy int8 reference = CMSIS-NN host build on every test image; QEMU = host on "
          f"{QEMU_CHECKS} images per target; results in {os.path.join(cache, 'peers-<network>.json')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
