"""Cortex-M firmware: cross-build the test runner for a model, run it on QEMU.

build(model, target, out_dir) writes the model header and a header of test
vectors (inputs and the outputs the numpy simulator gives for q15 models,
the host C engine for f32 models), compiles the runtime and
targets/firmware/runner.c with arm-none-eabi-gcc and the flags of
targets/<target>.ini, links it for the target's QEMU board and reports flash
and RAM.  run(out_dir) runs that firmware on QEMU with the
instruction-counting plugin (targets/qemu_plugin) and returns pass/fail and
the executed instructions per inference and per layer.

The C sources come from the installed package (circnn/src, circnn/targets)
or, in an editable install, from the repository checkout.
"""
import ast
import configparser
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

from .format import blob as B
from .format import header

APT_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"

# target -> QEMU board and linker script; M0+ code runs on the micro:bit's M0
# (same ARMv6-M instructions), or on mps2-an385 when it does not fit 16 KB.
TARGETS = {
    "cortex-m0plus": dict(board="microbit", ldscript="microbit.ld", fpu=False, dsp=False,
                          fallback=("mps2-an385", "mps2.ld")),
    "cortex-m3": dict(board="mps2-an385", ldscript="mps2.ld", fpu=False, dsp=False),
    "cortex-m4f": dict(board="mps2-an386", ldscript="mps2.ld", fpu=True, dsp=True),
    "cortex-m7": dict(board="mps2-an500", ldscript="mps2.ld", fpu=True, dsp=True),
    "cortex-m33": dict(board="mps2-an505", ldscript="an505.ld", fpu=True, dsp=True),
}
BOARD_SCRIPTS = {"microbit": "microbit.ld", "mps2-an385": "mps2.ld", "mps2-an386": "mps2.ld",
                 "mps2-an500": "mps2.ld", "mps2-an505": "an505.ld"}

# Marker pairs, in the order given to the plugin (targets/firmware/markers.h).
MARKER_PAIRS = ("inference", "layer", "empty", "bench")

RUNNER_EXIT = {0: "passed", 1: "mismatch", 2: "refused", 127: "fault"}


class ToolchainMissing(RuntimeError):
    """The Arm cross toolchain, QEMU or a host C compiler is not installed."""


class FirmwareError(RuntimeError):
    """The firmware could not be built, or its output could not be read."""


# -- where things are --------------------------------------------------------

def _package_dir():
    return os.path.dirname(os.path.abspath(__file__))


def source_dirs():
    """(src, targets): the C sources shipped in the package, or the checkout's."""
    pkg = _package_dir()
    for src, targets in ((os.path.join(pkg, "src"), os.path.join(pkg, "targets")),
                         (os.path.join(pkg, "..", "..", "src"), os.path.join(pkg, "..", "..", "targets"))):
        if os.path.isfile(os.path.join(src, "model_run.c")) and \
                os.path.isfile(os.path.join(targets, "firmware", "runner.c")):
            return os.path.normpath(src), os.path.normpath(targets)
    raise FirmwareError(f"circnn's C sources are not installed beside the package ({pkg}/src, {pkg}/targets); "
                        "reinstall with `pip install .`")


def tool(name, package=None):
    """The path of a program, or ToolchainMissing naming the Debian packages."""
    path = shutil.which(name)
    if path is None:
        what = {"gcc": "a host C compiler (Debian package gcc), needed for the QEMU plugin"}.get(name)
        raise ToolchainMissing(
            f"{name} not found: " + (what or "circnn firmware needs the Arm cross toolchain and QEMU") +
            f". On Debian or Ubuntu: sudo apt-get install --no-install-recommends "
            f"{package or APT_PACKAGES}")
    return path


def check_tools(run=True):
    """Raise ToolchainMissing unless everything needed to build (and run) is there."""
    for name in ("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm"):
        tool(name)
    if not _newlib_present():
        raise ToolchainMissing("arm-none-eabi-gcc has no C library (newlib): sudo apt-get install "
                               f"--no-install-recommends {APT_PACKAGES}")
    if run:
        tool("qemu-system-arm")
        tool("gcc", "gcc")


def _newlib_present():
    try:
        out = subprocess.run([tool("arm-none-eabi-gcc"), "-print-file-name=libc_nano.a"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except subprocess.CalledProcessError:
        return False
    return os.path.isabs(out) and os.path.isfile(out)


def tool_versions():
    """One line: the cross compiler's and QEMU's versions."""
    gcc = _run([tool("arm-none-eabi-gcc"), "--version"], "arm-none-eabi-gcc").stdout.splitlines()[0]
    qemu = _run([tool("qemu-system-arm"), "--version"], "qemu-system-arm").stdout.splitlines()[0]
    return f"{gcc}; {qemu}"


def target_flags(target):
    """(compile flags, link flags) from targets/<target>.ini, the meson cross file."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    _, targets = source_dirs()
    cp = configparser.ConfigParser()
    cp.read(os.path.join(targets, f"{target}.ini"))
    opts = cp["built-in options"]
    level = ast.literal_eval(opts.get("optimization", "'2'"))
    c_args = list(ast.literal_eval(opts["c_args"])) + [f"-O{level}"]
    link_args = list(ast.literal_eval(opts["c_link_args"]))
    return c_args, link_args


def runtime_flags():
    """The flags circnn's C sources are compiled with in every build: the
    list of src/cflags.txt, which meson.build reads too (warnings as strict
    as meson's, and -ffp-contract=off for f32 bit-identity)."""
    src, _ = source_dirs()
    with open(os.path.join(src, "cflags.txt"), encoding="ascii") as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line and not line.startswith("#")]


# -- test vectors --------------------------------------------------------------

def default_inputs(model, count=8, seed=0):
    """count float inputs: zeros, then uniform [0, 1) like scaled pixels, and
    one uniform [-1, 1) (negative values too)."""
    rng = np.random.default_rng(seed)
    shape = (count,) + tuple(model.input_shape)
    x = rng.uniform(0.0, 1.0, shape)
    if count > 1:
        x[0] = 0.0
    if count > 2:
        x[-1] = rng.uniform(-1.0, 1.0, shape[1:])
    return x


def test_vectors(model, inputs):
    """(raw inputs, expected raw outputs): int16 for q15 (the simulator's),
    float32 for f32 (the host C engine's)."""
    inputs = np.asarray(inputs)
    if model.dtype == "q15":
        xq = inputs if inputs.dtype == np.int16 else model.quantize_input(inputs)
        return xq, model.simulate_raw(xq)
    from .native.engine import Engine
    x32 = inputs.astype(np.float32)
    return x32, Engine(model).run_raw(x32)


def render_vectors(model, x, y):
    """The text of vectors.h: inputs and expected outputs as bit patterns."""
    count = len(x)
    bits = 16 if model.dtype == "q15" else 32
    utype = np.uint16 if bits == 16 else np.uint32
    xin = np.ascontiguousarray(x).reshape(count, -1).view(utype)
    yout = np.ascontiguousarray(y).reshape(count, -1).view(utype)
    width = bits // 4

    def rows(a):
        out = []
        for r in a:
            vals = [f"0x{int(v):0{width}x}" for v in r]
            chunks = [", ".join(vals[i:i + 12]) for i in range(0, len(vals), 12)]
            out.append("    {\n        " + ",\n        ".join(chunks) + "\n    },")
        return "\n".join(out)

    ctype = "uint16_t" if bits == 16 else "uint32_t"
    source = "the numpy simulator (circnn.ExportedModel.simulate_raw)" if bits == 16 \
        else "the host C engine (circnn.Engine.run_raw)"
    return f"""/*
 * vectors.h - test vectors for circnn's firmware runner, generated by
 * circnn.firmware.  Do not edit.  Model sha256 {model.hash}.
 * {count} inputs ({model.dtype}: {'int16' if bits == 16 else 'float32'} as bit patterns) and the outputs
 * {source} gives for them.
 */
#ifndef CIRCNN_VECTORS_H
#define CIRCNN_VECTORS_H

#include <stdint.h>

#define VECTORS_COUNT {count}u
#define VECTORS_ELEM_BITS {bits}
#define VECTORS_INPUT_COUNT {xin.shape[1]}u
#define VECTORS_OUTPUT_COUNT {yout.shape[1]}u

static const {ctype} vectors_input[VECTORS_COUNT][VECTORS_INPUT_COUNT] = {{
{rows(xin)}
}};

static const {ctype} vectors_expected[VECTORS_COUNT][VECTORS_OUTPUT_COUNT] = {{
{rows(yout)}
}};

#endif /* CIRCNN_VECTORS_H */
"""


# -- building ----------------------------------------------------------------

def _run(cmd, what, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0:
        raise FirmwareError(f"{what} failed ({' '.join(cmd[:1])} exit {r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def configured_sources(src):
    """The runtime's sources that read circnn/config.h's options (the model
    runtime, the q15 transforms): compiled once per configuration, the
    others once for all."""
    names = []
    for name in sorted(os.listdir(src)):
        if name.endswith(".c"):
            with open(os.path.join(src, name), encoding="utf-8") as f:
                if re.search(r"\bCIRCNN_(WITH_\w+|FFT_SIZES)\b", f.read()):
                    names.append(name)
    return names


def _library_objects(target, c_args, include, src, jobs, config_args=()):
    """The runtime's objects for a target: the kernels compiled once per set
    of sources and flags, the sources that read circnn/config.h once per
    configuration too (config_args, -DCIRCNN_WITH_...=0; cached under
    ~/.cache/circnn or $CIRCNN_CACHE)."""
    names = sorted(f for f in os.listdir(src) if f.endswith(".c"))
    configured = configured_sources(src)
    kernels = [f for f in names if f not in configured]
    return _compiled(target, list(c_args), include, src, kernels, jobs) + \
        _compiled(target, list(c_args) + list(config_args), include, src, configured, jobs)


def _compiled(target, c_args, include, src, sources, jobs):
    """sources (names in src) compiled for a target with c_args, cached."""
    flags = runtime_flags()
    h = hashlib.sha256()
    h.update(repr((target, c_args, flags, sources)).encode())
    for folder in (src, os.path.join(include, "circnn")):
        for name in sorted(os.listdir(folder)):
            if name.endswith((".c", ".h")):
                h.update(name.encode())
                with open(os.path.join(folder, name), "rb") as f:
                    h.update(f.read())
    cache_root = os.environ.get("CIRCNN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "circnn")
    cache = os.path.join(cache_root, "firmware", f"{target}-{h.hexdigest()[:16]}")
    objects = [os.path.join(cache, s[:-2] + ".o") for s in sources]
    if all(os.path.isfile(o) for o in objects):
        return objects
    tmp = tempfile.mkdtemp(prefix=".build-", dir=_ensure_dir(cache_root))
    gcc = tool("arm-none-eabi-gcc")
    base = [gcc, "-std=c99", *c_args, *flags, "-I", include, "-I", src]

    def compile_one(name):
        _run(base + ["-c", os.path.join(src, name), "-o", os.path.join(tmp, name[:-2] + ".o")],
             f"compiling {name} for {target}")

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        list(pool.map(compile_one, sources))
    if os.path.isdir(cache):
        shutil.rmtree(tmp)
    else:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        try:
            os.rename(tmp, cache)
        except OSError:      # another process got there first
            shutil.rmtree(tmp)
    return objects


def _ensure_dir(path):
    os.makedirs(path, exist_ok=True)
    return path


def _section_sizes(elf):
    out = _run([tool("arm-none-eabi-size"), "-A", elf], "arm-none-eabi-size").stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def symbols(elf):
    """{name: (address, size)} of the ELF's defined symbols."""
    out = _run([tool("arm-none-eabi-nm"), "-S", elf], "arm-none-eabi-nm").stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            syms[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
        elif len(parts) == 3:
            syms[parts[2]] = (int(parts[0], 16), 0)
    return syms


#: the output sections that go to flash
FLASH_SECTIONS = (".isr_vector", ".text", ".rodata", ".data", ".ARM.exidx")


def map_sections(path):
    """[(output section, input section, size, object)] of a GNU ld map file,
    the input sections that go to flash (FLASH_SECTIONS)."""
    text = open(path, encoding="utf-8", errors="replace").read()
    lines = text[text.index("Linker script and memory map"):].splitlines()
    out, current, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\.\S+)", line)
        if m:
            current = m.group(1)
        m = re.match(r"^ (\.\S+)\s*$", line)     # a long input section name wraps its line
        if m and i + 1 < len(lines):
            line = line + lines[i + 1]
            i += 1
        m = re.match(r"^ (\.\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)", line)
        if m and current in FLASH_SECTIONS and int(m.group(2), 16):
            out.append((current, m.group(1), int(m.group(2), 16), m.group(3)))
        i += 1
    return out


#: the object of the runner's per-layer copy of the layer loop (build(): its second source)
LAYER_COPY_OBJECT = "runner-1-model_run.o"


def layer_copy_bytes(map_path):
    """Flash of the runner's per-layer copy of src/model_run.c (layer_hooks.h):
    every input section of its object, its static helpers included."""
    return sum(size for _, _, size, obj in map_sections(map_path) if os.path.basename(obj) == LAYER_COPY_OBJECT)


def memory_report(elf, model, stack_bytes, layer_copy=0):
    """Flash and RAM of the firmware from arm-none-eabi-size (sections) and
    nm (the model blob, the test vectors), with the exporter's figures;
    layer_copy: bytes of the per-layer copy of the loop (layer_copy_bytes),
    left out of flash_without_tests as a firmware of one's own has no such copy."""
    s = _section_sizes(elf)
    syms = symbols(elf)
    text = s.get(".isr_vector", 0) + s.get(".text", 0) + s.get(".ARM.exidx", 0)
    rodata = s.get(".rodata", 0)
    data, bss = s.get(".data", 0), s.get(".bss", 0)
    vectors = sum(syms.get(n, (0, 0))[1] for n in ("vectors_input", "vectors_expected"))
    return dict(
        text=text, rodata=rodata, data=data, bss=bss, stack=stack_bytes,
        flash=text + rodata + data, ram=data + bss + stack_bytes,
        blob=len(model.blob), arena=model.arena_bytes, test_vectors=vectors,
        flash_without_tests=text + rodata + data - vectors - layer_copy)


def format_memory(m):
    return "\n".join([
        f"flash {m['flash']:>8} bytes = text {m['text']} + rodata {m['rodata']} + data {m['data']} "
        f"(model blob {m['blob']}, test vectors {m['test_vectors']})",
        f"      {m['flash_without_tests']:>8} bytes without the test vectors and the per-layer copy of the loop",
        f"RAM   {m['ram']:>8} bytes = data {m['data']} + bss {m['bss']} (arena {m['arena']}, in bss) "
        f"+ stack {m['stack']}",
    ])


def build_program(target, out_dir, sources, name, board=None, include_dirs=(), extra_c_args=(), jobs=2,
                  config_args=()):
    """Compile sources ([(path, extra flags)]) with the startup code, the
    marker functions and the runtime for a target, link out_dir/name.elf for
    its QEMU board (cortex-m0plus: microbit, else mps2-an385 when it does not
    fit) and return (elf path, board).  Everything is compiled with the
    flags of runtime_flags() (the list meson compiles the library with):
    -ffp-contract=off keeps a * b + c from becoming a fused multiply-add, so
    f32 results are the host's, bit for bit.  extra_c_args (e.g.
    -DCIRCNN_NO_DSP) apply to the runtime too; config_args (circnn/config.h's
    -DCIRCNN_WITH_...=0) to the model runtime and the program's sources."""
    spec = TARGETS[target]
    from ._native import get_include
    include = get_include()
    src, targets = source_dirs()
    c_args, link_args = target_flags(target)
    c_args = c_args + list(extra_c_args)
    gcc = tool("arm-none-eabi-gcc")
    fw = os.path.join(targets, "firmware")
    startup = os.path.join(targets, "startup")
    objects = _library_objects(target, c_args, include, src, jobs, config_args)
    common = [gcc, "-std=c99", *c_args, *config_args, *runtime_flags(), "-I", include, "-I", src, "-I", fw, "-I", startup,
              "-I", out_dir] + [a for d in include_dirs for a in ("-I", d)]
    items = list(sources) + [(os.path.join(fw, "markers.c"), []), (os.path.join(startup, "startup.c"), [])]
    own_objects = [os.path.join(out_dir, f"{name}-{i}-{os.path.basename(path)[:-2]}.o")
                   for i, (path, _) in enumerate(items)]
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda a: _run(common + a[0][1] + ["-c", a[0][0], "-o", a[1]],
                                     f"compiling {os.path.basename(a[0][0])} for {target}"),
                      zip(items, own_objects)))
    boards = [(board, BOARD_SCRIPTS[board])] if board else [(spec["board"], spec["ldscript"])]
    if board is None and "fallback" in spec:
        boards.append(spec["fallback"])
    elf = os.path.join(out_dir, f"{name}.elf")
    errors = []
    for chosen, script in boards:
        cmd = [gcc, *link_args, "-nostartfiles", "-L", os.path.join(targets, "ld"), "-T", script,
               "-Wl,-Map=" + os.path.join(out_dir, f"{name}.map"), *own_objects, *objects, "-lm", "-o", elf]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0:
            return elf, chosen
        errors.append(f"{chosen}: {r.stdout}{r.stderr}")
    raise FirmwareError(f"linking {name} for {target} failed:\n" + "\n".join(errors))


def build(model, target, out_dir, inputs=None, count=8, seed=0, board=None, jobs=2):
    """Cross-build the runner for an ExportedModel; returns the build record
    (also written to out_dir/firmware.json)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    spec = TARGETS[target]
    check_tools(run=False)
    src, targets = source_dirs()
    os.makedirs(out_dir, exist_ok=True)
    out_dir = os.path.abspath(out_dir)

    if inputs is None:
        inputs = default_inputs(model, count, seed)
    x, y = test_vectors(model, inputs)
    model.write_header(os.path.join(out_dir, "model.h"), "model")
    with open(os.path.join(out_dir, "vectors.h"), "w", encoding="ascii", newline="\n") as f:
        f.write(render_vectors(model, x, y))

    fw = os.path.join(targets, "firmware")
    sources = [(os.path.join(fw, "runner.c"), []),
               # the per-layer copy of the loop (layer_hooks.h)
               (os.path.join(src, "model_run.c"), ["-include", os.path.join(fw, "layer_hooks.h")])]
    # the runtime with exactly the model's numeric type and layer kinds
    # (circnn/config.h): the kernels of the others are not linked in
    config = header.config_flags(model)
    elf, board = build_program(target, out_dir, sources, "runner", board=board, jobs=jobs, config_args=config)
    stack = _stack_size(os.path.join(targets, "ld", BOARD_SCRIPTS[board]))
    memory = memory_report(elf, model, stack, layer_copy_bytes(os.path.join(out_dir, "runner.map")))
    record = dict(target=target, board=board, dtype=model.dtype, elf=os.path.basename(elf), vectors=int(len(x)),
                  config=config,
                  layers=[op.label for op in model.ops],
                  model_sha256=model.hash, memory=memory,
                  note=(f"{target} has no FPU: f32 runs in software floating point" if model.dtype == "f32"
                        and not spec["fpu"] else None))
    with open(os.path.join(out_dir, "firmware.json"), "w") as f:
        json.dump(record, f, indent=2)
    return record


def _stack_size(script):
    with open(script) as f:
        m = re.search(r"STACK_SIZE\s*=\s*(0x[0-9a-fA-F]+|\d+)", f.read())
    return int(m.group(1), 0) if m else 0x4000


# -- running -----------------------------------------------------------------

def plugin_path(cache_dir=None):
    """Build (once) and return the instruction-counting QEMU plugin."""
    _, targets = source_dirs()
    source = os.path.join(targets, "qemu_plugin", "insncount.c")
    with open(source, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    cache_root = cache_dir or os.environ.get("CIRCNN_CACHE") or \
        os.path.join(os.path.expanduser("~"), ".cache", "circnn")
    path = os.path.join(_ensure_dir(cache_root), f"libinsncount-{digest}.so")
    if not os.path.isfile(path):
        tmp = path + f".{os.getpid()}.tmp"
        _run([tool("gcc", "gcc"), "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden",
              "-o", tmp, source], "building the QEMU plugin")
        os.replace(tmp, path)
    return path


def qemu_command(board, elf, plugin_args=None):
    cmd = [tool("qemu-system-arm"), "-M", board, "-display", "none", "-monitor", "none", "-serial", "null",
           "-semihosting-config", "enable=on,target=native", "-kernel", elf]
    if plugin_args:
        cmd += ["-plugin", plugin_args]
    return cmd


def run_elf(board, elf, pairs=MARKER_PAIRS, timeout=60.0):
    """Run an ELF on a QEMU board with the plugin counting between the marker
    pairs.  Returns (exit status or None on timeout, console text,
    {pair name: [counts]})."""
    syms = symbols(elf)
    marks, present = [], []
    for name in pairs:   # a pair the program never calls is not linked in
        b, e = f"circnn_mark_{name}_begin", f"circnn_mark_{name}_end"
        if b in syms and e in syms:
            marks.append(f"mark={syms[b][0]:#x}:{syms[e][0]:#x}")
            present.append(name)
    if not marks:
        raise FirmwareError(f"{elf} has no marker functions (circnn_mark_*_begin/end)")
    with tempfile.TemporaryDirectory() as tmp:
        counts_file = os.path.join(tmp, "counts.txt")
        cmd = qemu_command(board, elf, ",".join([plugin_path()] + marks + [f"out={counts_file}"]))
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout)
            status, text = r.returncode, r.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as exc:
            status, text = None, (exc.stdout or b"").decode("utf-8", "replace")
        counts = {name: [] for name in pairs}
        if os.path.isfile(counts_file):
            with open(counts_file) as f:
                for line in f:
                    parts = line.split()
                    if parts and parts[0] == "region":
                        counts[present[int(parts[1])]].append(int(parts[2]))
                    elif parts and parts[0] == "total":
                        counts["total"] = int(parts[1])
                    elif parts and parts[0] == "dropped":
                        raise FirmwareError(f"the QEMU plugin dropped regions: {line.strip()}")
    return status, text, counts


SENTINEL = re.compile(r"^circnn-runner: (\d+) passed, (\d+) failed$", re.M)


def run(out_dir, timeout=60.0):
    """Run a built runner on its QEMU board.  Returns a dict: target, board,
    status ('passed', 'mismatch', 'fault', 'hang', 'refused', 'error'),
    passed, failed, instructions (per inference, per layer, marker overhead),
    console output."""
    check_tools(run=True)
    path = os.path.join(out_dir, "firmware.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{out_dir} holds no firmware (run `circnn firmware build` first)")
    with open(path) as f:
        record = json.load(f)
    elf = os.path.join(out_dir, record["elf"])
    status, text, counts = run_elf(record["board"], elf, timeout=timeout)
    m = SENTINEL.search(text)
    passed, failed = (int(m.group(1)), int(m.group(2))) if m else (0, None)
    if status is None:
        state = "hang"
    elif status in RUNNER_EXIT:
        state = RUNNER_EXIT[status]
    else:
        state = "error"
    if state == "passed" and (m is None or failed != 0 or passed != record["vectors"] + 1):
        state = "error"
    overhead = counts["empty"][0] if counts["empty"] else None
    layers = record["layers"]
    per_layer = counts["layer"]
    result = dict(
        target=record["target"], board=record["board"], dtype=record["dtype"], status=state,
        exit_status=status, passed=passed, failed=failed,
        instructions=dict(
            per_inference=counts["inference"],
            inference=counts["inference"][0] if counts["inference"] else None,
            per_layer=[dict(index=i, layer=layers[i] if i < len(layers) else "?", instructions=c)
                       for i, c in enumerate(per_layer)],
            marker_overhead=overhead,
            total_executed=counts.get("total")),
        memory=record["memory"], console=text)
    return result


def format_run(r):
    lines = [f"{r['target']} on QEMU {r['board']} ({r['dtype']}): {r['status']}, "
             f"{r['passed']} passed, {r['failed'] if r['failed'] is not None else '?'} failed"]
    ins = r["instructions"]
    if ins["per_inference"]:
        same = len(set(ins["per_inference"])) == 1
        lines.append(f"instructions per inference: {ins['inference']}" +
                     ("" if same else f" (vectors: {', '.join(map(str, ins['per_inference']))})") +
                     f"   (between markers; empty region = {ins['marker_overhead']})")
    for row in ins["per_layer"]:
        lines.append(f"  layer {row['index']:>2} {row['layer']:<16} {row['instructions']:>12}")
    if r["status"] != "passed":
        lines.append("console output:")
        lines.extend("  " + line for line in r["console"].splitlines())
    return "\n".join(lines)
