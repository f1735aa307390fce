"""circnn.train and circnn.train_layers: every layer's gradients against central
finite differences (float64), the block-circulant layers against their
explicit dense matrices, the FFT and dense-expansion paths against each
other, the optimizers against their formulas, repeatability, checkpoints,
a short real training run and the `circnn train` command."""
import numpy as np
import pytest

import circnn
from circnn import circulant, presets, train
from circnn import layers as L
from circnn import train_layers as T
from conftest import snr_db

F64 = np.float64


def numeric_grad(f, array, eps=1e-6):
    """Central finite differences of the scalar f() over every entry of array (changed in place)."""
    grad = np.zeros_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        out[i] = (up - down) / (2 * eps)
    return grad


def assert_close(got, expected, rtol=1e-6):
    scale = max(np.abs(expected).max(), 1e-12)
    err = np.abs(got - expected).max() / scale
    assert err <= rtol, f"relative error {err:.3g} > {rtol:g}"


def check_gradients(layer, x, training=True, path="auto", seed=0):
    """Analytic input and parameter gradients of sum(y * r) against finite differences."""
    op = T.make_op(layer, F64, path)
    x = x.copy()
    y = op.forward(x, training)
    r = np.random.default_rng(seed).standard_normal(y.shape)

    def loss():
        return float(np.sum(op.forward(x, training) * r))

    op.forward(x, training)
    dx = op.backward(r)
    grads = {name: g.copy() for name, g in op.grads.items()}
    assert_close(dx, numeric_grad(loss, x))
    assert set(grads) == set(op.params)
    for name, param in op.params.items():
        assert_close(grads[name], numeric_grad(loss, param))
    return op


# ---------------------------------------------------------------------------
# FFT helpers and the circulant expansion

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fft_helpers_match_numpy(rng, dtype):
    x = rng.standard_normal((3, 5, 16)).astype(dtype)
    spec = T.rfft(x)
    assert spec.dtype == (np.complex64 if dtype == np.float32 else np.complex128)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(spec, np.fft.rfft(x.astype(F64)), tol)
    back = T.irfft(spec, 16)
    assert back.dtype == dtype
    assert_close(back, x, tol)
    spec[...] = 0                       # the result is ours, not the plan's buffer
    assert np.abs(T.rfft(x)).max() > 0


def test_numpy_fft_fallback_gives_the_same_training_numbers(rng, monkeypatch):
    layer = L.BlockCirculantConv2d(8, 8, 3, 4, seed=rng)
    x = rng.standard_normal((2, 5, 5, 8)).astype(np.float32)
    dy = rng.standard_normal((2, 5, 5, 8)).astype(np.float32)
    results = []
    for fftw in (T.pyfftw, None):
        monkeypatch.setattr(T, "pyfftw", fftw)
        op = T.make_op(layer, np.float32, "fft")
        y = op.forward(x, True)
        results.append((y, op.backward(dy), op.grads["weight"]))
        assert all(a.dtype == np.float32 for a in results[-1][:2])
    for a, b in zip(*results):
        assert_close(a, b, 1e-5)


def test_dense_blocks_is_circulant_dense_matrix(rng):
    w = rng.standard_normal((2, 3, 3, 3, 8))   # 21 x 17 at k = 8: 3 x 3 blocks
    got = T.dense_blocks(w, 21, 17)
    for a in range(2):
        for b in range(3):
            np.testing.assert_array_equal(got[a, b], circulant.dense_matrix(w[a, b], 21, 17))


def test_project_blocks_is_the_adjoint_of_the_expansion(rng):
    # <dense_blocks(e), G> for every unit vector e of the defining vectors
    p, q, k, m, n = 3, 2, 4, 10, 7
    g = rng.standard_normal((m, n))
    expected = np.zeros((p, q, k))
    for index in np.ndindex(p, q, k):
        e = np.zeros((p, q, k))
        e[index] = 1
        expected[index] = np.sum(circulant.dense_matrix(e, m, n) * g)
    np.testing.assert_allclose(T.project_blocks(g, p, q, k), expected, atol=1e-12)


# ---------------------------------------------------------------------------
# Forward passes equal the layers' float64 reference

def _bn(rng, c):
    return L.BatchNorm(c, gamma=rng.uniform(0.5, 1.5, c), beta=rng.normal(0, 0.2, c),
                       mean=rng.normal(0, 0.3, c), var=rng.uniform(0.5, 2.0, c))


def _layers(rng):
    """(layer, input shape) pairs covering every layer class and window case."""
    return [
        (L.Dense(7, 5, bias=rng.standard_normal(5), seed=rng), (3, 7)),
        (L.BlockCirculantDense(10, 7, 4, bias=rng.standard_normal(7), seed=rng), (3, 10)),
        (L.BlockCirculantDense(9, 16, 8, seed=rng), (2, 9)),
        (L.Conv2d(3, 4, 3, bias=rng.standard_normal(4), seed=rng), (2, 5, 6, 3)),
        (L.Conv2d(2, 3, (3, 2), stride=2, padding="valid", seed=rng), (2, 7, 6, 2)),
        (L.Conv2d(2, 3, 3, stride=2, padding="same", seed=rng), (2, 6, 5, 2)),
        (L.BlockCirculantConv2d(6, 10, 3, 4, bias=rng.standard_normal(10), seed=rng), (2, 5, 4, 6)),
        (L.BlockCirculantConv2d(4, 8, 3, 4, stride=2, padding="same", seed=rng), (2, 6, 5, 4)),
        (L.BlockCirculantConv2d(5, 3, (2, 3), 2, padding="valid", seed=rng), (2, 4, 5, 5)),
        (L.ReLU(), (2, 4, 3, 2)),
        (L.DepthwiseConv2d(3, 3, bias=rng.standard_normal(3), seed=rng), (2, 5, 4, 3)),
        (L.DepthwiseConv2d(4, (3, 2), stride=2, padding="same", seed=rng), (2, 6, 5, 4)),
        (L.DepthwiseConv2d(2, (2, 3), stride=2, padding="valid", seed=rng), (2, 5, 7, 2)),
        (L.MaxPool2d(2), (2, 4, 6, 3)),
        (L.MaxPool2d(3, 2, padding="same"), (2, 5, 6, 2)),
        (L.MaxPool2d(2, 1), (2, 3, 4, 2)),
        (L.AvgPool2d(2), (2, 4, 4, 3)),
        (L.AvgPool2d(3, 2, padding="same"), (2, 5, 6, 2)),
        (L.GlobalAvgPool2d(), (2, 3, 4, 5)),
        (L.Flatten(), (2, 3, 2, 4)),
        (_bn(rng, 3), (2, 4, 3, 3)),
        (_bn(rng, 5), (6, 5)),
        (L.Softmax(), (3, 6)),
    ]


def test_every_layer_class_has_an_op():
    classes = {c for c in vars(L).values() if isinstance(c, type) and issubclass(c, L.Layer) and c is not L.Layer
               and not c.__name__.startswith("_")}
    covered = {type(layer) for layer, _ in _layers(np.random.default_rng(0))} | {L.Argmax}
    assert classes <= covered, f"layers without a test: {classes - covered}"


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_eval_forward_equals_layer_reference(rng, dtype, tol):
    for layer, shape in _layers(rng) + [(L.Argmax(), (4, 6))]:
        x = rng.standard_normal(shape)
        for path in ("fft", "dense") if isinstance(layer, (L.BlockCirculantDense, L.BlockCirculantConv2d)) \
                else ("auto",):
            got = T.make_op(layer, dtype, path).forward(x.astype(dtype), training=False)
            assert got.dtype == dtype, layer
            assert_close(got, layer.forward(x), tol)


# ---------------------------------------------------------------------------
# Gradients against finite differences

@pytest.mark.parametrize("index", range(23))
def test_gradients_against_finite_differences(index):
    rng = np.random.default_rng(index)
    layer, shape = _layers(rng)[index]
    paths = ("fft", "dense") if isinstance(layer, (L.BlockCirculantDense, L.BlockCirculantConv2d)) else ("auto",)
    for path in paths:
        x = rng.standard_normal(shape)
        check_gradients(layer, x, training=True, path=path)
        if isinstance(layer, L.BatchNorm):
            check_gradients(layer, x, training=False)


def test_batchnorm_training_uses_batch_statistics_and_updates_running_ones(rng):
    layer = L.BatchNorm(3, gamma=np.array([1.0, 2.0, 0.5]), beta=np.array([0.0, 1.0, -1.0]))
    x = rng.normal(3.0, 2.0, (8, 4, 4, 3))
    op = T.make_op(layer, F64)
    op.momentum = 0.25
    y = op.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), layer.beta, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), layer.gamma * np.sqrt(x.var(axis=(0, 1, 2))
                                                                           / (x.var(axis=(0, 1, 2)) + 1e-5)))
    np.testing.assert_allclose(layer.mean, 0.25 * x.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(layer.var, 0.75 + 0.25 * x.var(axis=(0, 1, 2), ddof=1))


def test_softmax_cross_entropy_against_finite_differences(rng):
    logits = rng.standard_normal((5, 7))
    labels = rng.integers(0, 7, 5)
    for smoothing in (0.0, 0.1):
        loss, grad, correct = train.softmax_cross_entropy(logits, labels, smoothing)
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        target = np.eye(7)[labels] * (1 - smoothing) + smoothing / 7
        assert loss == pytest.approx(-np.mean(np.sum(target * np.log(p), axis=1)), rel=1e-12)
        assert_close(grad, numeric_grad(lambda: train.softmax_cross_entropy(logits, labels, smoothing)[0], logits))
        assert correct == np.sum(np.argmax(logits, axis=1) == labels)


# ---------------------------------------------------------------------------
# Block-circulant layers against their explicit dense matrices

@pytest.mark.parametrize("m,n,k", [(7, 10, 4), (16, 9, 8), (12, 12, 2), (5, 33, 16)])
@pytest.mark.parametrize("path", ["fft", "dense"])
def test_bc_dense_gradients_against_explicit_matrix(rng, m, n, k, path):
    layer = L.BlockCirculantDense(n, m, k, bias=rng.standard_normal(m), seed=rng)
    w = layer.weight
    x, dy = rng.standard_normal((4, n)), rng.standard_normal((4, m))
    op = T.make_op(layer, F64, path)
    matrix = circulant.dense_matrix(w, m, n)
    assert_close(op.forward(x, True), x @ matrix.T + layer.bias, 1e-12)
    dx = op.backward(dy)
    assert_close(dx, dy @ matrix, 1e-12)
    dmatrix = dy.T @ x                  # d loss / d explicit matrix
    expected = np.zeros(w.shape)
    for index in np.ndindex(w.shape):   # W is linear in w: d loss / d w = <d loss / d W, dW / dw>
        e = np.zeros(w.shape)
        e[index] = 1
        expected[index] = np.sum(dmatrix * circulant.dense_matrix(e, m, n))
    assert_close(op.grads["weight"], expected, 1e-12)
    assert_close(op.grads["bias"], dy.sum(axis=0), 1e-12)


@pytest.mark.parametrize("stride,padding,k,cin,cout",
                         [(1, "same", 4, 6, 8), (2, "same", 2, 3, 5), (1, "valid", 4, 4, 4)])
@pytest.mark.parametrize("path", ["fft", "dense"])
def test_bc_conv2d_gradients_against_explicit_operator(rng, stride, padding, k, cin, cout, path):
    """The layer as one explicit matrix (from circnn.circulant.bc_conv2d_reference on unit
    vectors): dx = J^T dy; the output is linear in w, so d loss / d w_e = <ref(e, x), dy>."""
    layer = L.BlockCirculantConv2d(cin, cout, 3, k, stride=stride, padding=padding, seed=rng)
    w = layer.weight
    x = rng.standard_normal((2, 5, 4, cin))
    op = T.make_op(layer, F64, path)
    y = op.forward(x, True)
    assert_close(y, circulant.bc_conv2d_reference(w, x, cout, stride, padding), 1e-12)
    dy = rng.standard_normal(y.shape)
    dx = op.backward(dy)
    jt_dy = np.zeros(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 1
        jt_dy[i] = np.sum(circulant.bc_conv2d_reference(w, e.reshape(x.shape), cout, stride, padding) * dy)
    assert_close(dx, jt_dy.reshape(x.shape), 1e-12)
    dw = np.zeros(w.shape)
    for index in np.ndindex(w.shape):
        e = np.zeros(w.shape)
        e[index] = 1
        dw[index] = np.sum(circulant.bc_conv2d_reference(e, x, cout, stride, padding) * dy)
    assert_close(op.grads["weight"], dw, 1e-12)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 3e-5)])
def test_fft_and_dense_paths_give_the_same_numbers(rng, dtype, tol):
    cases = [(L.BlockCirculantDense(100, 70, 16, seed=rng), (8, 100)),
             (L.BlockCirculantDense(64, 64, 4, seed=rng), (8, 64)),
             (L.BlockCirculantConv2d(16, 32, 3, 8, seed=rng), (3, 6, 6, 16)),
             (L.BlockCirculantConv2d(12, 20, 3, 4, stride=2, seed=rng), (3, 7, 6, 12))]
    for layer, shape in cases:
        x = rng.standard_normal(shape).astype(dtype)
        results = []
        for path in ("fft", "dense"):
            op = T.make_op(layer, dtype, path)
            y = op.forward(x, True)
            dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
            results.append((y, op.backward(dy), op.grads["weight"], op.grads["bias"]))
        for a, b in zip(*results):
            assert_close(a, b, tol)


def test_auto_path_follows_the_measured_crossover():
    assert T.auto_path(L.BlockCirculantConv2d(16, 32, 3, 4)) == "dense"
    assert T.auto_path(L.BlockCirculantDense(1024, 1024, 64)) == "fft"
    assert T.auto_path(L.BlockCirculantDense(1024, 1024, 2)) == "dense"
    assert T.auto_path(L.BlockCirculantConv2d(128, 128, 3, 16)) == "fft"


# ---------------------------------------------------------------------------
# A whole network: backward through every op, the trained arrays go back into the layers

def small_net(seed=0, k=4):
    rng = np.random.default_rng(seed)
    return circnn.Model([
        L.Conv2d(1, 4, 3, seed=rng), _bn(rng, 4), L.ReLU(), L.MaxPool2d(2),
        L.BlockCirculantConv2d(4, 8, 3, k, seed=rng), L.ReLU(), L.AvgPool2d(2, padding="same"),
        L.Flatten(), L.BlockCirculantDense(32, 12, k, seed=rng), L.ReLU(), L.Dense(12, 3, seed=rng),
        L.Softmax(),
    ], input_shape=(8, 8, 1))


def test_network_gradient_against_finite_differences(rng):
    model = small_net()
    net = train.Network(model, F64, path="fft")
    assert len(net.ops) == len(model.layers) - 1            # the Softmax belongs to the loss
    x, labels = rng.uniform(0, 1, (6, 8, 8, 1)), rng.integers(0, 3, 6)

    def loss():
        return train.softmax_cross_entropy(net.forward(x, True), labels)[0]

    _, grad, _ = train.softmax_cross_entropy(net.forward(x, True), labels)
    net.backward(grad)
    for key, op, name in net.parameters():
        param = op.params[name]
        picks = np.random.default_rng(len(key)).choice(param.size, min(param.size, 6), replace=False)
        for i in picks:
            flat = param.reshape(-1)
            old = flat[i]
            flat[i] = old + 1e-6
            up = loss()
            flat[i] = old - 1e-6
            down = loss()
            flat[i] = old
            assert op.grads[name].reshape(-1)[i] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-9), key


def test_trained_arrays_live_in_the_layers(rng):
    model = small_net()
    x, y = rng.uniform(0, 1, (40, 8, 8, 1)), rng.integers(0, 3, 40)
    spectra = [layer.spectrum for layer in model.layers if hasattr(layer, "spectrum")]
    before = [s.copy() for s in spectra]
    bn = model.layers[1]
    train.fit(model, x, y, epochs=1, batch_size=8, progress=False, dtype=F64)
    after = [layer.spectrum for layer in model.layers if hasattr(layer, "spectrum")]
    assert all(a is s for a, s in zip(after, spectra))          # the same arrays, trained in place
    assert all(not np.allclose(s, b) for s, b in zip(spectra, before))
    assert not np.allclose(bn.mean, 0) and not np.allclose(bn.var, 1)
    # the float64 reference of layers.py and the trainer's evaluation agree
    logits = train.Network(model, F64).forward(x)
    probs = model.forward(x)
    assert_close(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), probs, 1e-12)
    assert train.evaluate(model, x, y) == np.mean(model.predict(x) == y)


def test_push_writes_the_trained_vectors_as_packed_spectra(rng):
    """The optimizer moves the time-domain vectors; push() must leave layer.spectrum
    = to_spectrum(vectors), so a fresh network (and the exporter) sees the trained weights."""
    model = small_net()
    net = train.Network(model, F64, path="fft")
    x, labels = rng.uniform(0, 1, (6, 8, 8, 1)), rng.integers(0, 3, 6)
    _, grad, _ = train.softmax_cross_entropy(net.forward(x, True), labels)
    net.backward(grad)
    train.SGD(lr=0.5).step([(key, op.params[name], op.grads[name], False) for key, op, name in net.parameters()],
                           0.5)
    circ = [op for op in net.ops if isinstance(op.layer, (L.BlockCirculantDense, L.BlockCirculantConv2d))]
    stale = [op.layer.spectrum.copy() for op in circ]
    net.push()
    for op, old in zip(circ, stale):
        assert not np.allclose(op.layer.spectrum, old)
        np.testing.assert_allclose(op.layer.spectrum, circulant.to_spectrum(op.params["weight"]), atol=1e-12)
        np.testing.assert_allclose(op.layer.weight, op.params["weight"], atol=1e-12)
    assert_close(train.Network(model, F64).forward(x), net.forward(x), 1e-12)


# ---------------------------------------------------------------------------
# Optimizers and schedules against their formulas

def test_adam_against_its_formula():
    p = np.array([1.0, -2.0])
    g1, g2 = np.array([0.5, 1.0]), np.array([-1.0, 2.0])
    opt = train.Adam(lr=0.1, weight_decay=0.01)
    opt.step([("w", p, g1, True)], 0.1)
    opt.step([("w", p, g2, True)], 0.05)
    q = np.array([1.0, -2.0])
    m = v = 0
    for t, (g, lr) in enumerate(((g1, 0.1), (g2, 0.05)), start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        q = q - lr * 0.01 * q
        q = q - lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(p, q, rtol=1e-14)


def test_sgd_momentum_and_weight_decay_against_their_formula():
    p, b = np.array([1.0, -2.0]), np.array([0.5])
    opt = train.SGD(lr=0.1, momentum=0.9, weight_decay=0.1)
    for g in (np.array([1.0, 1.0]), np.array([0.0, -1.0])):
        opt.step([("w", p, g, True), ("b", b, np.array([1.0]), False)], 0.1)
    g1 = np.array([1.0, 1.0]) + 0.1 * np.array([1.0, -2.0])
    p1 = np.array([1.0, -2.0]) - 0.1 * g1
    g2 = np.array([0.0, -1.0]) + 0.1 * p1
    np.testing.assert_allclose(p, p1 - 0.1 * (0.9 * g1 + g2), rtol=1e-14)
    np.testing.assert_allclose(b, [0.5 - 0.1 - 0.1 * 1.9])      # no decay on biases


def test_schedules():
    assert train.schedule_factor("constant", 0.7) == 1.0
    assert train.schedule_factor("cosine", 0.0) == 1.0
    assert train.schedule_factor("cosine", 0.5) == pytest.approx(0.5)
    assert train.schedule_factor("cosine", 0.999) < 1e-4
    assert [train.schedule_factor("step", t) for t in (0.1, 0.6, 0.8)] == [1.0, 0.1, 0.01]
    assert train.schedule_factor(lambda t: 1 - t, 0.25) == 0.75
    with pytest.raises(ValueError):
        train.schedule_factor("linear", 0.5)


# ---------------------------------------------------------------------------
# Initialisation, augmentation, presets

def test_initialise_uses_the_full_fan_in_and_is_seeded():
    a, b, c = presets.mlp(64, seed=5), presets.mlp(64, seed=5), presets.mlp(64, seed=6)
    train.initialise(a, 3)
    train.initialise(b, 3)
    train.initialise(c, 3)
    for la, lb, lc in zip(a.layers, b.layers, c.layers):
        for name in la.params():
            np.testing.assert_array_equal(getattr(la, name), getattr(lb, name))
            np.testing.assert_array_equal(getattr(la, name), getattr(lc, name))
    w = a.layers[1].weight                       # 784 -> 1024 at k = 64: std sqrt(2 / 784), not sqrt(2 / 64)
    assert w.std() == pytest.approx(np.sqrt(2 / 784), rel=0.03)
    x = np.random.default_rng(0).standard_normal((256, 784))
    y = a.layers[1].forward(x)
    assert np.mean(y ** 2) == pytest.approx(2.0, rel=0.1)      # He: E[y^2] = 2 E[x^2]


def test_random_shift_flip():
    x = np.random.default_rng(0).uniform(0, 1, (64, 6, 5, 1)).astype(np.float32)
    same = train.random_shift_flip(shift=0, flip=False)(x, np.random.default_rng(1))
    np.testing.assert_array_equal(same, x)
    flipped = train.random_shift_flip(shift=0, flip=True)(x, np.random.default_rng(1))
    mirrored = np.all(flipped == x[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(mirrored | np.all(flipped == x, axis=(1, 2, 3))) and 10 < mirrored.sum() < 54
    moved = train.random_shift_flip(shift=2, flip=False)(x, np.random.default_rng(1))
    assert moved.shape == x.shape and moved.dtype == x.dtype
    assert np.all(moved.sum(axis=(1, 2, 3)) <= x.sum(axis=(1, 2, 3)) + 1e-4)   # shifted out, never invented


def test_presets_match_the_reference_networks():
    assert presets.mlp(None).parameter_count() == 784 * 1024 + 1024 + 1024 * 1024 + 1024 + 10250
    assert presets.cnn(None).parameter_count() == 54666                 # docs/ANCHORS.md: 54.7k
    m = presets.mlp(64)
    assert m.dense_parameter_count() == presets.mlp(None).parameter_count()
    circ = m.layers[1].spectrum.size + m.layers[3].spectrum.size
    assert round((784 * 1024 + 1024 * 1024) / circ) == 62                  # docs/ANCHORS.md: 62x at k = 64
    c = presets.cnn(4)
    assert isinstance(c.layers[0], L.Conv2d) and not isinstance(c.layers[0], L.BlockCirculantConv2d)
    assert [type(c.layers[i]) for i in (3, 6)] == [L.BlockCirculantConv2d] * 2
    assert c.output_shape == (10,) and c.layers[-1].in_features == 3136
    w = presets.wide_cnn(16)
    assert w.output_shape == (10,) and presets.weight_count(w) == 16544     # 16.5k weights at k = 16
    assert presets.weight_count(presets.wide_cnn()) == 288 + 2304 + 4608 + 4608 + 1280   # k = 8, 16, 32
    d = presets.ds_cnn(16)
    assert d.output_shape == (10,) and isinstance(d.layers[3], L.MaxPool2d) and d.shapes[4] == (14, 14, 16)
    assert [type(layer) for layer in d.layers if layer.params() and not isinstance(layer, L.BatchNorm)] == \
        [L.Conv2d, L.DepthwiseConv2d, L.BlockCirculantConv2d, L.DepthwiseConv2d, L.BlockCirculantConv2d,
         L.BlockCirculantDense]
    assert [layer.kernel_h for layer in d.layers if isinstance(layer, L.BlockCirculantConv2d)] == [1, 1]
    assert d.layers[-1].in_features == 7 * 7 * 128 and d.layers[-1].block_size == 64
    # conv 3x3x1x16, depthwise 3x3x16, pointwise 16x64/16, depthwise 3x3x64, pointwise 64x128/16,
    # classifier 6272 -> 10 as 98 blocks of k = 64
    assert presets.weight_count(d) == 144 + 144 + 64 + 576 + 512 + 98 * 64
    assert presets.weight_count(presets.ds_cnn(None)) == 144 + 144 + 1024 + 576 + 8192 + 98 * 64
    gap = presets.ds_cnn((8, 16, 32), blocks=((64, 2), (128, 1), (128, 1)), stem=32, stem_pool=False, head="gap")
    assert gap.shapes[4] == (7, 7, 32) and [layer.block_size for layer in gap.layers
                                             if isinstance(layer, L.BlockCirculantConv2d)] == [8, 16, 32]
    assert isinstance(gap.layers[-3], L.GlobalAvgPool2d) and gap.layers[-1].in_features == 128
    cp = presets.compact_cnn()    # conv 1-16, pool, bc 16-32, pool, bc 32-64, bc 64-32, pool, FC 288-10
    assert cp.output_shape == (10,) and cp.shapes[4] == (14, 14, 16) and cp.layers[-1].in_features == 3 * 3 * 32
    assert [(type(layer), layer.out_channels, getattr(layer, "block_size", None)) for layer in cp.layers
            if isinstance(layer, L.Conv2d)] == [(L.Conv2d, 16, None), (L.BlockCirculantConv2d, 32, 8),
                                                (L.BlockCirculantConv2d, 64, 8), (L.BlockCirculantConv2d, 32, 8)]
    assert presets.weight_count(cp) == 144 + 9 * 16 * 32 // 8 + 9 * 32 * 64 // 8 + 9 * 64 * 32 // 8 + 288 * 10
    assert sum(isinstance(layer, L.BatchNorm) for layer in cp.layers) == 4
    sq = presets.compact_cnn(channels=(16, 32, 64, 64), head=4)     # ... bc 64-64, 1x1 64-4, FC 196-10
    assert isinstance(sq.layers[-5], L.Conv2d) and sq.layers[-5].kernel_h == 1 and sq.layers[-1].in_features == 196
    assert presets.weight_count(sq) == 144 + 576 + 2304 + 4608 + 64 * 4 + 196 * 10
    assert presets.weight_count(presets.compact_cnn(channels=(16, 32, 64), head=8)) == 144 + 576 + 2304 + 512 + 3920
    fc = presets.compact_cnn(channels=(16, 32, 64), head="fc", head_block_size=8)   # ... bc 32-64, bc FC 3136-10
    assert isinstance(fc.layers[-2], L.Flatten) and isinstance(fc.layers[-1], L.BlockCirculantDense)
    assert (fc.layers[-1].in_features, fc.layers[-1].block_size) == (3136, 8)
    assert presets.weight_count(fc) == 144 + 576 + 2304 + 3136 * 16 // 8
    per_layer = presets.compact_cnn((8, None), channels=(16, 32, 64), head="fc")       # one k per circulant conv
    assert [type(layer) for layer in per_layer.layers if isinstance(layer, L.Conv2d)] == [
        L.Conv2d, L.BlockCirculantConv2d, L.Conv2d] and type(per_layer.layers[-1]) is L.Dense
    mixed = presets.mlp((None, 16))
    assert type(mixed.layers[1]) is L.Dense and mixed.layers[3].block_size == 16
    with pytest.raises(ValueError):
        presets.build("resnet")
    with pytest.raises(ValueError):
        presets.cnn((4, 8, 16))
    with pytest.raises(ValueError):
        presets.compact_cnn((4, 8))
    from circnn.cli import _block_size
    assert [_block_size(t) for t in ("dense", "16", "8,16,32", "dense,4")] == [None, 16, (8, 16, 32), (None, 4)]



@pytest.mark.parametrize("head", ["pool", 4, "fc"])
def test_compact_cnn_preset_exports_and_runs_bit_exact(rng, head):
    """presets.compact_cnn: BatchNorm folded, ReLU fused, the 1x1 squeeze a
    dense conv2d, the "fc" head block-circulant; q15 simulator == C engine,
    f32 close to float64."""
    model = presets.compact_cnn(seed=1, head=head, head_block_size=8 if head == "fc" else None)
    x = rng.uniform(0, 1, (24, 28, 28, 1))
    q = model.quantize(x[:16])
    assert [op.label for op in q.ops] == [
        "conv2d+relu+maxpool2d", "bc_conv2d+relu+maxpool2d", "bc_conv2d+relu"] + {
        "pool": ["bc_conv2d+relu+maxpool2d"], 4: ["bc_conv2d+relu", "conv2d+relu"], "fc": ["bc_conv2d+relu"]}[head] + [
        "flatten", "bc_dense" if head == "fc" else "dense"]
    xq = q.quantize_input(x)
    assert np.array_equal(q.simulate_raw(xq), circnn.Engine(q).run_raw(xq))
    ref = model.forward(x)
    assert snr_db(ref, q.simulate(x)) >= 30.0
    np.testing.assert_allclose(circnn.Engine(model.to_f32()).run(x), ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())

# ---------------------------------------------------------------------------
# Repeatability and checkpoints

def _toy(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (96, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 96)


def _arrays(model):
    return [a.copy() for layer in model.layers for a in list(layer.params().values())
            + ([layer.mean, layer.var] if isinstance(layer, L.BatchNorm) else [])]


def test_same_seed_same_weights_other_seed_other_weights():
    x, y = _toy()
    runs = []
    for seed in (0, 0, 1):
        model = small_net(seed=7)
        train.fit(model, x, y, epochs=2, batch_size=16, seed=seed, schedule="cosine", weight_decay=1e-3,
                  augment=train.random_shift_flip(1), progress=False)
        runs.append(_arrays(model))
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(runs[0], runs[2]))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_from_checkpoint_gives_the_uninterrupted_weights(tmp_path, optimizer):
    x, y = _toy(1)
    straight = small_net(seed=3)
    h1 = train.fit(straight, x, y, epochs=3, batch_size=16, optimizer=optimizer, lr=0.01 if optimizer == "sgd"
                   else 1e-3, schedule="cosine", progress=False)

    class Interrupted(Exception):
        pass

    def stop(epoch, logs):
        if epoch == 1:
            raise Interrupted

    path = tmp_path / "run.npz"
    first = small_net(seed=3)
    with pytest.raises(Interrupted):
        train.fit(first, x, y, epochs=3, batch_size=16, optimizer=optimizer, lr=0.01 if optimizer == "sgd"
                  else 1e-3, schedule="cosine", checkpoint=path, callback=stop, progress=False)
    resumed = small_net(seed=99)                     # other initial weights: all come from the checkpoint
    h2 = train.fit(resumed, x, y, epochs=3, batch_size=16, optimizer=optimizer, lr=0.01 if optimizer == "sgd"
                   else 1e-3, schedule="cosine", checkpoint=path, resume=True, progress=False)
    for a, b in zip(_arrays(straight), _arrays(resumed)):
        np.testing.assert_array_equal(a, b)
    assert h2["loss"] == h1["loss"] and len(h2["loss"]) == 3
    with pytest.raises(ValueError, match="layers"):
        train.load_checkpoint(path, presets.mlp(16))


# ---------------------------------------------------------------------------
# Real data: a short run, export, the C engine, the command line

@pytest.fixture(scope="module")
def fashion():
    return circnn.datasets.fashion_mnist(limit=3000)


@pytest.mark.slow
@pytest.mark.dataset
def test_short_training_run_on_fashion_mnist(fashion):
    (x_train, y_train), (x_test, y_test) = fashion
    model = presets.mlp(16, seed=0)
    history = train.fit(model, x_train, y_train, epochs=2, batch_size=64, seed=0,
                        validation=(x_test[:1000], y_test[:1000]), progress=False)
    assert history["loss"][1] < history["loss"][0]
    accuracy = train.evaluate(model, x_test[:1000], y_test[:1000])
    assert accuracy == history["val_accuracy"][-1] or abs(accuracy - history["val_accuracy"][-1]) < 0.005
    assert accuracy >= 0.75, accuracy          # chance is 0.10
    q = model.quantize(x_train[:300])
    q15 = np.mean(np.argmax(circnn.Engine(q).run(x_test[:1000]), axis=1) == y_test[:1000])
    assert abs(q15 - accuracy) <= 0.01


@pytest.mark.slow
@pytest.mark.dataset
def test_cli_train_end_to_end(tmp_path, capsys):
    from circnn.cli import main
    out, header = tmp_path / "fm.circ", tmp_path / "fm.h"
    code = main(["train", "--arch", "cnn", "--block-size", "4", "--epochs", "1", "--limit", "600", "--quiet",
                 "--calibration", "200", "-o", str(out), "--header", str(header), "--name", "fm"])
    assert code == 0
    text = capsys.readouterr().out
    assert "float" in text and "q15 C engine" in text
    q = circnn.load(str(out))
    assert q.dtype == "q15" and [op.label for op in q.ops][:2] == ["conv2d+relu+maxpool2d", "bc_conv2d+relu+maxpool2d"]
    assert "fm" in header.read_text()
    float_acc, q15_acc = (float(v.split()[0]) for v in text.split("float ")[1].split("q15 C engine ")[:2])
    assert float_acc > 30 and abs(float_acc - q15_acc) <= 2.0
