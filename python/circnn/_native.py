"""The compiled C library (cffi API mode), with a clear error when it is missing;
circnn's version and the folder of its C headers (get_include)."""
import importlib.resources
import os

try:
    from ._circnn_cffi import ffi, lib
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        "circnn's C extension is not built. Install the package with "
        "`pip install .` (or `pip install -e . --no-build-isolation`) from the "
        f"repository, which compiles it with meson. ({exc})"
    ) from exc


#: circnn's version, as the compiled library reports it
__version__ = ffi.string(lib.circnn_version()).decode("ascii")


def get_include():
    """The folder that holds circnn's C headers (circnn/circnn.h and the rest)."""
    header = importlib.resources.files(__package__) / "include" / "circnn" / "circnn.h"
    if isinstance(header, os.PathLike) and os.path.isfile(header):
        # Installed: <package>/include; editable: the meson build folder.
        return os.path.dirname(os.path.dirname(os.fspath(header)))
    installed = os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
    raise FileNotFoundError(
        f"circnn's C headers are not installed beside the package ({installed}); "
        "reinstall with `pip install .`")


__all__ = ["ffi", "lib", "__version__", "get_include"]
