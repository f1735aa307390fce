"""The compiled C library (cffi API mode), with a clear error when it is missing."""
try:
    from ._circnn_cffi import ffi, lib
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        "circnn's C extension is not built. Install the package with "
        "`pip install .` (or `pip install -e . --no-build-isolation`) from the "
        f"repository, which compiles it with meson. ({exc})"
    ) from exc

__all__ = ["ffi", "lib"]
