"""circnn: block-circulant neural networks on microcontrollers and CPUs.

Modules, in the order data flows through them:
    datasets    Fashion-MNIST and other IDX files
    circulant   float64 mathematics of block-circulant matrices, spectrum packing
    layers      the layers, with their float64 reference forward pass
    model       Model: a network of layers
    export      lowering, calibration, q15 quantization -> ExportedModel (exported)
    quantization
                power-of-two scales, int16 mantissas, int32 biases (export and the kernels)
    blob        the model format (documented in include/circnn/model.h)
    fixed, fixed_layers, fixed_conv, simulate
                the bit-exact numpy twins of the q15 C code
    kernels, layer_kernels, conv_kernels, engine
                the C code through cffi
"""
import importlib.resources
import os

from . import circulant, datasets, fixed, kernels, layers, presets, train
from ._native import ffi as _ffi, lib as _lib
from .blob import ModelFormatError
from .engine import Engine, RuntimeRefused
from .exported import ExportedModel, load
from .model import Model

__version__ = _ffi.string(_lib.circnn_version()).decode("ascii")


def from_torch(module, input_shape):
    """The circnn.Model of a PyTorch module (needs torch: pip install "circnn[torch]").
    input_shape is torch's, without the batch: (channels, height, width) or
    (features,).  See circnn.torch_convert for what it converts."""
    from .torch_convert import from_torch as convert
    return convert(module, input_shape)


def get_include():
    """The folder that holds circnn's C headers (circnn/circnn.h and the rest)."""
    header = importlib.resources.files(__name__) / "include" / "circnn" / "circnn.h"
    if isinstance(header, os.PathLike) and os.path.isfile(header):
        # Installed: <package>/include; editable: the meson build folder.
        return os.path.dirname(os.path.dirname(os.fspath(header)))
    installed = os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
    raise FileNotFoundError(
        f"circnn's C headers are not installed beside the package ({installed}); "
        "reinstall with `pip install .`")


__all__ = ["Model", "Engine", "ExportedModel", "load", "layers", "datasets", "circulant", "fixed", "kernels",
           "presets", "train", "from_torch",
           "ModelFormatError", "RuntimeRefused", "get_include", "__version__"]
