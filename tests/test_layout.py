"""The package's layout holds: every module imports, data flows one way
(a lower layer never imports a higher one), the module graph has no cycle,
nothing inside the package imports an old module path, and every old path
(circnn.fixed, circnn.kernels, ...) is still the module it was."""
import ast
import importlib
import os
import subprocess
import sys

import pytest

import circnn
from circnn._old_paths import OLD_PATHS

PACKAGE = os.path.dirname(os.path.abspath(circnn.__file__))

# The layers, lowest first: a module imports its own subpackage or lower layers only.
RANKS = {
    "circnn._circnn_cffi": -1,                 # the compiled C library (built by meson)
    "circnn._native": 0,                       # its handle, circnn's version, get_include
    "circnn.nn": 1, "circnn.datasets": 1,      # the network, its float64 reference; data
    "circnn.format": 2,                        # blob, header, arena: what the runtime reads
    "circnn.sim": 3,                           # the numpy twins of the C kernels
    "circnn.export": 4,                        # Model -> blob
    "circnn.native": 5, "circnn.train": 5,     # the C through cffi; training
    "circnn.firmware": 6,                      # cross-build and QEMU
    "circnn.kinds": 7,                         # the layer-kind table names them all
}
TOP = 8                                        # circnn, cli, demo, torch, ...: the API and the tools
# Model's conveniences, imported when called: model.quantize(x), model.to_f32(), model.predict(x).
UPWARD = {("circnn.nn.model", "circnn.export.exporter"), ("circnn.nn.model", "circnn.train.trainer")}


def modules():
    """{dotted name: path} of every module of the package."""
    found = {}
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if os.path.isfile(os.path.join(folder, d, "__init__.py")))
        rel = os.path.relpath(folder, PACKAGE)
        base = "circnn" if rel == "." else "circnn." + rel.replace(os.sep, ".")
        for f in files:
            if f.endswith(".py"):
                found[base if f == "__init__.py" else f"{base}.{f[:-3]}"] = os.path.join(folder, f)
    return found


def unit(name):
    """The subpackage (or top-level module) a module belongs to."""
    parts = name.split(".")
    return ".".join(parts[:2])


def rank(name):
    return RANKS.get(unit(name), TOP)


def imports(name, path, known):
    """[(imported module, lazy)] of a module: lazy when inside a function."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    lazy_nodes = {id(n) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(fn)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("circnn"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((sub if sub in known or sub in OLD_MODULES else target, id(node) in lazy_nodes))
        elif isinstance(node, ast.Import):
            out += [(a.name, id(node) in lazy_nodes) for a in node.names if a.name.startswith("circnn")]
    return out


OLD_MODULES = {f"circnn.{old}" for old in OLD_PATHS}
MODULES = modules()
EDGES = [(name, target, lazy) for name, path in MODULES.items() for target, lazy in imports(name, path, MODULES)]


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"circnn.__main__"}))   # __main__ runs the CLI
def test_every_module_imports(name):
    importlib.import_module(name)


def test_nothing_inside_imports_an_old_path():
    old = [f"{a} imports {b}" for a, b, _ in EDGES if b in OLD_MODULES and a != "circnn._old_paths"]
    assert not old, "\n".join(old)


def test_a_lower_layer_never_imports_a_higher_one():
    bad = [f"{a} (rank {rank(a)}) imports {b} (rank {rank(b)})" + (" when called" if lazy else "")
           for a, b, lazy in EDGES
           if unit(a) != unit(b) and rank(b) >= rank(a) < TOP and (a, b) not in UPWARD and b != "circnn"]
    assert not bad, "\n".join(bad)
    assert not [a for a, b, _ in EDGES if b == "circnn" and a != "circnn._old_paths"], \
        "a module imports the top of the package"
    for a, b in UPWARD:
        assert [e for e in EDGES if e[:2] == (a, b)], f"UPWARD lists {a} -> {b}, which is gone"
        assert all(lazy for x, y, lazy in EDGES if (x, y) == (a, b)), f"{a} imports {b} at import time"


def test_the_modules_import_no_cycle():
    graph = {}
    for a, b, _ in EDGES:
        if b in MODULES and a != b:
            graph.setdefault(a, set()).add(b)
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_ranks_name_real_subpackages():
    units = {unit(name) for name in MODULES}
    assert set(RANKS) - {"circnn._circnn_cffi"} <= units, set(RANKS) - units


@pytest.mark.parametrize("old,new", sorted(OLD_PATHS.items()))
def test_an_old_path_is_the_module_that_took_its_place(old, new):
    assert importlib.import_module(f"circnn.{old}") is importlib.import_module(f"circnn.{new}")
    assert getattr(circnn, old) is importlib.import_module(f"circnn.{new}")


def test_old_paths_work_as_the_first_import():
    code = ("import circnn.fixed_layers, circnn.kernels\n"
            "from circnn.conv_kernels import bc_conv2d\n"
            "from circnn import layer_kernels as lk, train_layers\n"
            "from circnn.export import ExportError, export, lower, arena_bytes\n"
            "from circnn.train import fit, evaluate, predict, initialise\n"
            "import circnn.sim.layers, circnn.native.fft\n"
            "assert circnn.fixed_layers is circnn.sim.layers and circnn.kernels is circnn.native.fft\n"
            "assert lk is circnn.native.layers and train_layers is circnn.train.ops\n"
            "assert circnn.load and circnn.Model and circnn.Engine and circnn.presets.mlp and circnn.datasets\n")
    subprocess.run([sys.executable, "-c", code], check=True)
