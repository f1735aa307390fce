"""circnn.torch (block-circulant layers for PyTorch) and circnn.from_torch.

torch must be installed (bash .ci/setup installs torch==2.13.0; elsewhere
pip install "circnn[torch]"): without it every test here fails, never skips.
Oracles: circnn.circulant.dense_matrix and bc_conv2d_reference in float64,
torch.autograd.gradcheck, circnn's own layers, and torch's own output.
"""
import subprocess
import sys

import numpy as np
import pytest

import circnn
from circnn import circulant, layers as L

try:
    import torch
    from torch import nn
    from circnn.torch import BlockCirculantConv2d, BlockCirculantLinear, DepthwiseConv2d
except ImportError as exc:          # the tests below fail with this message
    torch = None
    MISSING = (f"torch is missing ({exc}): install it with `pip install \"circnn[torch]\"` "
               "(or `pip install torch==2.13.0`; bash .ci/setup does)")


pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def need_torch():
    if torch is None:
        pytest.fail(MISSING, pytrace=False)
    torch.set_num_threads(1)      # small tensors: threads only add overhead on a busy machine
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def images():
    """Real Fashion-MNIST test images, NHWC float32 in [0, 1], and labels."""
    _, (x, y) = circnn.datasets.fashion_mnist(limit=300)
    return x, y


def nchw(x, dtype=None):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(dtype or torch.float32)


def test_core_package_does_not_import_torch():
    code = "import sys, circnn; circnn.Model; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("n_in, n_out, k", [(37, 21, 8), (64, 64, 16), (5, 9, 2), (100, 30, 32)])
def test_linear_matches_the_dense_matrix(n_in, n_out, k):
    layer = BlockCirculantLinear(n_in, n_out, k, dtype=torch.float64)
    with torch.no_grad():
        layer.bias.normal_()
    assert tuple(layer.weight.shape) == (circulant.blocks(n_out, k), circulant.blocks(n_in, k), k)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    x = torch.randn(3, 4, n_in, dtype=torch.float64)         # leading dimensions are kept
    w = layer.weight.detach().numpy()
    expect = x.numpy() @ circulant.dense_matrix(w, n_out, n_in).T + layer.bias.detach().numpy()
    got = layer(x)
    assert got.shape == (3, 4, n_out) and got.dtype == torch.float64
    np.testing.assert_allclose(got.detach().numpy(), expect, rtol=0, atol=1e-12)
    # and circnn's own layer on the same weights
    mine = L.BlockCirculantDense(n_in, n_out, k, weight=w, bias=layer.bias.detach().numpy())
    np.testing.assert_allclose(mine.forward(x.numpy().reshape(-1, n_in)), got.detach().numpy().reshape(-1, n_out),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("cin, cout, kernel, k, stride, padding, mode", [
    (12, 20, 3, 8, 1, 1, "same"), (16, 32, 3, 16, 1, "same", "same"), (6, 10, (3, 1), 4, 2, 0, "valid"),
    (8, 8, 5, 2, 1, "valid", "valid"), (32, 16, 1, 32, 1, 0, "valid")])
def test_conv2d_matches_the_reference(cin, cout, kernel, k, stride, padding, mode):
    layer = BlockCirculantConv2d(cin, cout, kernel, k, stride=stride, padding=padding, dtype=torch.float64)
    with torch.no_grad():
        layer.bias.normal_()
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    assert tuple(layer.weight.shape) == (kh, kw, circulant.blocks(cout, k), circulant.blocks(cin, k), k)
    x = torch.randn(2, cin, 9, 7, dtype=torch.float64)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    x_nhwc = x.numpy().transpose(0, 2, 3, 1)
    expect = circulant.bc_conv2d_reference(w, x_nhwc, cout, stride=stride, padding=mode, bias=b)
    got = layer(x).detach().numpy().transpose(0, 2, 3, 1)
    assert got.shape == expect.shape
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-12)
    mine = L.BlockCirculantConv2d(cin, cout, kernel, k, stride=stride, padding=mode, weight=w, bias=b)
    np.testing.assert_allclose(mine.forward(x_nhwc), got, rtol=0, atol=1e-12)


def test_gradients_against_gradcheck():
    lin = BlockCirculantLinear(7, 6, 4, dtype=torch.float64)
    x = torch.randn(2, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: torch.func.functional_call(lin, {"weight": w, "bias": b}, x),
                                    (x, lin.weight, lin.bias))
    conv = BlockCirculantConv2d(3, 6, 3, 4, stride=2, padding=1, dtype=torch.float64)
    x = torch.randn(1, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: torch.func.functional_call(conv, {"weight": w, "bias": b}, x),
                                    (x, conv.weight, conv.bias))


def test_float32_and_gradients_reach_the_defining_vectors():
    conv = BlockCirculantConv2d(16, 16, 3, 8, padding=1)
    assert conv.weight.dtype == torch.float32
    x = torch.randn(4, 16, 6, 6)
    y = conv(x)
    assert y.dtype == torch.float32
    ref = circulant.bc_conv2d_reference(conv.weight.detach().double().numpy(), x.double().numpy().transpose(0, 2, 3, 1),
                                        16, bias=conv.bias.detach().double().numpy())
    np.testing.assert_allclose(y.detach().numpy().transpose(0, 2, 3, 1), ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    y.square().sum().backward()
    assert conv.weight.grad.shape == conv.weight.shape and torch.all(torch.isfinite(conv.weight.grad))
    assert conv.weight.grad.abs().sum() > 0


def test_layers_refuse_bad_arguments():
    with pytest.raises(ValueError, match="power of two"):
        BlockCirculantLinear(10, 10, 6)
    with pytest.raises(ValueError, match="positive"):
        BlockCirculantConv2d(0, 8, 3, 4)
    with pytest.raises(ValueError, match="stride 1"):
        BlockCirculantConv2d(8, 8, 3, 4, stride=2, padding="same")
    with pytest.raises(ValueError, match="channels"):
        BlockCirculantConv2d(8, 8, 3, 4)(torch.zeros(1, 4, 5, 5))


def settle_batchnorm(net, x):
    """Give BatchNorm non-trivial running statistics and affine parameters, then eval()."""
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.momentum = 0.5
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    net.train()
    with torch.no_grad():
        for i in range(3):
            net(x[i * 50:(i + 1) * 50])
    return net.eval()


def cnn_gap():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        BlockCirculantConv2d(16, 32, 3, 8, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        nn.AvgPool2d(2), nn.Dropout(0.2),
        nn.Sequential(BlockCirculantConv2d(32, 64, 3, 16, padding="same"), nn.BatchNorm2d(64), nn.ReLU()),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), BlockCirculantLinear(64, 32, 16), nn.ReLU(), nn.Linear(32, 10))


def cnn_flatten():
    """A Linear (and BatchNorm1d) after flattening a 4 x 4 x 8 map: columns in CHW order.
    Strided 'valid' convolution, pools with partial windows at the edge (ceil_mode)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=0), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),   # 13 -> 7
        BlockCirculantConv2d(8, 8, 3, 4, padding=1), nn.ReLU(), nn.AvgPool2d(2, ceil_mode=True),  # 7 -> 4
        nn.Flatten(), nn.BatchNorm1d(128), nn.Linear(128, 10))


def separable():
    """Depthwise-separable: depthwise 3x3 (stride 1 and 2) then block-circulant pointwise 1x1."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        DepthwiseConv2d(16, 3, stride=2, padding=0), nn.BatchNorm2d(16), nn.ReLU(),             # 28 -> 13
        BlockCirculantConv2d(16, 32, 1, 8), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.ReLU(),
        BlockCirculantConv2d(32, 32, 1, 16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def chain():
    """A plain module whose forward is a chain, with functional relu and flatten."""

    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 8, 3, padding=1)
            self.body = nn.Sequential(nn.MaxPool2d(2), BlockCirculantConv2d(8, 16, 3, 8, padding=1),
                                      nn.BatchNorm2d(16))
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(7 * 7 * 16, 10)

        def forward(self, x):
            x = torch.relu(self.conv(x))
            x = nn.functional.relu(self.body(x))
            return self.fc(torch.flatten(self.pool(x), 1))

    return Chain()


@pytest.mark.dataset
@pytest.mark.parametrize("build", [cnn_gap, cnn_flatten, chain, separable])
def test_from_torch_computes_what_torch_computes(build, images):
    x, _ = images
    net = settle_batchnorm(build(), nchw(x))
    model = circnn.from_torch(net, (1, 28, 28))
    assert isinstance(model, circnn.Model) and model.input_shape == (28, 28, 1)
    with torch.no_grad():
        expect = net(nchw(x)).numpy()
    got = model.forward(x)
    assert got.shape == expect.shape
    scale = np.abs(expect).max()
    np.testing.assert_allclose(got, expect, rtol=0, atol=2e-6 * scale)   # float32 rounding only
    # float64 torch on the same weights agrees to float64 precision
    with torch.no_grad():
        expect64 = net.double()(nchw(x, torch.float64)).numpy()
    np.testing.assert_allclose(got, expect64, rtol=0, atol=1e-11 * scale)


def test_depthwise_twin_is_a_grouped_conv2d():
    dw = DepthwiseConv2d(6, 3, padding=1)
    assert isinstance(dw, nn.Conv2d) and dw.groups == 6 and tuple(dw.weight.shape) == (6, 1, 3, 3)
    model = circnn.from_torch(nn.Sequential(dw), (6, 5, 4))
    layer = model.layers[0]
    assert isinstance(layer, L.DepthwiseConv2d)
    x = torch.randn(2, 6, 5, 4)
    with torch.no_grad():
        expect = dw(x).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(layer.forward(x.double().numpy().transpose(0, 2, 3, 1)), expect, rtol=0, atol=1e-5)


@pytest.mark.dataset
@pytest.mark.parametrize("build", [cnn_gap, separable])
def test_from_torch_exports_quantizes_and_runs_in_the_c_engine(build, images, tmp_path):
    x, y = images
    net = settle_batchnorm(build(), nchw(x))
    model = circnn.from_torch(net, (1, 28, 28))
    float_out = model.forward(x)
    q = model.quantize(x[:128])
    q15_out = circnn.Engine(q).run(x).reshape(float_out.shape)
    err = np.abs(q15_out - float_out).max() / np.abs(float_out).max()
    assert err < 0.03, err
    assert np.mean(np.argmax(q15_out, 1) == np.argmax(float_out, 1)) >= 0.95
    f32 = circnn.Engine(model.to_f32()).run(x).reshape(float_out.shape)
    np.testing.assert_allclose(f32, float_out, rtol=0, atol=1e-4 * np.abs(float_out).max())
    q.save(tmp_path / "model.circ")
    q.write_header(tmp_path / "model.h")
    again = circnn.load(tmp_path / "model.circ")
    np.testing.assert_array_equal(circnn.Engine(again).run(x[:20]), circnn.Engine(q).run(x[:20]))
    assert "CIRCNN" in (tmp_path / "model.h").read_text()
    # the circnn command verifies it like any model: C engine and bit-exact simulator agree
    r = subprocess.run([sys.executable, "-m", "circnn", "verify", str(tmp_path / "model.circ"), "--data",
                        "fashion-mnist", "--limit", "100", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "outputs where simulator and C differ: 0" in r.stdout


def test_missing_torch_fails_these_tests_never_skips(tmp_path):
    """With torch unimportable the tests here fail and say how to install it."""
    code = ("import sys; sys.modules['torch'] = None; import pytest; "
            f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', {__file__!r}, '-k', 'refuse_bad_arguments']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 error" in r.stdout and "skipped" not in r.stdout        # the fixture fails the test
    assert "circnn[torch]" in r.stdout


def residual():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return x + self.conv(x)

    return Residual()


@pytest.mark.parametrize("build, shape, words", [
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Sigmoid()), (1, 28, 28), ["2", "Sigmoid"]),
    (lambda: nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1)), (1, 28, 28), ["0", "same"]),
    (lambda: nn.Sequential(nn.Conv2d(1, 4, 3, groups=1, dilation=2)), (1, 28, 28), ["dilation"]),
    (lambda: nn.Sequential(nn.Conv2d(4, 8, 3, groups=2)), (4, 28, 28), ["0", "depthwise"]),
    (lambda: nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), BlockCirculantLinear(8 * 26 * 26, 16, 8)), (1, 28, 28),
     ["2", "CHW"]),
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Softmax(dim=1)), (1, 28, 28), ["Softmax"]),
    (lambda: nn.Sequential(nn.AdaptiveAvgPool2d(2)), (1, 28, 28), ["1 x 1"]),
    (lambda: nn.Sequential(nn.BatchNorm2d(1, track_running_stats=False)), (1, 28, 28), ["running"]),
    (lambda: nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1)), (1, 28, 28), ["count_include_pad"]),
    (residual, (1, 28, 28), ["Residual", "chain"]),
    (lambda: nn.Sequential(nn.Linear(10, 10)), (1, 28, 28), ["0", "vector"]),
])
def test_from_torch_refuses_what_circnn_cannot_compute(build, shape, words):
    with pytest.raises(ValueError) as info:
        circnn.from_torch(build(), shape)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_from_torch_needs_a_module_and_a_shape():
    with pytest.raises(TypeError):
        circnn.from_torch("not a module", (1, 28, 28))
    with pytest.raises(ValueError, match="input_shape"):
        circnn.from_torch(nn.Sequential(nn.ReLU()), (28, 28))


@pytest.mark.firmware
def test_torch_model_runs_bit_exact_on_cortex_m4f(cortex_m_tools, tmp_path):
    """circnn firmware: the exported torch model on QEMU's Cortex-M4F, every output
    checked against the simulator's bits."""
    from circnn import firmware
    x = np.random.default_rng(3).uniform(0, 1, (160, 28, 28, 1)).astype(np.float32)
    net = settle_batchnorm(cnn_gap(), nchw(x))
    q = circnn.from_torch(net, (1, 28, 28)).quantize(x[:64])
    record = firmware.build(q, "cortex-m4f", str(tmp_path))
    result = firmware.run(str(tmp_path), timeout=60)
    assert result["status"] == "passed", result["console"]
    assert (result["passed"], result["failed"]) == (9, 0)
    assert [r["layer"] for r in result["instructions"]["per_layer"]] == record["layers"]


@pytest.mark.dataset
def test_example_network_pools_where_told_and_exports_its_dropout_as_nothing(images):
    """examples/train_torch.py: --pools 1,3 puts the max pools after the first
    and third convolutions, --dropout adds nn.Dropout before the classifier,
    and from_torch exports the result (dropout is nothing at inference)."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "train_torch.py")
    spec = importlib.util.spec_from_file_location("train_torch_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    net = example.network((8, 8, 8, 16), (None, 4, 8, 8), (1, 3), dropout=0.3)
    kinds = [type(m).__name__ for m in net]
    assert [i for i, kind in enumerate(kinds) if kind == "MaxPool2d"] == [3, 10]
    assert kinds[-2:] == ["Dropout", "Linear"]
    assert "MaxPool2d" not in kinds[4:10]
    default = example.network((8, 8, 16), (None, 4, 8), 2)
    assert [type(m).__name__ for m in default].count("MaxPool2d") == 2 and not any(
        isinstance(m, nn.Dropout) for m in default)
    x, _ = images
    net = settle_batchnorm(net, nchw(x))
    model = circnn.from_torch(net, (1, 28, 28))
    with torch.no_grad():
        expect = net(nchw(x)).numpy()
    np.testing.assert_allclose(model.forward(x), expect, rtol=0, atol=2e-6 * np.abs(expect).max())
    weights, _ = example.stored_parameters(net)
    assert weights == circnn.presets.weight_count(model)
