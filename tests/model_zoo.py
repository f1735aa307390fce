"""Small models for the tests, built the way a user would."""
import numpy as np

import circnn
from circnn import layers as L


def cnn(seed=0, block_size=4):
    """A little CNN using every layer kind (conv, bc_conv, pools, BN, dense, bc_dense)."""
    rng = np.random.default_rng(seed)
    return circnn.Model([
        L.Conv2d(1, 8, 3, seed=rng),
        L.BatchNorm(8, gamma=rng.uniform(0.5, 1.5, 8), beta=rng.normal(0, 0.1, 8),
                    mean=rng.normal(0, 0.1, 8), var=rng.uniform(0.5, 1.5, 8)),
        L.ReLU(),
        L.MaxPool2d(2),
        L.BlockCirculantConv2d(8, 16, 3, block_size, stride=2, padding="same", seed=rng),
        L.ReLU(),
        L.AvgPool2d(2, padding="same"),
        L.Flatten(),
        L.BlockCirculantDense(2 * 2 * 16, 24, block_size, bias=rng.normal(0, 0.1, 24), seed=rng),
        L.BatchNorm(24, gamma=rng.uniform(0.5, 1.5, 24)),
        L.ReLU(),
        L.Dense(24, 10, bias=rng.normal(0, 0.1, 10), seed=rng),
    ], input_shape=(14, 14, 1))


def mlp(seed=0, block_size=8):
    rng = np.random.default_rng(seed)
    return circnn.Model([
        L.Flatten(),
        L.BlockCirculantDense(64, 32, block_size, seed=rng),
        L.ReLU(),
        L.Dense(32, 10, seed=rng),
    ], input_shape=(8, 8, 1))


def images(model, count=16, seed=1):
    return np.random.default_rng(seed).uniform(0, 1, (count,) + model.input_shape)
