"""Tests of Solarize."""

import numpy as np

from keras_simclr import layers


def test_solarize():
    x = np.linspace(0, 1, 12, dtype="float32").reshape(1, 2, 2, 3)
    out = layers.Solarize(probability=1.0, threshold=0.5)(x)
    np.testing.assert_allclose(out, np.where(x < 0.5, x, 1 - x), atol=1e-7)
    np.testing.assert_allclose(layers.Solarize()(x), x)  # off by default
