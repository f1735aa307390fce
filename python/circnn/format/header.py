"""The firmware header: an exported model as C99 source.

The header is data, never control flow: a banner, a format-version check,
macros (arena bytes, shapes, scales), a comment table of the layers, and the
blob as an aligned const byte array, exactly the bytes of the .circ file.
Deterministic: the same model gives the same text.
"""
import os
import re

from . import blob as B

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while", "_Bool", "_Complex", "_Imaginary",
}


def check_name(name):
    """A C identifier prefix: letters, digits, underscores, not a keyword."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"name must be a C identifier (letters, digits, _; not starting with a digit), got {name!r}")
    if name in C_KEYWORDS or name.startswith("__"):
        raise ValueError(f"name {name!r} is reserved in C")
    return name


# The options of circnn/config.h, CIRCNN_WITH_<name>: the numeric types,
# then the layer kinds (named as blob.LAYER_NAMES, in type order), then the
# 8-bit weights (formats 3 and 4), then the kernels of q15 conv2d with OHWI
# weights (format 6; without them the reference kernel serves, same bits),
# then the max pool fused into a convolution (format 7).
CONFIG_OPTIONS = ("F32", "Q15") + tuple(B.LAYER_NAMES[t].upper() for t in sorted(B.LAYER_NAMES)) + \
    ("WEIGHT8", "CONV2D_OHWI", "POOL2")

# The names a header for model `name` defines, besides `{name}_blob`.
_MACROS = ("CIRCNN_MODEL_H", "BLOB_BYTES", "ARENA_BYTES", "DTYPE", "INPUT_H", "INPUT_W", "INPUT_C", "INPUT_COUNT",
           "OUTPUT_H", "OUTPUT_W", "OUTPUT_C", "OUTPUT_COUNT", "INPUT_FRAC", "OUTPUT_FRAC", "ALIGNED") + \
    tuple(f"NEEDS_{o}" for o in CONFIG_OPTIONS) + ("BLOCK_SIZES",)

#: circnn/config.h's default CIRCNN_FFT_SIZES: every size from 2 to 1024
ALL_FFT_SIZES = 2046


def needs(model):
    """{option: 0 or 1} for every option of circnn/config.h: 1 for the
    model's numeric type and the kinds of its layers, 0 for the rest (what
    a runtime built for this model alone may compile out)."""
    used = {model.dtype.upper()} | {B.LAYER_NAMES[op.type].upper() for op in model.ops}
    if any(op.weight_bits == 8 for op in model.ops):
        used.add("WEIGHT8")
    if any(B.stored_ohwi(op, model.dtype) for op in model.ops):
        used.add("CONV2D_OHWI")
    if any(op.pool for op in model.ops):
        used.add("POOL2")
    return {o: int(o in used) for o in CONFIG_OPTIONS}


def fft_sizes(model):
    """The OR of the block sizes k of the model's circulant layers (0 without
    any): circnn/config.h's CIRCNN_FFT_SIZES for this model alone."""
    sizes = 0
    for op in model.ops:
        if op.type in B.CIRCULANT:
            sizes |= op.block_size
    return sizes


def config_flags(model):
    """The compiler flags that build the runtime for this model alone:
    -DCIRCNN_WITH_<option>=0 for every option the model does not need, and
    -DCIRCNN_FFT_SIZES=<its block sizes> unless it needs them all."""
    flags = [f"-DCIRCNN_WITH_{o}=0" for o, need in needs(model).items() if not need]
    sizes = fft_sizes(model)
    return flags + ([f"-DCIRCNN_FFT_SIZES={sizes}"] if sizes != ALL_FFT_SIZES else [])


def runtime_identifiers(include=None):
    """Every identifier in the code (not the comments) of circnn's public C
    headers: the names a generated header must not define again."""
    if include is None:
        from .._native import get_include
        include = get_include()
    folder = os.path.join(include, "circnn")
    names = set()
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".h"):
            with open(os.path.join(folder, entry), encoding="utf-8") as f:
                code = re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\])*"', " ", f.read(), flags=re.S)
            names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    return names


def check_names_are_free(name, include=None):
    """ValueError if a name the header for `name` defines is also a name of the
    runtime's headers (name="circnn" is fine; a name whose macros would be, say,
    CIRCNN_MAX_... is not)."""
    up = name.upper()
    taken = runtime_identifiers(include)
    clashes = [n for n in [f"{up}_{m}" for m in _MACROS] + [f"{name}_blob"] if n in taken]
    if clashes:
        raise ValueError(f"name {name!r} would define {', '.join(clashes)}, which circnn's own headers "
                         "already use: choose another name")


def _shape(s):
    return "x".join(str(d) for d in s)


def layer_table(model):
    """Lines of the readable layer table (also printed by `circnn info`)."""
    rows = model.table()
    wide = max([15] + [len(r["type"]) for r in rows])     # "depthwise_conv2d+relu" widens the column
    head = f"{'#':>3}  {'layer':<{wide}} {'input':<12} {'output':<12} {'k':>4} {'params':>9} {'dense eq.':>10} {'bytes':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['index']:>3}  {r['type']:<{wide}} {_shape(r['input']):<12} {_shape(r['output']):<12} "
                     f"{str(r['k']):>4} {r['params']:>9} {r['dense_params']:>10} {r['bytes']:>9}")
    return lines


def _version_check(version):
    """The preprocessor test that stops a build whose runtime does not read
    this format version (CIRCNN_FORMAT_VERSION is the oldest it reads;
    runtimes before format 2 know no other macro, so a version-1 model keeps
    the check they had)."""
    if version == 1:
        return "#if !defined(CIRCNN_FORMAT_VERSION) || CIRCNN_FORMAT_VERSION != 1"
    return (f"#if !defined(CIRCNN_FORMAT_VERSION_NEWEST) || CIRCNN_FORMAT_VERSION_NEWEST < {version} || \\\n"
            f"    CIRCNN_FORMAT_VERSION > {version}")


def render_header(model, name):
    from .._native import __version__
    name = check_name(name)
    check_names_are_free(name)
    up = name.upper()
    data = model.blob
    rows = []
    for i in range(0, len(data), 16):
        rows.append("    " + " ".join(f"0x{b:02x}," for b in data[i:i + 16]))
    in3, out3 = model.ops[0].in_shape, model.ops[-1].out_shape
    table = "\n".join(" *   " + line for line in layer_table(model))
    need = needs(model)
    need_macros = "\n".join(f"#define {up}_NEEDS_{o} {v}" for o, v in need.items())
    need_test = " || ".join([f"!CIRCNN_WITH_{o}" for o, v in need.items() if v] +
                            [f"({up}_BLOCK_SIZES & ~CIRCNN_FFT_SIZES) != 0"])
    flags = config_flags(model)
    flag_lines = "\n".join(" *     " + " ".join(flags[i:i + 3]) for i in range(0, len(flags), 3)) or \
        " *     (no flag: it needs every option, the default configuration)"
    return f"""/*
 * {name}.h - circnn model "{name}", generated by circnn {__version__}. Do not edit: re-export.
 *
 * Model sha256 {model.hash}
 * Format version {model.version}, numeric type {model.dtype}, {len(data)} bytes, arena {model.arena_bytes} bytes.
 *
{table}
 *
 * Use:
 *   static uint64_t arena[({up}_ARENA_BYTES + 7) / 8];
 *   circnn_model_t model;
 *   if (circnn_model_init(&model, {name}_blob, {up}_BLOB_BYTES, arena, sizeof arena) != CIRCNN_OK) ...;
 *   circnn_model_run(&model, input, output, arena);
 *
 * The runtime this model needs: {up}_NEEDS_* below are 1 for its numeric
 * type and layer kinds, {up}_BLOCK_SIZES is the OR of its block sizes.  A
 * runtime built for it alone compiles the rest out (circnn/config.h),
 * which leaves only this model's kernels in the firmware; compile every
 * circnn source with
{flag_lines}
 */
#ifndef {up}_CIRCNN_MODEL_H
#define {up}_CIRCNN_MODEL_H

#include <stdint.h>

#include "circnn/model.h"

{_version_check(model.version)}
#error "{name}.h holds a model in circnn format {model.version}, which this circnn runtime does not read: re-export the model with the circnn that matches the runtime"
#endif

{need_macros}
#define {up}_BLOCK_SIZES {fft_sizes(model)}   /* the OR of its block sizes k */
#if {need_test}
#error "{name}.h: this model needs a numeric type, layer kind or transform size that circnn/config.h compiles out ({up}_NEEDS_* are 1 for what it needs, {up}_BLOCK_SIZES holds its block sizes)"
#endif

#define {up}_BLOB_BYTES {len(data)}u
#define {up}_ARENA_BYTES {model.arena_bytes}u
#define {up}_DTYPE CIRCNN_DTYPE_{model.dtype.upper()}
#define {up}_INPUT_H {in3[0]}u
#define {up}_INPUT_W {in3[1]}u
#define {up}_INPUT_C {in3[2]}u
#define {up}_INPUT_COUNT {in3[0] * in3[1] * in3[2]}u
#define {up}_OUTPUT_H {out3[0]}u
#define {up}_OUTPUT_W {out3[1]}u
#define {up}_OUTPUT_C {out3[2]}u
#define {up}_OUTPUT_COUNT {out3[0] * out3[1] * out3[2]}u
#define {up}_INPUT_FRAC {model.input_frac}   /* q15: input value = x * 2^-frac */
#define {up}_OUTPUT_FRAC {model.output_frac}  /* q15: output value = y * 2^-frac */

#if defined(__GNUC__) || defined(__clang__)
#define {up}_ALIGNED __attribute__((aligned(16)))
#else
#define {up}_ALIGNED /* circnn_model_init returns CIRCNN_ERR_ALIGN if the array is not 4-byte aligned */
#endif

static const uint8_t {name}_blob[{up}_BLOB_BYTES] {up}_ALIGNED = {{
{chr(10).join(rows)}
}};

#endif /* {up}_CIRCNN_MODEL_H */
"""
