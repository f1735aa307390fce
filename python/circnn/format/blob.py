"""The model blob: bytes in, ops out and back.  The format is documented in
one place, include/circnn/model.h; this module writes and reads exactly it.
"""
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from .._native import lib

# The format's numbers are circnn/model.h's macros, read from the compiled library.
FORMAT_VERSION = lib.CIRCNN_FORMAT_VERSION                 # the oldest format version read (1)
FORMAT_VERSION_NEWEST = lib.CIRCNN_FORMAT_VERSION_NEWEST   # the newest (8)
MAGIC = b"CIRC"                 # src/model.c compares the four characters (tests/test_package.py checks)
HEADER_BYTES = lib.CIRCNN_HEADER_BYTES
ENTRY_BYTES = lib.CIRCNN_LAYER_ENTRY_BYTES
SECTION_ALIGN = lib.CIRCNN_SECTION_ALIGN
MAX_LAYERS = lib.CIRCNN_MAX_LAYERS

DTYPES = {"f32": lib.CIRCNN_DTYPE_F32, "q15": lib.CIRCNN_DTYPE_Q15}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}

DENSE, BC_DENSE, CONV2D, BC_CONV2D = (lib.CIRCNN_LAYER_DENSE, lib.CIRCNN_LAYER_BC_DENSE, lib.CIRCNN_LAYER_CONV2D,
                                      lib.CIRCNN_LAYER_BC_CONV2D)
RELU, MAXPOOL2D, AVGPOOL2D, FLATTEN = (lib.CIRCNN_LAYER_RELU, lib.CIRCNN_LAYER_MAXPOOL2D, lib.CIRCNN_LAYER_AVGPOOL2D,
                                       lib.CIRCNN_LAYER_FLATTEN)
SOFTMAX, ARGMAX = lib.CIRCNN_LAYER_SOFTMAX, lib.CIRCNN_LAYER_ARGMAX
DEPTHWISE_CONV2D = lib.CIRCNN_LAYER_DEPTHWISE_CONV2D
LAYER_NAMES = {DENSE: "dense", BC_DENSE: "bc_dense", CONV2D: "conv2d", BC_CONV2D: "bc_conv2d",
               RELU: "relu", MAXPOOL2D: "maxpool2d", AVGPOOL2D: "avgpool2d", FLATTEN: "flatten",
               SOFTMAX: "softmax", ARGMAX: "argmax", DEPTHWISE_CONV2D: "depthwise_conv2d"}
#: the format version that introduced each layer type (the others: version 1)
LAYER_VERSIONS = {DEPTHWISE_CONV2D: 2}
WEIGHTED = (DENSE, BC_DENSE, CONV2D, BC_CONV2D, DEPTHWISE_CONV2D)
WINDOWED = (CONV2D, BC_CONV2D, MAXPOOL2D, AVGPOOL2D, DEPTHWISE_CONV2D)
CIRCULANT = (BC_DENSE, BC_CONV2D)

# Private to src/model_format.h (tests/test_package.py checks them against it).
FLAG_RELU = 1
FLAG_SAME = 2
FLAG_WEIGHT8 = 4        # a q15 layer stores its weights as int8, w16 = w8 * 256
#: the format version from which each layer type with weights may set FLAG_WEIGHT8
WEIGHT8_VERSIONS = {BC_DENSE: 3, BC_CONV2D: 3, DENSE: 4, CONV2D: 4, DEPTHWISE_CONV2D: 4}
WEIGHT8_VERSION = min(WEIGHT8_VERSIONS.values())   # the format version that introduced FLAG_WEIGHT8
ARENA_VERSION = 5       # the format version whose arena sizes buffers A and B apart (circnn/model.h)
FLAG_OHWI = 8           # a q15 conv2d stores its weights (out_c, kh, kw, in_c), not HWIO
OHWI_VERSION = 6        # the format version that introduced FLAG_OHWI
FLAG_POOL2 = 16         # a convolution with a 2x2 max pool (stride 2, valid) fused after it
POOL2_VERSION = 7       # the format version that introduced FLAG_POOL2
DENSE8_ROWS = 4         # an 8-bit dense layer widens this many rows at a time (src/model_run.c)
DENSE8_ROWS_VERSION = 7  # from this format on its scratch holds only those rows (circnn/model.h)
OVER_INPUT_VERSION = 8   # from this format on a bc_conv2d's spectra overwrite its input (spectra_over_input)
#: the layer types that may fuse the pool (FLAG_POOL2): the convolutions
POOLING = (CONV2D, BC_CONV2D, DEPTHWISE_CONV2D)
MAX_EXPONENT = 128      # |weight_exp| and |scale_exp| that circnn_model_init accepts

_HEADER = struct.Struct("<4sHHII BBHI 3H3H bb 26x")
_ENTRY = struct.Struct("<BBH 3H3H BBBb ii IIIIII 12x")
assert _HEADER.size == HEADER_BYTES and _ENTRY.size == ENTRY_BYTES


class ModelFormatError(ValueError):
    """The bytes are not a valid circnn model blob."""


class FieldRangeError(ValueError):
    """A value does not fit its field of the blob.  layer: the index of the op
    (None: the model header); field: the field's name; value; low, high: the
    field's range."""

    def __init__(self, layer, field, value, low, high):
        self.layer, self.field, self.value, self.low, self.high = layer, field, value, low, high
        where = "model header" if layer is None else f"layer entry {layer}"
        super().__init__(f"{where}: {field} {value} is outside the blob's range [{low}, {high}]")


# struct format letter -> the range of the field
_RANGES = {"B": (0, 2 ** 8 - 1), "b": (-2 ** 7, 2 ** 7 - 1), "H": (0, 2 ** 16 - 1), "I": (0, 2 ** 32 - 1),
           "i": (-2 ** 31, 2 ** 31 - 1)}


def _fit(layer, fields):
    """fields: (name, struct letter, value) in order; FieldRangeError on the first that does not fit."""
    for name, letter, value in fields:
        low, high = _RANGES[letter]
        if not low <= value <= high:
            raise FieldRangeError(layer, name, value, low, high)


@dataclass
class Op:
    """One layer as the runtime sees it.  Shapes are (h, w, c).

    weight, bias, scale: the arrays stored in the blob (float32 for f32
    models; int16 weight and scale mantissas and int32 biases for q15).
    weight_bits 8 (q15 layers with weights): the blob stores weight / 256 as
    int8 (FLAG_WEIGHT8; format 3 for bc_dense and bc_conv2d, 4 for dense,
    conv2d and depthwise_conv2d); weight holds the int16 values they mean.
    conv2d weight is HWIO here whatever the blob's order (stored_ohwi).
    pool (the convolutions, format 7): a 2x2 max pool, stride 2, "valid",
    follows in the same layer (FLAG_POOL2); out_shape is the pool's output,
    kernel, stride and padding the convolution's.
    """
    type: int
    in_shape: tuple
    out_shape: tuple
    relu: bool = False
    same: bool = False
    kernel: tuple = (0, 0)
    stride: int = 0
    block_size: int = 0
    weight: np.ndarray = None
    bias: np.ndarray = None
    scale: np.ndarray = None
    weight_exp: int = 0
    scale_exp: int = 0
    out_frac: int = 0        # q15: the output tensor's scale (informative; the runtime does not use it)
    weight_bits: int = 16    # q15 layers with weights: 8 stores them (all multiples of 256) as int8 w16 / 256
    pool: bool = False       # the convolutions: a 2x2 max pool fused after the layer
    extra: dict = field(default_factory=dict)   # export-time notes (frac bits, float weights)

    @property
    def name(self):
        return LAYER_NAMES[self.type]

    @property
    def label(self):
        """The layer with what is fused into it, for tables: "conv2d+relu+maxpool2d"."""
        return self.name + ("+relu" if self.relu else "") + ("+maxpool2d" if self.pool else "")


def _align(n):
    return -(-n // SECTION_ALIGN) * SECTION_ALIGN


def buffer_bytes(ops, dtype):
    """Bytes of the arena's buffers A and B (0: absent; circnn/model.h,
    format 5 on): the largest output of the layers l < last with l even,
    and with l odd, rounded up to 16 (circnn.format.arena adds the scratch)."""
    es = 4 if dtype == "f32" else 2
    inter = [int(np.prod(op.out_shape)) * es for op in ops[:-1]]
    return tuple(-(-max(part, default=0) // 16) * 16 for part in (inter[0::2], inter[1::2]))


def stored_ohwi(op, dtype):
    """Whether the blob stores op's weights OHWI (FLAG_OHWI, format 6): a q15
    conv2d of more than one input channel, whose fast ARMv7E-M kernel reads
    each window row's weights as one run (circnn/layers.h)."""
    return dtype == "q15" and op.type == CONV2D and op.in_shape[2] > 1


def _hwio_to_ohwi(op, weight):
    kh, kw = op.kernel
    return np.asarray(weight).reshape(kh, kw, op.in_shape[2], op.out_shape[2]).transpose(3, 0, 1, 2)


def version_of(ops, dtype):
    """The oldest format version that holds these ops (so a model without the
    newer layer types stays readable by older runtimes, byte for byte):
    ARENA_VERSION when the arena layout of circnn/model.h's version 5
    (buffers A and B sized apart) differs from the older one's, OHWI_VERSION
    with a q15 conv2d of more than one input channel (stored_ohwi),
    POOL2_VERSION with a fused pool, DENSE8_ROWS_VERSION with an 8-bit
    dense layer of more than DENSE8_ROWS outputs (dense8_rows),
    OVER_INPUT_VERSION with a bc_conv2d whose spectra overwrite its input
    (spectra_over_input)."""
    a, b = buffer_bytes(ops, dtype)
    return max([LAYER_VERSIONS.get(op.type, 1) for op in ops]
               + [WEIGHT8_VERSIONS[op.type] for op in ops if op.weight_bits == 8 and op.type in WEIGHT8_VERSIONS]
               + ([ARENA_VERSION] if a != b and b != 0 else [])
               + [OHWI_VERSION for op in ops if stored_ohwi(op, dtype)]
               + [POOL2_VERSION for op in ops if op.pool]
               + [DENSE8_ROWS_VERSION for op in ops if dense8_rows(op)]
               + [OVER_INPUT_VERSION for i, op in enumerate(ops) if spectra_over_input(op, i)], default=1)


def spectra_over_input(op, index):
    """Whether op, layer `index` of its model, is a bc_conv2d whose spectra
    overwrite its input (format 8 on; src/model_format.h): not the first
    layer (its input is the caller's), in_c a multiple of k; its scratch
    then holds no spectra."""
    return op.type == BC_CONV2D and index > 0 and op.in_shape[2] % op.block_size == 0


def dense8_rows(op):
    """Whether op is a dense layer with 8-bit weights whose scratch holds
    DENSE8_ROWS of its rows (format 7 on), not all of them."""
    return op.type == DENSE and op.weight_bits == 8 and op.out_shape[2] > DENSE8_ROWS


def weight8(op):
    """The int8 section of an op with 8-bit weights (weight_bits 8): its q15
    weights divided by 256, which must be exact and fit int8."""
    if op.type not in WEIGHTED or op.weight is None or op.weight.dtype != np.int16:
        raise ValueError(f"{op.name}: only the q15 weights of layers with weights can be stored in 8 bits")
    w = op.weight.astype(np.int32)
    if np.any(w % 256) or w.min() < -128 * 256 or w.max() > 127 * 256:
        raise ValueError(f"{op.name}: 8-bit weights must be multiples of 256 in [-32768, 32512]")
    return (w // 256).astype(np.int8)


def pack(dtype, ops, input_shape, output_shape, input_frac, output_frac, arena_bytes):
    """The blob bytes of a model, in the oldest format version that holds it."""
    if len(ops) > MAX_LAYERS:
        raise ValueError(f"a model has at most {MAX_LAYERS} layers, this one has {len(ops)}")
    sections, entries = bytearray(), []
    start = HEADER_BYTES + ENTRY_BYTES * len(ops)

    def place(array):
        if array is None:
            return 0, 0
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        sections.extend(b"\0" * (_align(start + len(sections)) - start - len(sections)))
        offset = start + len(sections)
        sections.extend(data)
        return offset, len(data)

    for op in ops:
        weight = weight8(op) if op.weight_bits == 8 else op.weight
        ohwi = stored_ohwi(op, dtype)
        w_off, w_len = place(_hwio_to_ohwi(op, weight) if ohwi else weight)
        b_off, b_len = place(op.bias)
        s_off, s_len = place(op.scale)
        flags = (FLAG_RELU if op.relu else 0) | (FLAG_SAME if op.same else 0) | \
            (FLAG_WEIGHT8 if op.weight_bits == 8 else 0) | (FLAG_OHWI if ohwi else 0) | (FLAG_POOL2 if op.pool else 0)
        _fit(len(entries), [("block size", "H", op.block_size)]
             + [(f"input shape[{d}]", "H", v) for d, v in enumerate(op.in_shape)]
             + [(f"output shape[{d}]", "H", v) for d, v in enumerate(op.out_shape)]
             + [("kernel height", "B", op.kernel[0]), ("kernel width", "B", op.kernel[1]), ("stride", "B", op.stride),
                ("output scale exponent (out_frac)", "b", op.out_frac), ("weight exponent", "i", op.weight_exp),
                ("scale exponent", "i", op.scale_exp)]
             + [(f"section {what}", "I", v) for what, v in (("weight offset", w_off), ("weight bytes", w_len),
                                                            ("bias offset", b_off), ("bias bytes", b_len),
                                                            ("scale offset", s_off), ("scale bytes", s_len))])
        entries.append(_ENTRY.pack(op.type, flags, op.block_size, *op.in_shape, *op.out_shape,
                                   op.kernel[0], op.kernel[1], op.stride, op.out_frac, op.weight_exp, op.scale_exp,
                                   w_off, w_len, b_off, b_len, s_off, s_len))
    total = start + len(sections)
    _fit(None, [("total bytes", "I", total), ("arena bytes", "I", arena_bytes)]
         + [(f"input shape[{d}]", "H", v) for d, v in enumerate(input_shape)]
         + [(f"output shape[{d}]", "H", v) for d, v in enumerate(output_shape)]
         + [("input scale exponent (input_frac)", "b", input_frac),
            ("output scale exponent (output_frac)", "b", output_frac)])
    body = _HEADER.pack(MAGIC, version_of(ops, dtype), HEADER_BYTES, total, 0, DTYPES[dtype], 0, len(ops),
                        arena_bytes, *input_shape, *output_shape, input_frac, output_frac)
    blob = bytearray(body + b"".join(entries) + sections)
    struct.pack_into("<I", blob, 12, zlib.crc32(blob[16:]))
    return bytes(blob)


def unpack(blob):
    """Parse blob bytes -> dict(dtype, ops, input_shape, output_shape, input_frac,
    output_frac, arena_bytes).  Raises ModelFormatError saying what is wrong;
    the C runtime's circnn_model_init checks the rest (shapes, chaining)."""
    blob = bytes(blob)
    if len(blob) < HEADER_BYTES:
        raise ModelFormatError(f"not a circnn model: {len(blob)} bytes is shorter than the {HEADER_BYTES}-byte header")
    (magic, version, header_bytes, total, crc, dtype, _, count, arena, *shapes) = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ModelFormatError(f"not a circnn model: magic {magic!r}, expected {MAGIC!r}")
    if not FORMAT_VERSION <= version <= FORMAT_VERSION_NEWEST:
        raise ModelFormatError(f"model format version {version}; this circnn reads versions "
                               f"{FORMAT_VERSION} to {FORMAT_VERSION_NEWEST}: "
                               "re-export the model with this version of circnn")
    if header_bytes != HEADER_BYTES:
        raise ModelFormatError(f"header of {header_bytes} bytes, expected {HEADER_BYTES}")
    if total > len(blob):
        raise ModelFormatError(f"truncated model: the header says {total} bytes, there are {len(blob)}")
    if total < HEADER_BYTES + ENTRY_BYTES * count:
        raise ModelFormatError(f"model of {total} bytes cannot hold {count} layers")
    if zlib.crc32(blob[16:total]) != crc:
        raise ModelFormatError("model checksum mismatch: the file is corrupt")
    if dtype not in DTYPE_NAMES:
        raise ModelFormatError(f"unknown numeric type {dtype}")
    in_shape, out_shape, in_frac, out_frac = tuple(shapes[0:3]), tuple(shapes[3:6]), shapes[6], shapes[7]
    name = DTYPE_NAMES[dtype]
    wtype = np.dtype("<f4") if name == "f32" else np.dtype("<i2")
    ops = []
    for i in range(count):
        f = _ENTRY.unpack_from(blob, HEADER_BYTES + ENTRY_BYTES * i)
        kind, flags, k = f[0], f[1], f[2]
        if kind not in LAYER_NAMES or LAYER_VERSIONS.get(kind, 1) > version:
            raise ModelFormatError(f"layer {i}: unknown type {kind} in a version {version} model")

        def section(off, length, dt):
            if length == 0:
                return None
            if off + length > total or length % dt.itemsize:
                raise ModelFormatError(f"layer {i}: section at {off} of {length} bytes is outside the model")
            return np.frombuffer(blob, dtype=dt, count=length // dt.itemsize, offset=off).astype(dt.newbyteorder("="))

        bits8 = bool(flags & FLAG_WEIGHT8)
        if bits8 and (name != "q15" or version < WEIGHT8_VERSIONS.get(kind, FORMAT_VERSION_NEWEST + 1)):
            raise ModelFormatError(f"layer {i}: 8-bit weights in a version {version} {name} {LAYER_NAMES[kind]} layer; "
                                   "only q15 layers with weights have them: bc_dense and bc_conv2d from format "
                                   f"version {WEIGHT8_VERSIONS[BC_DENSE]}, dense, conv2d and depthwise_conv2d from "
                                   f"{WEIGHT8_VERSIONS[DENSE]}")
        weight = section(f[15], f[16], np.dtype("i1") if bits8 else wtype)
        if bits8 and weight is not None:
            weight = weight.astype(np.int16) * np.int16(256)   # the q15 weights they mean
        if flags & FLAG_OHWI:
            if name != "q15" or kind != CONV2D or version < OHWI_VERSION:
                raise ModelFormatError(f"layer {i}: OHWI weights in a version {version} {name} {LAYER_NAMES[kind]} "
                                       f"layer; only q15 conv2d layers have them, from format version {OHWI_VERSION}")
            count = f[9] * f[10] * f[5] * f[8]   # kh * kw * in_c * out_c
            if weight is None or weight.size != count:
                raise ModelFormatError(f"layer {i}: an OHWI weight section of {0 if weight is None else weight.size} "
                                       f"values, the layer's shape needs {count}")
            weight = weight.reshape(f[8], f[9], f[10], f[5]).transpose(1, 2, 3, 0).ravel()   # HWIO, as Op holds it
        if flags & FLAG_POOL2 and (kind not in POOLING or version < POOL2_VERSION):
            raise ModelFormatError(f"layer {i}: a fused max pool in a version {version} {LAYER_NAMES[kind]} layer; "
                                   f"only convolutions have one, from format version {POOL2_VERSION}")
        ops.append(Op(type=kind, in_shape=tuple(f[3:6]), out_shape=tuple(f[6:9]), relu=bool(flags & FLAG_RELU),
                      same=bool(flags & FLAG_SAME), kernel=(f[9], f[10]), stride=f[11], block_size=k,
                      out_frac=f[12], weight_exp=f[13], scale_exp=f[14], weight_bits=8 if bits8 else 16,
                      pool=bool(flags & FLAG_POOL2),
                      weight=weight,
                      bias=section(f[17], f[18], np.dtype("<f4") if name == "f32" else np.dtype("<i4")),
                      scale=section(f[19], f[20], wtype)))
    return dict(dtype=name, ops=ops, input_shape=in_shape, output_shape=out_shape,
                input_frac=in_frac, output_frac=out_frac, arena_bytes=arena, version=version)
