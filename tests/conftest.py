import os

import numpy as np
import pytest

from circnn import firmware


def snr_db(reference, estimate):
    """Signal-to-noise ratio of estimate against reference, in dB."""
    reference = np.asarray(reference)
    noise = np.sum(np.abs(np.asarray(estimate) - reference) ** 2)
    signal = np.sum(np.abs(reference) ** 2)
    return float("inf") if noise == 0 else 10.0 * np.log10(signal / noise)


@pytest.fixture
def rng():
    return np.random.default_rng(20261128)


@pytest.fixture(scope="session")
def cortex_m_tools(tmp_path_factory):
    """The cross toolchain, QEMU and a host gcc must be there: fail, never skip."""
    try:
        firmware.check_tools(run=True)
    except firmware.ToolchainMissing as exc:
        pytest.fail(f"{exc} (or run `bash .ci/setup`)", pytrace=False)
    # a cache of compiled runtime objects for this session only
    os.environ["CIRCNN_CACHE"] = str(tmp_path_factory.mktemp("circnn-cache"))


@pytest.hookimpl(tryfirst=True)       # before -m deselects
def pytest_collection_modifyitems(config, items):
    """A test that needs the Cortex-M tools is in the firmware tier (pyproject.toml),
    marked or not."""
    for item in items:
        if "cortex_m_tools" in getattr(item, "fixturenames", ()) and item.get_closest_marker("firmware") is None:
            item.add_marker(pytest.mark.firmware)
