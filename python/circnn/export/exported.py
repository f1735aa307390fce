"""An exported model: the blob bytes and what can be done with them.

Everything here is read back from the bytes, so what is simulated, saved,
written into a firmware header and run by the C engine is the same thing.
"""
import hashlib
import os

import numpy as np

from ..format import blob as B
from ..format.arena import arena_bytes
from ..nn import circulant
from ..sim import q15 as fixed


def _weight_shape(op):
    """The logical shape of an op's flat weight array."""
    h, w, c = op.in_shape
    m = op.out_shape[2]
    k = op.block_size
    if op.type == B.DENSE:
        return (m, c)
    if op.type == B.BC_DENSE:
        return (circulant.blocks(m, k), circulant.blocks(c, k), k)
    if op.type == B.CONV2D:
        return (op.kernel[0], op.kernel[1], c, m)
    if op.type == B.DEPTHWISE_CONV2D:
        return (op.kernel[0], op.kernel[1], c)
    return (op.kernel[0], op.kernel[1], circulant.blocks(m, k), circulant.blocks(c, k), k)


class ExportedModel:
    """A model as the C runtime runs it (dtype "q15" or "f32").

    Attributes: blob (bytes), version (its format version), dtype, ops (circnn.format.blob.Op, weights shaped),
    input_shape / output_shape (without the batch: (h, w, c) or (n,)),
    input_frac / output_frac (q15 scales: value = integer * 2^-frac),
    arena_bytes, hash (sha256 of the blob).
    """

    def __init__(self, data, source=None):
        info = B.unpack(data)
        self.blob = bytes(data)
        self.version = info["version"]
        self.dtype = info["dtype"]
        self.ops = info["ops"]
        for op in self.ops:
            if op.weight is not None:
                op.weight = op.weight.reshape(_weight_shape(op))
        self.input_shape = self._user_shape(info["input_shape"], source.input_shape if source else None)
        self.output_shape = self._user_shape(info["output_shape"], source.output_shape if source else None)
        self.input_frac = info["input_frac"]
        self.output_frac = info["output_frac"]
        self.arena_bytes = info["arena_bytes"]
        self.hash = hashlib.sha256(self.blob).hexdigest()
        self.source = source

    @staticmethod
    def _user_shape(shape3, given):
        if given is not None:
            return tuple(given)
        return tuple(shape3) if tuple(shape3[:2]) != (1, 1) else (shape3[2],)

    # -- running -------------------------------------------------------------

    def check_input(self, x):
        x = np.asarray(x)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"input must have shape (N,) + {self.input_shape}, got {x.shape}")
        return x

    def quantize_input(self, x):
        """Float input batch -> the int16 the q15 runtime takes (rounding half up, saturated)."""
        x = self.check_input(x)
        if x.dtype.kind != "f":
            raise TypeError(f"float input expected, got {x.dtype} (use simulate_raw for int16)")
        return fixed.quantize(x, self.input_frac)

    def dequantize_output(self, y):
        return np.asarray(y, dtype=np.float64) * 2.0 ** -self.output_frac

    def simulate(self, x):
        """Float in, float out, through the numpy simulator.  For q15 this is
        exactly what circnn.Engine(self).run(x) returns, to the bit."""
        if self.dtype == "f32":
            return self._simulate_f32(self.check_input(x).astype(np.float64))
        return self.dequantize_output(self.simulate_raw(self.quantize_input(x)))

    def simulate_raw(self, xq):
        """int16 in, int16 out (q15 models): the bit-exact twin of the C runtime."""
        if self.dtype != "q15":
            raise TypeError("simulate_raw is for q15 models")
        xq = self.check_input(xq)
        if xq.dtype != np.int16:
            raise TypeError(f"int16 input expected, got {xq.dtype}")
        from ..sim.model import run_q15
        return run_q15(self, xq)

    def _simulate_f32(self, x):
        from ..sim.model import run_f32
        return run_f32(self, x)

    def as_f32(self):
        """The f32 model with the weights this model holds (q15: dequantized).
        Its float64 simulation is the float reference of this model."""
        if self.dtype == "f32":
            return self
        ops, frac = [], self.input_frac
        for op in self.ops:
            f = B.Op(op.type, op.in_shape, op.out_shape, relu=op.relu, same=op.same, kernel=op.kernel,
                     stride=op.stride, block_size=op.block_size, pool=op.pool)
            if op.weight is not None:
                f.weight = (op.weight * 2.0 ** (op.weight_exp + frac - op.out_frac)).astype(np.float32)
                if op.bias is not None:
                    f.bias = (op.bias * 2.0 ** -(fixed.BIAS_FRAC_BITS + op.out_frac)).astype(np.float32)
                if op.scale is not None:
                    f.scale = (op.scale * 2.0 ** op.scale_exp).astype(np.float32)
            ops.append(f)
            frac = op.out_frac
        data = B.pack("f32", ops, ops[0].in_shape, ops[-1].out_shape, 0, 0, arena_bytes(ops, "f32"))
        return ExportedModel(data, source=self)

    def reference(self, x):
        """Float64 forward pass of the weights this model holds (no quantization
        of activations): the float reference `circnn verify` compares against."""
        return self.as_f32()._simulate_f32(self.check_input(x).astype(np.float64))

    # -- files ---------------------------------------------------------------

    def save(self, path):
        """Write the blob to `path` (the .circ file)."""
        with open(path, "wb") as f:
            f.write(self.blob)

    def write_header(self, path, name="model"):
        """Write the firmware header: the blob as an aligned const array, with macros."""
        from ..format.header import render_header
        text = render_header(self, name)
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        return path

    # -- description -----------------------------------------------------------

    def parameter_count(self):
        return sum(int(op.weight.size) + (0 if op.bias is None else int(op.bias.size))
                   + (0 if op.scale is None else int(op.scale.size)) for op in self.ops if op.weight is not None)

    def table(self):
        """One dict per op: index, type, shapes, k, parameters, dense-equivalent parameters, bytes."""
        rows = []
        for i, op in enumerate(self.ops):
            params = 0 if op.weight is None else int(op.weight.size)
            dense = params
            if op.type in (B.BC_DENSE, B.BC_CONV2D):
                dense = op.kernel[0] * op.kernel[1] * op.in_shape[2] * op.out_shape[2] if op.type == B.BC_CONV2D \
                    else op.in_shape[2] * op.out_shape[2]
            extra = sum(0 if a is None else int(a.size) for a in (op.bias, op.scale))
            nbytes = sum(0 if a is None else a.nbytes for a in (op.weight, op.bias, op.scale))
            if op.weight_bits == 8:   # one byte a weight in the blob
                nbytes -= op.weight.nbytes - op.weight.size
            rows.append(dict(index=i, type=op.label + ("+w8" if op.weight_bits == 8 else ""),
                             input=op.in_shape,
                             output=op.out_shape, k=op.block_size or "", params=params + extra,
                             dense_params=dense + extra, bytes=nbytes))
        return rows

    def __repr__(self):
        return (f"ExportedModel({self.dtype}, {len(self.ops)} layers, {len(self.blob)} bytes, "
                f"arena {self.arena_bytes} bytes)")


def load(path):
    """Read a .circ file into an ExportedModel; a file that is not a valid
    model raises circnn.format.blob.ModelFormatError saying what is wrong."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file {path}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return ExportedModel(data)
    except B.ModelFormatError as exc:
        raise B.ModelFormatError(f"{path}: {exc}") from None
