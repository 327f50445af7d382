"""Tests of RandomResizedCrop: its box sampler and its flip."""

import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr.layers.augmentation import random_draws, random_resized_crop
from tests.layers.augmentation.layer_inputs import expected_crop_area

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize("height,width", [(400, 400), (300, 400)])
def test_crop_statistics(height, width):
    y0, x0, h, w = (
        np.asarray(v)
        for v in random_resized_crop.sample_crop_boxes(
            random_draws.normalize_key([3, 4]), 20000, height, width
        )
    )
    area = h * w / (height * width)
    expected = expected_crop_area(height, width)
    assert abs(area.mean() - expected) < 0.006
    assert abs(expected_crop_area(400, 400) - 0.478) < 0.001
    # Below 3/4 every draw fits the square image: uniform on [0.08, 0.75].
    if height == width:
        small = area[area <= 0.75]
        assert abs(small.mean() - (0.08 + 0.75) / 2) < 0.006
        assert abs(len(small) / len(area) - 0.67 / 0.789) < 0.015
    assert area.min() >= 0.079
    ratio = w / h
    assert ratio.min() >= 0.75 - 0.01 and ratio.max() <= 4 / 3 + 0.01
    if height == width:  # symmetric constraints: log-ratio centred on 0
        assert abs(np.mean(np.log(ratio))) < 0.01
    assert np.all((y0 >= 0) & (y0 + h <= height) & (x0 >= 0) & (x0 + w <= width))
    # The offset is uniform over where the box fits.
    slack = height - h
    relative = (y0 / np.maximum(slack, 1))[slack > 50]
    assert abs(relative.mean() - 0.5) < 0.02


def test_random_resized_crop_flips_half_the_images():
    images = np.tile(
        np.arange(16, dtype=np.float32)[None, None, :, None] / 16, (64, 16, 1, 3)
    )
    crop = ks.layers.RandomResizedCrop(
        16, 16, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=True, seed=3
    )
    out = np.asarray(crop(images))
    flipped = out[:, 0, 0, 0] > out[:, 0, -1, 0]
    np.testing.assert_allclose(out[flipped], images[flipped][:, :, ::-1], atol=1e-6)
    np.testing.assert_allclose(out[~flipped], images[~flipped], atol=1e-6)
    assert 16 < flipped.sum() < 48
    assert ks.layers.RandomResizedCrop.from_config(crop.get_config()).flip


def test_crops_in_tf_data_on_every_backend():
    """The input pipeline is tf.data on every backend: there the layers run
    TensorFlow's ops and draws (on JAX too), fresh views every batch."""
    import tensorflow as tf

    images = np.repeat(np.arange(64, dtype=np.uint8).reshape(1, 4, 16, 1), 3, -1)
    images = np.repeat(np.repeat(images, 8, axis=1), 4, axis=0)  # (4, 32, 16, 3)
    crop = ks.layers.RandomResizedCrop(8, 8, flip=True, seed=2)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(2).repeat(2)
    views = [b.numpy() for b in dataset.map(lambda x: crop(x, training=True))]
    assert [v.shape for v in views] == [(2, 8, 8, 3)] * 4
    assert np.abs(views[0] - views[2]).max() > 0.05  # the same images, later
    centre = ks.layers.CenterCrop(8, 8)
    mapped = np.stack(
        [v.numpy() for v in tf.data.Dataset.from_tensor_slices(images).map(centre)]
    )
    np.testing.assert_allclose(mapped, centre(images), atol=1e-6)
