"""Model -> q15/f32 export -> simulator and C engine, against float64."""
import numpy as np
import pytest

import circnn
from circnn import layers as L
from conftest import snr_db
from model_zoo import cnn, images, mlp


@pytest.mark.parametrize("build", [cnn, mlp])
def test_q15_simulator_and_c_engine_agree_bit_for_bit(build):
    model = build()
    x = images(model, 32)
    q = model.quantize(x)
    xq = q.quantize_input(x)
    np.testing.assert_array_equal(q.simulate_raw(xq), circnn.Engine(q).run_raw(xq))
    np.testing.assert_array_equal(q.simulate(x), circnn.Engine(q).run(x))


@pytest.mark.parametrize("build", [cnn, mlp])
def test_q15_and_f32_close_to_float64(build):
    model = build()
    x = images(model, 32)
    ref = model.forward(x)
    q = model.quantize(x)
    assert snr_db(ref, circnn.Engine(q).run(x)) >= 50.0
    f = model.to_f32()
    got = circnn.Engine(f).run(x)
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()
    # the exported weights are what the model holds: float64 reference of the blob == model
    np.testing.assert_allclose(f.reference(x), ref, atol=1e-5 * np.abs(ref).max())


def test_batchnorm_folded_and_relu_fused():
    model = cnn()
    q = model.quantize(images(model))
    names = [op.name for op in q.ops]
    assert "relu" not in names                          # every ReLU fused
    assert names == ["conv2d", "bc_conv2d", "avgpool2d", "flatten", "bc_conv2d", "dense"]
    assert q.ops[0].pool                                # and the max pool after the first conv2d
    assert all(q.ops[i].relu for i in (0, 1, 4))
    assert q.ops[4].scale is not None and q.ops[4].kernel == (1, 1)   # BN after bc_dense kept as a scale


def test_save_load_round_trip(tmp_path):
    model = mlp()
    q = model.quantize(images(model))
    path = tmp_path / "m.circ"
    q.save(path)
    back = circnn.load(str(path))
    assert back.blob == q.blob and back.dtype == "q15"
    x = images(model, 8, seed=5)
    np.testing.assert_array_equal(back.simulate(x), q.simulate(x))
    np.testing.assert_array_equal(circnn.Engine(back).run(x), q.simulate(x))


def test_export_is_deterministic():
    a = mlp(seed=3).quantize(images(mlp(seed=3)))
    b = mlp(seed=3).quantize(images(mlp(seed=3)))
    assert a.blob == b.blob


def test_argmax_and_softmax_outputs():
    rng = np.random.default_rng(0)
    base = [L.Flatten(), L.Dense(16, 5, seed=rng)]
    x = rng.uniform(0, 1, (10, 4, 4, 1))
    m = circnn.Model(base + [L.Argmax()], input_shape=(4, 4, 1))
    expected = np.argmax(circnn.Model(base, input_shape=(4, 4, 1)).forward(x), axis=1)
    for exported in (m.to_f32(), m.quantize(x)):
        np.testing.assert_array_equal(circnn.Engine(exported).run(x)[:, 0], expected)
    s = circnn.Model(base + [L.Softmax()], input_shape=(4, 4, 1))
    got = circnn.Engine(s.to_f32()).run(x)
    np.testing.assert_allclose(got, s.forward(x), atol=1e-6)
    with pytest.raises(ValueError, match="q15 models have no softmax"):
        s.quantize(x)


def test_predict_with_and_without_a_final_argmax_or_softmax():
    # Model.predict and circnn.train.predict are one function: the classes of the
    # output before any final Softmax / Argmax (an Argmax output used to give zeros).
    rng = np.random.default_rng(4)
    base = [L.Flatten(), L.Dense(16, 7, seed=rng)]
    x = rng.uniform(0, 1, (23, 4, 4, 1))
    expected = np.argmax(circnn.Model(base, input_shape=(4, 4, 1)).forward(x), axis=1)
    assert len(set(expected.tolist())) > 1          # not all one class, so zeros cannot pass
    for tail in ([], [L.Argmax()], [L.Softmax()], [L.Softmax(), L.Argmax()]):
        m = circnn.Model(base + tail, input_shape=(4, 4, 1))
        np.testing.assert_array_equal(m.predict(x, batch_size=5), expected)
        np.testing.assert_array_equal(circnn.train.predict(m, x, batch_size=5), expected)


def test_layer_weights_in_time_domain_or_spectrum():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((4, 3, 8))
    a = L.BlockCirculantDense(20, 30, 8, weight=w)
    b = L.BlockCirculantDense(20, 30, 8, spectrum=circnn.circulant.to_spectrum(w))
    np.testing.assert_allclose(a.spectrum, b.spectrum)
    np.testing.assert_allclose(a.weight, w, atol=1e-12)
    x = rng.standard_normal((3, 20))
    np.testing.assert_allclose(a.forward(x), x @ circnn.circulant.dense_matrix(w, 30, 20).T, atol=1e-10)


def test_conv_layers_match_explicit_definition():
    rng = np.random.default_rng(4)
    conv = L.BlockCirculantConv2d(6, 8, 3, 4, stride=2, padding="same", seed=rng)
    x = rng.standard_normal((2, 7, 6, 6))
    kernel = conv.dense_kernel()
    g = circnn.window.window_geometry(7, 6, 3, 3, 2, "same")
    expected = np.zeros((2, g.out_h, g.out_w, 8))
    for oy in range(g.out_h):
        for ox in range(g.out_w):
            for a in range(3):
                for b in range(3):
                    iy, ix = oy * 2 + a - g.pad_top, ox * 2 + b - g.pad_left
                    if 0 <= iy < 7 and 0 <= ix < 6:
                        expected[:, oy, ox] += x[:, iy, ix] @ kernel[a, b]
    np.testing.assert_allclose(conv.forward(x), expected + conv.bias, atol=1e-10)
    # tap (a, b), block (i, j) maps input block j to output block i
    w = conv.weight
    np.testing.assert_allclose(kernel[1, 2, :, :].T,
                               circnn.circulant.dense_matrix(w[1, 2], 8, 6), atol=1e-12)


def test_shapes_must_chain_and_inputs_are_checked():
    with pytest.raises(ValueError, match="layer 1 .*Dense.*expects a vector of 50"):
        circnn.Model([L.Flatten(), L.Dense(50, 10)], input_shape=(7, 7, 1))
    with pytest.raises(ValueError, match="add a Flatten"):
        circnn.Model([L.Dense(49, 10)], input_shape=(7, 7, 1))
    with pytest.raises(TypeError, match="not a circnn.layers layer"):
        circnn.Model([object()], input_shape=(4,))
    with pytest.raises(ValueError, match="NaN"):
        L.Dense(3, 2, weight=np.array([[1, 2, np.nan], [0, 0, 0]]))
    with pytest.raises(ValueError, match="must have shape \\(2, 3\\)"):
        L.Dense(3, 2, weight=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="power of two"):
        L.BlockCirculantDense(10, 10, 6)
    model = mlp()
    with pytest.raises(ValueError, match=r"shape \(N,\) \+ \(8, 8, 1\)"):
        model.forward(np.zeros((2, 64)))
    with pytest.raises(ValueError, match="one sample"):
        model.forward(np.zeros((8, 8, 1)))
    with pytest.raises(TypeError, match="real numeric"):
        model.forward(np.zeros((2, 8, 8, 1), dtype=complex))
    q = model.quantize(images(model))
    engine = circnn.Engine(q)
    with pytest.raises(ValueError, match="input must have shape"):
        engine.run(np.zeros((2, 64)))
    with pytest.raises(TypeError, match="int16"):
        engine.run_raw(np.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="calibration"):
        model.quantize(None)


def test_batchnorm_after_relu_is_refused():
    m = circnn.Model([L.Flatten(), L.Dense(4, 4), L.ReLU(), L.BatchNorm(4)], input_shape=(2, 2, 1))
    with pytest.raises(ValueError, match="put the BatchNorm before the ReLU"):
        m.to_f32()


@pytest.mark.parametrize("weight_scale, data_scale, where", [
    (1.0, 1e-40, r"layer 0 \(Flatten\): output scale exponent \(out_frac\) 147 "),
    (1e-42, 1.0, r"layer 1 \(Dense\(16 -> 5\)\): output scale exponent \(out_frac\) 151 "),
])
def test_field_range_problems_are_export_errors_naming_the_layer(weight_scale, data_scale, where):
    # Calibration data around 1e-40 ask for a scale 2^-147, which the int8 field
    # cannot hold: that used to end in a raw struct.error.
    rng = np.random.default_rng(0)
    m = circnn.Model([L.Flatten(), L.Dense(16, 5, weight=rng.standard_normal((5, 16)) * weight_scale), L.ReLU(),
                      L.Dense(5, 3, seed=1)], input_shape=(4, 4, 1))
    from circnn.export import ExportError
    with pytest.raises(ExportError, match=where + r"does not fit the blob \(range \[-128, 127\]\)"):
        m.quantize(rng.uniform(0, 1, (8, 4, 4, 1)) * data_scale)


def test_every_blob_field_is_range_checked():
    from circnn import blob as B
    op = B.Op(B.MAXPOOL2D, (4, 4, 1), (4, 4, 1), kernel=(1, 1), stride=1)
    B.pack("q15", [op], (4, 4, 1), (4, 4, 1), 0, 0, 64)
    for change, field in (({"kernel": (256, 1)}, "kernel height"), ({"stride": 300}, "stride"),
                          ({"out_frac": -129}, "out_frac"), ({"in_shape": (70000, 4, 1)}, r"input shape\[0\]"),
                          ({"block_size": -1}, "block size"), ({"weight_exp": 2 ** 31}, "weight exponent")):
        bad = B.Op(**{**op.__dict__, "extra": {}, **change})
        with pytest.raises(B.FieldRangeError, match=f"layer entry 0: .*{field}"):
            B.pack("q15", [bad], (4, 4, 1), (4, 4, 1), 0, 0, 64)
    for args, field in ((((4, 4, 1), (4, 4, 1), 128, 0, 64), "input_frac"),
                        (((4, 4, 1), (4, 4, 1), 0, 0, 2 ** 32), "arena bytes"),
                        (((4, 4, 1), (4, 4, 65536), 0, 0, 64), r"output shape\[2\]")):
        with pytest.raises(B.FieldRangeError, match=f"model header: .*{field}"):
            B.pack("q15", [op], *args)


def test_one_float_forward_refuses_an_unknown_layer_type(monkeypatch):
    # simulate.float_op is the float forward of both the f32 simulation and the
    # exporter's calibration; an unknown type used to be taken for argmax.
    from circnn import blob as B
    from circnn import simulate
    from circnn.export import exporter as export   # the module whose lower() export() calls
    rng = np.random.default_rng(5)
    model = circnn.Model([L.Flatten(), L.Dense(16, 4, seed=rng), L.ReLU()], input_shape=(4, 4, 1))
    x = rng.uniform(0, 1, (3, 4, 4, 1))
    f = model.to_f32()
    f.ops[-1].type = 99
    with pytest.raises(ValueError, match="no float forward pass for layer type 99"):
        f.simulate(x)
    with pytest.raises(ValueError, match="no float forward pass for layer type 99"):
        simulate.float_op(B.Op(99, (1, 1, 4), (1, 1, 4)), x.reshape(3, 1, 1, 16)[..., :4])
    lower = export.lower

    def lower_with_an_unknown_op(m):
        return lower(m) + [B.Op(99, (1, 1, 4), (1, 1, 4))]

    monkeypatch.setattr(export, "lower", lower_with_an_unknown_op)
    with pytest.raises(ValueError, match="no float forward pass for layer type 99"):
        model.quantize(x)
    assert not hasattr(export, "_float_forward")
