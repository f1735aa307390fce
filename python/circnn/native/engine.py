"""The C runtime (circnn_model_init / circnn_model_run) through cffi."""
import numpy as np

from .._native import ffi, lib


class RuntimeRefused(ValueError):
    """circnn_model_init refused the blob; .status holds the C status name."""

    def __init__(self, status):
        self.status = ffi.string(lib.circnn_status_string(status)).decode()
        super().__init__(f"the C runtime refused the model: {self.status}")


def status_name(status):
    return ffi.string(lib.circnn_status_string(status)).decode()


def _aligned_copy(data, align=16):
    """The bytes in a fresh buffer whose start is `align`-aligned."""
    raw = np.zeros(len(data) + align, dtype=np.uint8)
    start = (-raw.ctypes.data) % align
    buf = raw[start:start + len(data)]
    buf[:] = np.frombuffer(data, dtype=np.uint8)
    return buf


class Engine:
    """Runs an ExportedModel (or raw blob bytes) with the C runtime.

    run(x): float in, float out (q15: quantized and dequantized with the
    model's scales).  run_raw(x): the runtime's own numbers (int16 for q15,
    float32 for f32).  Batches are run one sample at a time in C.
    """

    def __init__(self, model):
        from ..export.exported import ExportedModel
        self.model = model if isinstance(model, ExportedModel) else ExportedModel(bytes(model))
        self._blob = _aligned_copy(self.model.blob)
        self._handle = ffi.new("circnn_model_t *")
        status = lib.circnn_model_init(self._handle, ffi.from_buffer(self._blob), len(self._blob), ffi.NULL, 0)
        if status not in (lib.CIRCNN_OK, lib.CIRCNN_ERR_ARENA):
            raise RuntimeRefused(status)
        self.arena_bytes = self._handle.arena_bytes
        self._arena = np.zeros(max(1, -(-self.arena_bytes // 8)), dtype=np.int64)
        status = lib.circnn_model_init(self._handle, ffi.from_buffer(self._blob), len(self._blob),
                                       ffi.from_buffer(self._arena), self.arena_bytes)
        if status != lib.CIRCNN_OK:
            raise RuntimeRefused(status)
        self.dtype = self.model.dtype
        self._ctype, self._np = ("float", np.float32) if self.dtype == "f32" else ("int16_t", np.int16)

    def run_raw(self, x):
        """x: (N,) + input_shape of float32 (f32 model) or int16 (q15 model)."""
        x = self.model.check_input(np.asarray(x))
        if x.dtype != self._np:
            raise TypeError(f"run_raw takes {np.dtype(self._np)} for a {self.dtype} model, got {x.dtype}")
        rows = np.ascontiguousarray(x).reshape(len(x), -1)
        out = np.empty((len(x), self._handle.output_count), dtype=self._np)
        arena = ffi.from_buffer(self._arena)
        for i in range(len(rows)):
            lib.circnn_model_run(self._handle, ffi.from_buffer(self._ctype + "[]", rows[i]),
                                 ffi.from_buffer(self._ctype + "[]", out[i], require_writable=True), arena)
        return out.reshape((len(x),) + self.model.output_shape)

    def run(self, x):
        """Float batch in, float64 batch out."""
        x = self.model.check_input(np.asarray(x))
        if x.dtype.kind != "f":
            raise TypeError(f"run takes a float array, got {x.dtype} (run_raw takes the runtime's numbers)")
        if self.dtype == "f32":
            return self.run_raw(x.astype(np.float32)).astype(np.float64)
        return self.model.dequantize_output(self.run_raw(self.model.quantize_input(x)))
