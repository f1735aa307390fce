"""circnn.export: from a float Model to a blob: lowering (BatchNorm folded, ReLU fused),
calibration and q15 quantization, and ExportedModel (what was exported,
read back from its bytes).

    exported      ExportedModel and load: a blob and what can be done with it
    exporter      calibration, quantization and packing: Model -> ExportedModel
    quantization  power-of-two scales, int16 mantissas, int32 biases
"""

from .exporter import ExportError, export, lower, arena_bytes

__all__ = ["ExportError", "export", "lower", "arena_bytes"]
