"""circnn.export: from a float Model to a blob: lowering (BatchNorm folded, ReLU fused),
calibration and q15 quantization, and ExportedModel (what was exported,
read back from its bytes).

    exported      ExportedModel and load: a blob and what can be done with it
    exporter      calibration, quantization and packing: Model -> ExportedModel
    lowering      layers -> ops: one lowering per layer kind, BatchNorm folded, ReLU fused
    quantization  power-of-two scales, int16 mantissas, int32 biases
"""

# The names of the old module circnn.export (arena_bytes lives in circnn.format.arena).
from ..format.arena import arena_bytes
from .exporter import export
from .lowering import ExportError, lower

__all__ = ["ExportError", "export", "lower", "arena_bytes"]
