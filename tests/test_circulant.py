"""circnn.circulant (float64 reference) against explicit loops and numpy."""
import numpy as np
import pytest

from circnn import circulant


def explicit_matrix(w, m, n):
    p, q, k = w.shape
    full = np.zeros((p * k, q * k))
    for i in range(p):
        for j in range(q):
            for r in range(k):
                for c in range(k):
                    full[i * k + r, j * k + c] = w[i, j, (r - c) % k]
    return full[:m, :n]


@pytest.mark.parametrize("m,n,k", [(4, 4, 2), (7, 5, 4), (3, 9, 8), (16, 16, 16), (1, 1, 2)])
def test_dense_matrix_matches_explicit_definition(rng, m, n, k):
    w = rng.standard_normal((circulant.blocks(m, k), circulant.blocks(n, k), k))
    np.testing.assert_array_equal(circulant.dense_matrix(w, m, n), explicit_matrix(w, m, n))


def test_block_is_circulant_and_first_column_defines_it(rng):
    w = rng.standard_normal((1, 1, 8))
    block = circulant.dense_matrix(w, 8, 8)
    np.testing.assert_array_equal(block[:, 0], w[0, 0])
    np.testing.assert_array_equal(block[1:, 1:], block[:-1, :-1])


@pytest.mark.parametrize("k", [2, 4, 8, 64, 1024])
def test_spectrum_layout_and_round_trip(rng, k):
    w = rng.standard_normal((3, k))
    s = circulant.to_spectrum(w)
    X = np.fft.rfft(w)
    assert s.shape == (3, k)
    np.testing.assert_allclose(s[:, 0], X[:, 0].real)
    np.testing.assert_allclose(s[:, 1], X[:, k // 2].real)
    np.testing.assert_allclose(s[:, 2::2], X[:, 1:k // 2].real)
    np.testing.assert_allclose(s[:, 3::2], X[:, 1:k // 2].imag)
    np.testing.assert_allclose(circulant.from_spectrum(s), w, atol=1e-12)


@pytest.mark.parametrize("m,n,k", [(10, 7, 4), (64, 64, 8), (5, 3, 1024), (33, 100, 16)])
def test_matvec_equals_dense_product(rng, m, n, k):
    w = rng.standard_normal((circulant.blocks(m, k), circulant.blocks(n, k), k))
    x = rng.standard_normal((4, n))
    b = rng.standard_normal(m)
    expected = x @ explicit_matrix(w, m, n).T + b
    np.testing.assert_allclose(circulant.matvec(w, x, m, b), expected, atol=1e-10)


def test_dense_matrix_refuses_wrong_block_grid(rng):
    with pytest.raises(ValueError, match="expected \\(2, 1, 4\\)"):
        circulant.dense_matrix(rng.standard_normal((1, 1, 4)), 8, 4)


@pytest.mark.parametrize("k", [0, 1, 3, 6, 2048])
def test_block_size_must_be_power_of_two(k):
    with pytest.raises(ValueError, match="power of two"):
        circulant.check_block_size(k)
