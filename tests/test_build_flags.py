"""One flag list for every build of the runtime (src/cflags.txt): meson.build
reads it for the library, circnn.firmware for the firmware's build of the
runtime and the runner, and it holds -ffp-contract=off, on which f32
bit-identity rests (circnn/model.h; test_fp_contract_c checks the library's
arithmetic)."""
import os

import pytest

from circnn import firmware
from model_zoo import images, mlp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRICT = {"-Wall", "-Wextra", "-Wpedantic", "-Werror=switch", "-Wconversion", "-Wshadow", "-ffp-contract=off"}


def cflags():
    with open(os.path.join(ROOT, "src", "cflags.txt"), encoding="ascii") as f:
        return [line.strip() for line in f if line.strip() and not line.strip().startswith("#")]


def test_one_flag_list():
    flags = cflags()
    assert STRICT <= set(flags), flags
    assert firmware.runtime_flags() == flags
    with open(os.path.join(ROOT, "meson.build"), encoding="utf-8") as f:
        meson = f.read()
    assert "fs.read('src/cflags.txt')" in meson and "strict_args = cc.get_supported_arguments(runtime_flags)" in meson
    assert "add_project_arguments(cc.get_supported_arguments('-ffp-contract=off'), language: 'c')" in meson
    for target in firmware.TARGETS:
        c_args, _ = firmware.target_flags(target)
        assert "-ffp-contract=off" in c_args, target


@pytest.mark.firmware
@pytest.mark.usefixtures("cortex_m_tools")
@pytest.mark.parametrize("target", ["cortex-m4f", "cortex-m0plus"])
def test_firmware_build_uses_the_list_without_warnings(tmp_path, monkeypatch, target):
    """Every file of a firmware build (runtime, runner, startup) compiled with
    the list, and not one warning (DSP and FPU paths on M4F, plain C on M0+)."""
    monkeypatch.setenv("CIRCNN_CACHE", str(tmp_path / "cache"))     # the runtime compiled here, not cached
    compiled = []
    real_run = firmware._run

    def run(cmd, what, cwd=None):
        result = real_run(cmd, what, cwd)
        if "-c" in cmd:
            compiled.append((os.path.basename(cmd[cmd.index("-c") + 1]), cmd, result.stderr))
        return result

    monkeypatch.setattr(firmware, "_run", run)
    model = mlp()
    firmware.build(model.quantize(images(model)), target, str(tmp_path / "fw"))
    names = {name for name, _, _ in compiled}
    assert {"model.c", "model_run.c", "runner.c", "startup.c", "markers.c"} <= names, names
    flags = cflags()
    for name, cmd, stderr in compiled:
        assert [f for f in flags if f not in cmd] == [], name
        assert "warning" not in stderr, f"{name}:\n{stderr}"
