"""Tests of Solarize: its rule, threshold and rate.

Backend-neutral: they run on the test's Keras backend (TensorFlow, or JAX
in CI's second pass) with NumPy references and statistics.
"""

import numpy as np
import pytest

from keras_simclr import layers
from keras_simclr.layers.augmentation import solarize
from tests.layers.augmentation.compiled import compiled

pytestmark = pytest.mark.backend_neutral


def test_solarize():
    x = np.linspace(0, 1, 12, dtype="float32").reshape(1, 2, 2, 3)
    out = layers.Solarize(probability=1.0, threshold=0.5)(x)
    np.testing.assert_allclose(out, np.where(x < 0.5, x, 1 - x), atol=1e-7)
    np.testing.assert_allclose(layers.Solarize()(x), x)  # off by default


@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.75, 1.0])
def test_compiled_solarize_threshold(threshold):
    """Pixels at or above the threshold invert, below it stay; per image."""
    x = np.linspace(0, 1, 2 * 5 * 5 * 3, dtype="float32").reshape(2, 5, 5, 3)
    x[:, 0, 0] = threshold  # exactly at the threshold: inverted
    params = {"solarize": np.array([True, False])}
    fn = compiled(lambda x, p: solarize.solarize_transform(x, p, threshold))
    out = np.asarray(fn(x, params))
    np.testing.assert_array_equal(out[0], np.where(x[0] < threshold, x[0], 1 - x[0]))
    np.testing.assert_array_equal(out[1], x[1])


def test_solarize_rate():
    images = np.full((4000, 2, 2, 3), 0.75, "float32")
    out = np.asarray(layers.Solarize(probability=0.3, seed=7)(images))
    solarized = np.all(np.abs(out - 0.25) < 1e-7, axis=(1, 2, 3))
    assert np.all(solarized | np.all(out == 0.75, axis=(1, 2, 3)))
    assert abs(solarized.mean() - 0.3) < 0.025


def test_solarize_in_tf_data_on_every_backend():
    """In a tf.data map the layer runs TensorFlow's ops (on JAX too): the
    rule for given parameters, fresh draws every batch."""
    import tensorflow as tf

    x = np.linspace(0, 1, 2 * 5 * 5 * 3, dtype="float32").reshape(2, 5, 5, 3)
    layer = layers.Solarize(probability=0.5, threshold=0.3, seed=1)
    params = {"solarize": np.array([True, False])}
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(2)
    mapped = next(iter(dataset.map(lambda b: layer.transform_images(b, params))))
    np.testing.assert_array_equal(mapped[0], np.where(x[0] < 0.3, x[0], 1 - x[0]))
    np.testing.assert_array_equal(mapped[1], x[1])
    images = np.full((64, 2, 2, 3), 0.75, "float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(64).repeat(2)
    first, second = (b.numpy()[:, 0, 0, 0] == 0.25 for b in dataset.map(layer))
    assert 16 < first.sum() < 48 and np.any(first != second)
