"""Tests of CenterCrop and of the layers' inference views."""

import keras
import numpy as np
import pytest
import tensorflow as tf  # tf.image.resize: the reference, on NumPy inputs

from keras_simclr import layers
from keras_simclr.layers.augmentation import center_crop, resampling
from tests.layers.augmentation.layer_inputs import make_layer, random_images

pytestmark = pytest.mark.backend_neutral


def test_inference_views_are_deterministic_centre_crops():
    images = random_images(2, 48, 64)
    augment = layers.SimCLRAugment(16, 16, seed=3)
    out = augment(images, training=False)
    # The evaluation view: centre crop keeping 87.5% of the shorter side,
    # resized.
    side = round(0.875 * 48)  # 42
    y0, x0 = (48 - side + 1) // 2, (64 - side + 1) // 2
    expected = tf.image.resize(
        images[:, y0 : y0 + side, x0 : x0 + side].astype("float32") / 255.0, (16, 16)
    )
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_array_equal(out, augment(images, training=False))
    # Sources of 32 px or less: a plain resize (here: unchanged).
    small = random_images(2, 16, 16)
    np.testing.assert_allclose(augment(small, training=False), small / 255.0, atol=1e-6)
    # RandomResizedCrop: the largest centred box of the output's aspect.
    crop = layers.RandomResizedCrop(16, 32)
    expected = tf.image.resize(images[:, 8:40].astype("float32") / 255.0, (16, 32))
    np.testing.assert_allclose(crop(images, training=False), expected, atol=1e-5)
    for cls in (layers.ColorDistortion, layers.GaussianBlur, layers.Solarize):
        np.testing.assert_allclose(
            make_layer(cls)(images, training=False), images / 255.0, atol=1e-7
        )


def _centre_box(height, width, out_height, out_width):
    """The evaluation box, in NumPy float32 as the layer computes it."""
    if min(height, width) <= center_crop.MIN_SIDE_TO_CROP:
        return 0, 0, height, width
    f32 = np.float32
    p, aspect = f32(0.875), f32(out_width) / f32(out_height)
    if f32(width) / f32(height) > aspect:
        h, w = np.round(p * f32(height)), np.round(p * f32(height) * aspect)
    else:
        h, w = np.round(p * f32(width) / aspect), np.round(p * f32(width))
    h, w = int(min(max(h, 1), height)), int(min(max(w, 1), width))
    return (height - h + 1) // 2, (width - w + 1) // 2, h, w


SOURCES = [(48, 64), (40, 40), (33, 90), (100, 37), (32, 32), (24, 30)]


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("output", [(32, 32), (24, 40)])
def test_center_crop_is_the_old_evaluation_view_of_simclr_augment(jit, output):
    # SimCLRAugment(strength=0, blur=False, flip=False, training=False) was
    # the evaluation preprocessing; CenterCrop gives its numbers, bit for
    # bit, and crops the box of the formula.
    crop = layers.CenterCrop(*output)
    augment = layers.SimCLRAugment(*output, strength=0.0, blur=False, flip=False)
    crop.jit_compile = augment.jit_compile = jit
    for height, width in SOURCES:
        for dtype in ("uint8", "float32"):
            images = random_images(3, height, width, seed=height, dtype=dtype)
            out = np.asarray(crop(images))
            atol = 0 if keras.backend.backend() == "tensorflow" else 1e-5
            np.testing.assert_array_equal(out, augment(images, training=False))
            # Bit for bit on TensorFlow; XLA's CPU matmuls (JAX) sum in an
            # order that depends on the batch size: float round-off.
            np.testing.assert_allclose(crop(images[0]), out[0], rtol=0, atol=atol)
            np.testing.assert_array_equal(crop(images, training=True), out)
            box = [
                np.full([3], v, "float32") for v in _centre_box(height, width, *output)
            ]
            by, bx, bh, bw = _centre_box(height, width, *output)
            expected = tf.image.resize(
                tf.cast(images[:, by : by + bh, bx : bx + bw], tf.float32)
                / (255.0 if dtype == "uint8" else 1.0),
                output,
            )
            np.testing.assert_allclose(out, expected, atol=1e-5)
            if not jit:
                np.testing.assert_array_equal(
                    out, resampling.crop_and_resize(images, box, *output)
                )


def test_center_crop_config_round_trip_and_registration():
    crop = layers.CenterCrop(24, 40, name="eval_crop")
    config = crop.get_config()
    assert (config["height"], config["width"], config["name"]) == (24, 40, "eval_crop")
    assert "seed" not in config
    assert layers.CenterCrop.from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(crop)
    assert serialized["registered_name"] == "keras_simclr>CenterCrop"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is layers.CenterCrop
    images = random_images(2, 48, 64)
    np.testing.assert_array_equal(restored(images), crop(images))
    assert tuple(crop.compute_output_shape((None, 48, 64, 3))) == (None, 24, 40, 3)
    with pytest.raises(ValueError, match="height"):
        layers.CenterCrop(0, 32)
