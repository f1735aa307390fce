"""Every file a comment or a document cites exists.

Comments in C (/* */ and //), comments and docstrings in Python, and the
prose of Markdown files (not their fenced code blocks, which are examples
that tests/test_readme.py runs) are scanned for path-like tokens that end in
a known extension.  A token resolves if it is a path from the citing file's
folder, a path that ends one of the repository's files (circnn/model.h is
include/circnn/model.h), or a bare file name that some file of the
repository has; a meson-configured file (version.h.in) counts for the file
it becomes.  Headers that circnn itself generated are not scanned.  The
names that circnn's tools write (outputs, not sources) and placeholders are
listed in WRITTEN with what they are, and each must still be cited.
"""
import ast
import io
import os
import re
import tokenize

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = ("docs", "include", "src", "python", "targets", "tests", "benchmarks", "tools", ".ci", "examples")
SKIP = ("__pycache__",)
EXTENSIONS = "c|h|py|md|json|ini|ld|toml|in|txt|sh|S|png|circ|build|npz|elf"
TOKEN = re.compile(r"(?<![\w./-])((?:\.\.?/)*[\w-]+(?:/[\w.-]+)*\.(?:%s))(?![\w/-])" % EXTENSIONS)

# Names that are no files of the repository: what a tool writes, or a placeholder.
WRITTEN = {
    "model.circ": "circnn save / circnn train -o (README examples)",
    "circnn-demo/model.circ": "circnn demo",
    "model.h": "write_header / circnn export (README, firmware)",
    "run.npz": "circnn train --checkpoint (README)",
    "layer_budget.png": "circnn demo",
    "accuracy_vs_block_size.png": "circnn demo",
    "out_dir/summary.json": "circnn.demo.run",
    "out_dir/firmware.json": "circnn.firmware",
    "out_dir/name.elf": "circnn.firmware.build_program",
    "vectors.h": "circnn.firmware (the runner's test vectors)",
    "bc_vectors.h": "tests/test_fft_firmware.py",
    "fft_vectors.h": "tests/test_fft_firmware.py",
    "bench_cases.h": "benchmarks/bench_mcu.py",
    "peers_model.h": "benchmarks/bench_peers.py (the int8 network for benchmarks/peers/cmsis_runner.c)",
    "peers_vectors.h": "benchmarks/bench_peers.py (the CMSIS-NN runner's test vectors)",
    "peers.json": "benchmarks/bench_peers.py --publish (tests/test_demo.py writes a made-up one)",
    "counts.txt": "the QEMU plugin targets/qemu_plugin/insncount.c",
    "quick.json": "benchmarks/accuracy.py --quick",
    "main.c": "tests/test_readme.py (a firmware-like project in a temporary folder)",
    "conv_vectors.h": "tests/test_conv_firmware.py",
    "SEED.circ": "a placeholder in the usage line of tests/fuzz/fuzz_replay.c",
    "OUT.c": "tools/gen_cffi.py (its output argument)",
    "qemu-plugin.h": "QEMU's own header, which Debian does not ship",
}


def repository_files(root):
    found = [f for f in os.listdir(root) if os.path.isfile(os.path.join(root, f))]
    for top in FOLDERS:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if d not in SKIP)
            found += [os.path.relpath(os.path.join(folder, f), root) for f in files]
    return sorted(f.replace(os.sep, "/") for f in found)


def cited_texts(path, text):
    """(line, text) of the comments, docstrings or prose of one file."""
    if path.endswith((".c", ".h")):
        for m in re.finditer(r"/\*.*?\*/|//[^\n]*", text, flags=re.S):
            yield text.count("\n", 0, m.start()) + 1, m.group()
    elif path.endswith(".py"):
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                yield tok.start[0], tok.string
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    yield node.body[0].lineno, doc
    elif path.endswith(".md"):
        fenced = False
        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced:
                yield number, line


def dangling(root, written=()):
    """["file:line: token"] for every cited path that leads nowhere, and the set of WRITTEN names cited."""
    files = repository_files(root)
    names = {os.path.basename(f) for f in files}

    def exists(citing, token):
        if os.path.exists(os.path.normpath(os.path.join(root, os.path.dirname(citing), token))):
            return True
        if token.startswith("."):
            return False
        if "/" not in token:
            return token in names or token + ".in" in names
        return any(f == c or f.endswith("/" + c) for f in files for c in (token, token + ".in"))

    bad, used = [], set()
    for path in files:
        if not path.endswith((".c", ".h", ".py", ".md")):
            continue
        with open(os.path.join(root, path), encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".h") and re.match(r'/\*\n \* \w+\.h - circnn model "\w+", generated by circnn ', text):
            continue     # a header circnn wrote (tests/compat): its banner names the model, not a file
        for line, cited in cited_texts(path, text):
            cited = re.sub(r"https?://\S+", " ", cited)
            for m in TOKEN.finditer(cited):
                token = m.group(1)
                if token in written:
                    used.add(token)
                elif not exists(path, token):
                    bad.append(f"{path}:{line + cited.count(chr(10), 0, m.start())}: {token}")
    return bad, used


def test_every_cited_path_exists():
    bad, used = dangling(ROOT, WRITTEN)
    assert not bad, "paths cited in comments or documents that do not exist:\n" + "\n".join(bad)
    assert used == set(WRITTEN), f"no longer cited, remove from WRITTEN: {sorted(set(WRITTEN) - used)}"


def test_the_scan_finds_what_it_should_and_nothing_else(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "include" / "circnn").mkdir(parents=True)
    (tmp_path / "include" / "circnn" / "model.h").write_text("/* contract of model.c */\n")
    (tmp_path / "include" / "circnn" / "version.h.in").write_text("\n")
    (tmp_path / "docs" / "DESIGN.md").write_text("See ../src/model.c and [the header](../include/circnn/model.h).\n")
    (tmp_path / "src" / "model.c").write_text(
        '#include "circnn/missing_but_compiled.h"\n'
        "/* circnn/model.h, circnn/version.h, model.c, docs/DESIGN.md and DESIGN.md are fine;\n"
        " * fft_dsp.h is not. */\n"
        'static const char *s = "written.h";  // the contract is in nowhere/else.h\n')
    (tmp_path / "src" / "tool.py").write_text(
        '"""Reads docs/DESIGN.md and ../shared/ANCHORS.md."""\n'
        'OUT = "out.h"  # writes OUT.c, cites tests/test_status.py\n\n\n'
        'def f():\n    """A function docstring citing gone.py."""\n    return "not_a_citation.py"\n')
    (tmp_path / "src" / "net.h").write_text(
        '/*\n * m.h - circnn model "m", generated by circnn 0.1.0. Do not edit: re-export.\n */\n')
    (tmp_path / "src" / "hand.h").write_text('/*\n * m.h - the model "m", not generated by circnn 0.1.0.\n */\n')
    (tmp_path / "README.md").write_text(
        "Read docs/DESIGN.md, https://example.org/x/y.md and docs/ANCHORS.md.\n"
        "```sh\ncircnn train -o example_output.circ\n```\n")
    bad, used = dangling(str(tmp_path), {"OUT.c": "tool.py"})
    assert sorted(bad) == sorted([
        "src/model.c:3: fft_dsp.h", "src/model.c:4: nowhere/else.h", "src/tool.py:1: ../shared/ANCHORS.md",
        "src/tool.py:2: tests/test_status.py", "src/tool.py:6: gone.py", "README.md:1: docs/ANCHORS.md",
        "src/hand.h:2: m.h"])
    assert used == {"OUT.c"}


C_WORDS = {"if", "for", "while", "switch", "return", "sizeof", "defined"}


def declared_functions(header_text):
    """The names a header declares or defines as functions (comments left out)."""
    code = re.sub(r"/\*.*?\*/|//[^\n]*", " ", header_text, flags=re.S)
    return set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", code)) - C_WORDS


def defined_functions(source_text):
    """The functions a .c file defines (a name and its parameters at the start of a line, no semicolon)."""
    return set(re.findall(r"^[A-Za-z_][\w \*]*?\b([A-Za-z_]\w*)\s*\([^;]*$", source_text, flags=re.M)) - C_WORDS


def cited_contracts(source_text):
    """The headers a source names as its contract: "(contract: circnn/layers.h)", "(contract and steps: ...)"."""
    comments = " ".join(re.findall(r"/\*.*?\*/", source_text, flags=re.S))
    return re.findall(r"contract(?: and steps)?:\s*(?:\*\s*)*([\w/]+\.h)", comments)


@pytest.mark.parametrize("source", sorted(f for f in os.listdir(os.path.join(ROOT, "src")) if f.endswith(".c")))
def test_a_contract_cited_by_a_source_declares_its_functions(source):
    with open(os.path.join(ROOT, "src", source), encoding="utf-8") as f:
        text = f.read()
    for header in cited_contracts(text):
        folder = "include" if header.startswith("circnn/") else "src"
        with open(os.path.join(ROOT, folder, header), encoding="utf-8") as f:
            declared = declared_functions(f.read())
        assert declared & defined_functions(text), f"{source} cites {header} for its contract, which declares " \
                                                   f"none of its functions"


def test_the_contract_check_sees_a_wrong_header():
    source = "/* The one q15 output stage (contract:\n * circnn/layers.h). */\nint16_t circnn_requant_q15(int64_t v)\n{\n}\n"
    assert cited_contracts(source) == ["circnn/layers.h"]
    assert defined_functions(source) == {"circnn_requant_q15"}
    with open(os.path.join(ROOT, "include", "circnn", "layers.h"), encoding="utf-8") as f:
        assert "circnn_requant_q15" not in declared_functions(f.read())
    with open(os.path.join(ROOT, "include", "circnn", "q15.h"), encoding="utf-8") as f:
        assert "circnn_requant_q15" in declared_functions(f.read())
