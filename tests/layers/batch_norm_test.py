"""Tests of keras_simclr/layers/batch_norm.py."""

import keras
import numpy as np
import pytest

import keras_simclr as ks

pytestmark = pytest.mark.backend_neutral


def test_synchronize_batch_norm_keeps_weights_and_outputs():
    base = keras.applications.ResNet50(
        weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3)
    )
    synced = ks.layers.synchronize_batch_norm(base)
    bns = [
        layer
        for layer in synced.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert bns and all(
        b.synchronized == (keras.backend.backend() == "tensorflow") for b in bns
    )
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        synced(x, training=False), base(x, training=False), atol=1e-5
    )
    with pytest.raises(ValueError, match="Functional or Sequential"):
        ks.layers.synchronize_batch_norm(ks.layers.ProjectionHead())
