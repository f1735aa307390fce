"""The module paths of circnn before its subpackages (issue 12), kept
importable: each old path is the same module object as the module that
took its place (monkeypatching either patches both), installed when circnn
is imported.  circnn.train and circnn.export are packages now; they keep the
public names of the old modules.  New code imports the new paths (README.md,
Layout)."""
import importlib
import sys

#: old module (circnn.<old>) -> its home
OLD_PATHS = {
    "circulant": "nn.circulant",
    "window": "nn.window",
    "layers": "nn.layers",
    "model": "nn.model",
    "presets": "nn.presets",
    "blob": "format.blob",
    "header": "format.header",
    "fixed": "sim.q15",
    "fixed_layers": "sim.layers",
    "fixed_conv": "sim.bc_conv2d",
    "simulate": "sim.model",
    "quantization": "export.quantization",
    "exported": "export.exported",
    "kernels": "native.fft",
    "layer_kernels": "native.layers",
    "conv_kernels": "native.bc_conv2d",
    "engine": "native.engine",
    "train_layers": "train.ops",
}


def _install():
    package = sys.modules[__package__]
    for old, new in OLD_PATHS.items():
        module = importlib.import_module(f"{__package__}.{new}")
        sys.modules[f"{__package__}.{old}"] = module
        setattr(package, old, module)


_install()
