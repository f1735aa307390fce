import numpy as np
import pytest


def snr_db(reference, estimate):
    """Signal-to-noise ratio of estimate against reference, in dB."""
    reference = np.asarray(reference)
    noise = np.sum(np.abs(np.asarray(estimate) - reference) ** 2)
    signal = np.sum(np.abs(reference) ** 2)
    return float("inf") if noise == 0 else 10.0 * np.log10(signal / noise)


@pytest.fixture
def rng():
    return np.random.default_rng(20261128)
