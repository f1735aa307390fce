"""Write the compatibility files of tests/compat (run once per format version).

The files are what an old release wrote and what a user may still hold: a
.circ blob and its firmware header for q15 and f32 models that use every
layer kind of format version 1 (q15, q15_argmax, f32, f32_argmax) and of
version 2, which added the depthwise convolution (q15_v2, f32_v2), a q15
model of version 3, whose block-circulant layers store 8-bit spectra
(q15_v3), the same model of version 4, where every layer with weights
stores them in 8 bits (q15_v4; f32 models have no 8-bit weights), q15 and
f32 models of version 5, whose arena sizes buffers A and B apart (q15_v5,
f32_v5: the version-2 networks, whose A and B differ), the q15 model of
version 6, whose conv2d of several input channels stores its weights OHWI
(q15_v6: the version-2 network), q15 and f32 models of version 7, whose
first conv2d takes the 2x2 max pool after it into the same layer
(q15_v7, f32_v7: the version-2 networks), q15 and f32 models of version
8, whose block-circulant convolution keeps its spectra in its input's place
(q15_v8, f32_v8: the version-2 networks), the inputs (the runtime's own numbers: int16
for q15, float32 for f32) and the outputs the runtime gave.  test_compat.py
and test_compat_c.c check that the runtime still reads them and gives
exactly those outputs.  Do not regenerate them to make a test pass: a change
of the format bumps CIRCNN_FORMAT_VERSION and either keeps reading these
files or refuses them with CIRCNN_ERR_VERSION (and the tests say which);
add the new version's files beside them, naming only them (the inputs are
then checked against the files, not written):

    python tests/compat/make_compat.py tests/compat            # every file (format 1 and 2: done)
    python tests/compat/make_compat.py tests/compat q15_v4     # only these models (format 3: done)
    python tests/compat/make_compat.py tests/compat q15_v5 f32_v5     # (format 5: done)
    python tests/compat/make_compat.py tests/compat q15_v6     # (format 6: done)
    python tests/compat/make_compat.py tests/compat q15_v7 f32_v7     # (format 7: done)
    python tests/compat/make_compat.py tests/compat q15_v8 f32_v8
"""
import os
import sys

import numpy as np

import circnn
from circnn import layers as L

SAMPLES = 6


def network(head, depthwise=False):
    """Every layer kind: conv2d (fused ReLU, "same"), max pooling, a ReLU of
    its own, (depthwise: a depthwise convolution, "same", fused ReLU),
    bc_conv2d (stride 2, a BatchNorm scale), average pooling ("same"),
    flatten, bc_dense (fused ReLU), dense, then `head`."""
    rng = np.random.default_rng(2024)
    middle = [L.DepthwiseConv2d(8, 3, padding="same", bias=rng.normal(0, 0.1, 8), seed=rng),
              L.ReLU()] if depthwise else []
    return circnn.Model([
        L.Conv2d(2, 8, 3, padding="same", seed=rng),
        L.ReLU(),
        L.MaxPool2d(2),
        L.ReLU(),
    ] + middle + [
        L.BlockCirculantConv2d(8, 8, 3, 4, stride=2, padding="same", seed=rng),
        L.BatchNorm(8, gamma=rng.uniform(0.5, 1.5, 8), beta=rng.normal(0, 0.1, 8),
                    mean=rng.normal(0, 0.1, 8), var=rng.uniform(0.5, 1.5, 8)),
        L.AvgPool2d(2, padding="same"),
        L.Flatten(),
        L.BlockCirculantDense(2 * 2 * 8, 16, 8, bias=rng.normal(0, 0.1, 16), seed=rng),
        L.ReLU(),
        L.Dense(16, 6, bias=rng.normal(0, 0.1, 6), seed=rng),
    ] + head, input_shape=(12, 12, 2))


def main(out, only=()):
    os.makedirs(out, exist_ok=True)
    x = np.random.default_rng(7).uniform(-1, 1, (SAMPLES, 12, 12, 2))
    calibration = np.random.default_rng(8).uniform(-1, 1, (64, 12, 12, 2))
    models = {
        "q15": network([]).quantize(calibration),
        "q15_argmax": network([L.Argmax()]).quantize(calibration),
        "f32": network([L.Softmax()]).to_f32(),
        "f32_argmax": network([L.Softmax(), L.Argmax()]).to_f32(),
        "q15_v2": network([], depthwise=True).quantize(calibration),
        "f32_v2": network([L.Softmax()], depthwise=True).to_f32(),
        # q15_v3 was this model with weight_bits=8 when that stored only the
        # block-circulant layers' spectra in 8 bits: written by the circnn of
        # format 3, which this one cannot write again (it writes q15_v4).
        # q15_v4: written by the circnn of format 4; this one writes it as
        # format 5 (its buffers A and B differ).
        "q15_v4": network([], depthwise=True).quantize(calibration, weight_bits=8),
        # q15_v5: written by the circnn of format 5; this one writes it as
        # format 6 (its first conv2d has two input channels).
        "q15_v5": network([], depthwise=True).quantize(calibration),
        "f32_v5": network([L.Softmax()], depthwise=True).to_f32(),
        # q15_v6: written by the circnn of format 6; this one writes it as
        # format 7 (its first conv2d takes the max pool after it).
        "q15_v6": network([], depthwise=True).quantize(calibration, fuse_pools=False),
        # q15_v7, f32_v7: written by the circnn of format 7; this one writes
        # them as format 8 (their bc_conv2d keeps its spectra in its input's place).
        "q15_v7": network([], depthwise=True).quantize(calibration),
        "f32_v7": network([L.Softmax()], depthwise=True).to_f32(),
        "q15_v8": network([], depthwise=True).quantize(calibration),
        "f32_v8": network([L.Softmax()], depthwise=True).to_f32(),
    }
    inputs = {"q15": models["q15"].quantize_input(x), "f32": x.astype(np.float32)}
    for name in ("q15_argmax", "q15_v2", "q15_v4", "q15_v5", "q15_v6", "q15_v7", "q15_v8"):
        assert np.array_equal(inputs["q15"], models[name].quantize_input(x))
    for name, model in models.items():
        if only and name not in only:
            continue
        dtype = name[:3]
        model.save(os.path.join(out, f"{name}.circ"))
        model.write_header(os.path.join(out, f"{name}.h"), name=f"compat_{name}")
        y = circnn.Engine(model).run_raw(inputs[dtype])
        y.astype(y.dtype.newbyteorder("<")).tofile(os.path.join(out, f"{name}_output.bin"))
        print(name, model, "layers:", " ".join(op.label for op in model.ops))
    for dtype, v in inputs.items():
        if only:   # the inputs were written with the first files: the same numbers
            kept = np.fromfile(os.path.join(out, f"{dtype}_input.bin"), dtype=v.dtype.newbyteorder("<"))
            assert np.array_equal(kept, v.ravel()), dtype
            continue
        v.astype(v.dtype.newbyteorder("<")).tofile(os.path.join(out, f"{dtype}_input.bin"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)), tuple(sys.argv[2:]))
