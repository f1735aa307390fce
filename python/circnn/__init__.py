"""circnn: block-circulant neural networks on microcontrollers and CPUs.

Subpackages by concern, in the order data flows through them (README.md,
Layout; docs/DESIGN.md):
    nn        the network and its float64 reference: circulant, window, layers, model, presets
    datasets  Fashion-MNIST and other IDX files
    train     training with numpy and pyfftw: fit, evaluate; each layer's forward and backward
    format    what the C runtime reads: the blob, the firmware header, the arena
    sim       the numpy simulator: bit-exact twins of the q15 C kernels, whole models
    export    Model -> ExportedModel: lowering, calibration, quantization
    native    the C code through cffi: the kernels on numpy arrays, Engine
    firmware  cross-build for Cortex-M, run on QEMU, count instructions
    kinds     every layer kind, and where each of its parts lives
    cli       the circnn command (demo: circnn demo; torch, torch_convert: from_torch)
The module paths of before (fixed, kernels, layer_kernels, ...) are the same
modules under their old names (_old_paths.py).
"""
from . import datasets, train
from ._native import __version__, get_include
from .export.exported import ExportedModel, load
from .format.blob import ModelFormatError
from .native import fft as kernels
from .native.engine import Engine, RuntimeRefused
from .nn import circulant, layers, presets
from .nn.model import Model
from .sim import q15 as fixed
from . import _old_paths  # noqa: F401,E402  the old module paths: README.md, Layout


def from_torch(module, input_shape):
    """The circnn.Model of a PyTorch module (needs torch: pip install "circnn[torch]").
    input_shape is torch's, without the batch: (channels, height, width) or
    (features,).  See circnn.torch_convert for what it converts."""
    from .torch_convert import from_torch as convert
    return convert(module, input_shape)


__all__ = ["Model", "Engine", "ExportedModel", "load", "layers", "datasets", "circulant", "fixed", "kernels",
           "presets", "train", "from_torch",
           "ModelFormatError", "RuntimeRefused", "get_include", "__version__"]
