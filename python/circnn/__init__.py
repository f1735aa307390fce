"""circnn: block-circulant neural networks on microcontrollers and CPUs.

Modules, in the order data flows through them:
    circulant  float64 mathematics of block-circulant matrices, spectrum packing
    fixed      bit-exact numpy simulator of the q15 C kernels
    kernels    the C kernels on numpy arrays, through cffi
"""
import importlib.resources
import os

from . import circulant, fixed, kernels
from ._native import ffi as _ffi, lib as _lib

__version__ = _ffi.string(_lib.circnn_version()).decode("ascii")


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


__all__ = ["circulant", "fixed", "kernels", "get_include", "__version__"]
