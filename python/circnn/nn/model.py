"""A network: an ordered list of layers with a fixed input shape, and its
float64 reference forward pass.  `quantize` and `to_f32` turn it into an
exported model (circnn.export) that the C runtime runs."""
import numpy as np

from . import layers as L


class Model:
    """layers: a list of circnn.layers objects; input_shape: (h, w, c) or (n,).

    The shapes must chain: a ValueError names the first layer that does not
    accept its input.
    """

    def __init__(self, layers, input_shape):
        if not layers:
            raise ValueError("a model needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, L.Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a circnn.layers layer")
        self.layers = list(layers)
        self.input_shape = tuple(int(d) for d in input_shape)
        if len(self.input_shape) not in (1, 3) or min(self.input_shape) < 1:
            raise ValueError(f"input_shape must be (h, w, c) or (n,) with positive sizes, got {input_shape}")
        self.shapes = [self.input_shape]
        for i, layer in enumerate(self.layers):
            try:
                self.shapes.append(tuple(layer.output_shape(self.shapes[-1])))
            except ValueError as exc:
                raise ValueError(f"layer {i} ({layer.describe()}) does not accept shape {self.shapes[-1]}: {exc}") from None

    @property
    def output_shape(self):
        return self.shapes[-1]

    def check_input(self, x):
        """x as float64 (batch,) + input_shape, or a clear error."""
        x = np.asarray(x)
        if x.dtype.kind not in "fiu":
            raise TypeError(f"input must be a real numeric array, got dtype {x.dtype}")
        if x.shape[1:] != self.input_shape:
            if x.shape == self.input_shape:
                raise ValueError(f"input must be a batch of shape (N,) + {self.input_shape}; "
                                 f"got one sample of shape {x.shape} (use x[None])")
            raise ValueError(f"input must have shape (N,) + {self.input_shape}, got {x.shape}")
        x = x.astype(np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("input contains NaN or infinite values")
        return x

    def forward(self, x, upto=None):
        """Float64 reference on a batch; `upto` stops after that many layers."""
        x = self.check_input(x)
        for layer in self.layers[:upto]:
            x = layer.forward(x)
        return x

    def predict(self, x, batch_size=512, dtype=np.float64):
        """Class indices, in batches: the argmax of the output before any final
        Softmax / Argmax layer.  The same function as circnn.train.predict."""
        from ..train.trainer import predict
        return predict(self, self.check_input(x), batch_size, dtype)

    def parameter_count(self):
        return sum(layer.parameter_count() for layer in self.layers)

    def dense_parameter_count(self):
        return sum(layer.dense_parameter_count() for layer in self.layers)

    def quantize(self, calibration_x, **options):
        """The q15 exported model, activation scales calibrated on calibration_x.
        Options: batch_size (calibration), weight_bits=16 (8: the weights of
        every layer that has them stored in 8 bits, one byte a weight),
        fuse_pools=True (False: a 2x2 max pool after a convolution stays a
        layer of its own, for runtimes older than format 7)."""
        from ..export.exporter import export
        return export(self, "q15", calibration_x, **options)

    def to_f32(self, **options):
        """The f32 exported model.  Options: fuse_pools=True (as quantize)."""
        from ..export.exporter import export
        return export(self, "f32", **options)

    def summary(self):
        rows = [f"input {self.input_shape}"]
        for layer, shape in zip(self.layers, self.shapes[1:]):
            rows.append(f"{layer.describe():<60} -> {shape}  params {layer.parameter_count()}")
        return "\n".join(rows)
