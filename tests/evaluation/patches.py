"""Images whose class is a bright cell of a 4 x 4 grid, and an encoder that reads it."""

import keras
import numpy as np

SIZE = 16
CLASSES = 8
MOVING_MEAN, MOVING_STD = 0.3, 0.2


def patch_data(n, seed=0, size=SIZE):
    """Class c is a bright patch in cell c of a 4 x 4 grid, on dark noise."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % CLASSES).astype(np.int32)
    images = rng.integers(0, 60, (n, size, size, 3))
    cell = size // 4
    for i, c in enumerate(labels):
        row, col = divmod(int(c), 4)
        images[i, row * cell : (row + 1) * cell, col * cell : (col + 1) * cell] += 150
    return images.astype(np.uint8), labels


def patch_encoder(size=SIZE, dense=False):
    """Mean of each 4 x 4 cell, then batch norm (moving stats set apart)."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.AveragePooling2D(size // 4)(inputs)
    x = keras.layers.Flatten()(x)
    if dense:
        x = keras.layers.Dense(32, name="features")(x)
    bn = keras.layers.BatchNormalization(name="bn")
    x = bn(x)
    encoder = keras.Model(inputs, x, name="patch_encoder")
    bn.moving_mean.assign(np.full(bn.moving_mean.shape, MOVING_MEAN, "float32"))
    bn.moving_variance.assign(
        np.full(bn.moving_variance.shape, MOVING_STD**2 - bn.epsilon, "float32")
    )
    return encoder


def weights(model):
    return [v.numpy().copy() for v in model.variables]


def unchanged(before, model):
    return all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.variables))
