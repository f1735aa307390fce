"""The layer-kind table (circnn/kinds.py) is complete and true: every layer
class and every blob layer type has a kind, every kind names each of its
parts (or says why it has none), and the names are what the trainer, the
exporter, the simulator and the C library really use."""
import inspect
import re

import numpy as np
import pytest

import circnn
from circnn import kinds
from circnn._native import lib
from circnn.export import lowering
from circnn.format import blob as B
from circnn.nn import layers as L
from circnn.sim import model as sim_model
from circnn.train import ops

# One small model per kind, ending in the kind's layer: (layers before it, the layer, input shape).
EXAMPLES = {
    "dense": lambda: ([L.Flatten()], L.Dense(12, 5, seed=1), (2, 3, 2)),
    "bc_dense": lambda: ([], L.BlockCirculantDense(12, 8, 4, seed=1), (12,)),
    "conv2d": lambda: ([], L.Conv2d(2, 3, 3, seed=1), (5, 5, 2)),
    "bc_conv2d": lambda: ([], L.BlockCirculantConv2d(4, 8, 3, 4, seed=1), (5, 5, 4)),
    "depthwise_conv2d": lambda: ([], L.DepthwiseConv2d(3, 3, seed=1), (5, 5, 3)),
    "relu": lambda: ([], L.ReLU(), (6,)),
    "maxpool2d": lambda: ([], L.MaxPool2d(2), (4, 4, 2)),
    "avgpool2d": lambda: ([], L.AvgPool2d(2), (4, 4, 2)),
    "global_avgpool2d": lambda: ([], L.GlobalAvgPool2d(), (4, 4, 2)),
    "flatten": lambda: ([], L.Flatten(), (2, 3, 2)),
    "batchnorm": lambda: ([L.Conv2d(2, 3, 3, seed=1)], L.BatchNorm(3, gamma=np.array([1.0, 2.0, 0.5])), (5, 5, 2)),
    "softmax": lambda: ([], L.Softmax(), (6,)),
    "argmax": lambda: ([], L.Argmax(), (6,)),
}


def _model(kind):
    before, layer, shape = EXAMPLES[kind.name]()
    return circnn.Model(before + [layer], input_shape=shape), layer


def test_every_layer_class_has_a_kind():
    classes = {c for c in vars(L).values() if isinstance(c, type) and issubclass(c, L.Layer) and c is not L.Layer
               and not c.__name__.startswith("_")}
    named = [k.layer for k in kinds.KINDS]
    assert len(named) == len(set(named)), "a layer class has two kinds"
    assert classes == set(named), f"layer classes without a kind in circnn/kinds.py: {classes - set(named)}; " \
                                  f"kinds of no layer class: {set(named) - classes}"


def test_every_blob_layer_type_has_a_kind():
    types = {k.blob_type for k in kinds.KINDS if not isinstance(k.blob_type, kinds.Absent)}
    assert set(B.LAYER_NAMES) == types, f"blob layer types without a kind: " \
                                        f"{[B.LAYER_NAMES[t] for t in set(B.LAYER_NAMES) - types]}"


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_a_kind_names_every_part(kind):
    assert kind.name in EXAMPLES, f"add an example model of {kind.name} to EXAMPLES in tests/test_kinds.py"
    for part, value in kind.parts().items():
        assert value is not None, f"{kind.name} has no {part}: name it in circnn/kinds.py, or say why with Absent"
        if isinstance(value, kinds.Absent):
            assert value.strip(), f"{kind.name}: Absent {part} without a reason"
    if not isinstance(kind.train_op, kinds.Absent):
        assert issubclass(kind.train_op, ops.Op)
    for part in ("lowering", "simulator", "binding"):
        value = getattr(kind, part)
        assert isinstance(value, kinds.Absent) or callable(value), f"{kind.name}.{part} is not callable"
    if not isinstance(kind.binding, kinds.Absent):
        assert kind.binding.__module__.startswith("circnn.native."), kind.binding.__module__
    if not isinstance(kind.simulator, kinds.Absent):
        assert kind.simulator.__module__.startswith("circnn.sim."), kind.simulator.__module__
    if not isinstance(kind.c_functions, kinds.Absent):
        for name in kind.c_functions:
            assert hasattr(lib, name), f"{kind.name}: the C library has no {name}"


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_the_table_names_what_the_package_calls(kind):
    model, layer = _model(kind)
    assert kinds.kind_of(layer) is kind
    assert type(ops.make_op(layer, np.float64)) is kind.train_op
    assert lowering.lowering_of(layer) is kind.lowering
    lowered = lowering.lower(model)
    if isinstance(kind.blob_type, kinds.Absent):
        assert len(lowered) == len(model.layers) - 1      # folded away
    else:
        assert lowered[-1].type == kind.blob_type
    if not isinstance(kind.simulator, kinds.Absent):      # the simulator's dispatch calls it
        assert re.search(rf"\.{kind.simulator.__name__}\b", inspect.getsource(sim_model._q15_op))


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_every_kind_runs_in_c_as_the_simulator_says(kind):
    model, _ = _model(kind)
    x = np.random.default_rng(3).uniform(-1, 1, (4,) + model.input_shape)
    f = model.to_f32()
    assert np.allclose(circnn.Engine(f).run(x), model.forward(x), atol=1e-5)
    if isinstance(kind.simulator, kinds.Absent):
        return
    q = model.quantize(x)
    xq = q.quantize_input(x)
    assert (q.simulate_raw(xq) == circnn.Engine(q).run_raw(xq)).all()
