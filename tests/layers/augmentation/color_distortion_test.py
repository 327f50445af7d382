"""Tests of ColorDistortion against tf.image and its rates.

Backend-neutral tests run the layer and its transforms on the test's Keras
backend (TensorFlow, or JAX in CI's second pass) and compare them with
tf.image's ops, computed on NumPy inputs, and with NumPy statistics.
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import layers
from keras_simclr.layers.augmentation import color_distortion
from tests.layers.augmentation.compiled import compiled
from tests.layers.augmentation.layer_inputs import smooth_images


def _reference_jitter(image, order, factors):
    """One image, the reference way: tf.image ops in `order`, clip each.

    NumPy in, NumPy out (tf.image is the reference on both backends)."""
    brightness, contrast, saturation, hue = factors
    for op in order:
        if op == color_distortion.BRIGHTNESS:
            image = image * brightness
        elif op == color_distortion.CONTRAST:
            image = tf.image.adjust_contrast(image, contrast)
        elif op == color_distortion.SATURATION:
            image = tf.image.adjust_saturation(image, saturation)
        else:
            image = tf.image.adjust_hue(image, hue)
        image = tf.clip_by_value(image, 0.0, 1.0)
    return np.asarray(image)


def _factors():
    """(24, 4) float32: brightness, contrast, saturation, hue per image."""
    rng = np.random.default_rng(0)
    factors = np.stack(
        [
            rng.uniform(0.2, 1.8, 24),
            rng.uniform(0.2, 1.8, 24),
            rng.uniform(0.2, 1.8, 24),
            rng.uniform(-0.2, 0.2, 24),
        ],
        1,
    ).astype("float32")
    return factors


def _params(factors, grayscale=None):
    """Jitter on for every image, in order i for image i."""
    n = len(factors)
    return {
        "jitter": np.ones(n, bool),
        "brightness": factors[:, 0],
        "contrast": factors[:, 1],
        "saturation": factors[:, 2],
        "hue": factors[:, 3],
        "order": np.arange(n, dtype="int32"),
        "grayscale": np.zeros(n, bool) if grayscale is None else grayscale,
    }


@pytest.mark.backend_neutral
@pytest.mark.parametrize("jit", [True, False])
def test_colour_jitter_matches_tf_image_in_all_24_orders(jit):
    images = smooth_images(24, 10, 12, seed=5)
    factors = _factors()
    params = _params(factors)
    layer = layers.ColorDistortion()
    layer.jit_compile = jit
    out = np.asarray(layer.transform_images(images, params))
    for i, order in enumerate(itertools.permutations(range(4))):
        assert tuple(color_distortion.ORDERS[i]) == order
        expected = _reference_jitter(images[i], order, factors[i])
        np.testing.assert_allclose(
            out[i], expected, atol=2e-5, err_msg=f"order {order}"
        )


@pytest.mark.backend_neutral
@pytest.mark.parametrize("channels_axis", [-1, 2])
def test_compiled_colour_transform_matches_tf_image(channels_axis):
    """The transform alone, compiled as in a train step (jax.jit on JAX),
    on both layouts, with a grayscale on some images: tf.image's numbers.
    Odd images take 9 levels per channel: ties of max and min (the hue's
    cases) and grey pixels (no chroma)."""
    images = smooth_images(24, 10, 12, seed=8)
    images[1::2] = np.round(images[1::2] * 8) / 8
    factors = _factors()
    grayscale = np.arange(24) % 3 == 0
    params = _params(factors, grayscale)
    params["jitter"] = np.arange(24) % 4 != 1
    planar = channels_axis == 2
    x = images.transpose(0, 1, 3, 2) if planar else images
    fn = compiled(lambda x, p: color_distortion.color_transform(x, p, channels_axis))
    out = np.asarray(fn(x, params))
    out = out.transpose(0, 1, 3, 2) if planar else out
    for i, order in enumerate(itertools.permutations(range(4))):
        expected = images[i]
        if params["jitter"][i]:
            expected = _reference_jitter(expected, order, factors[i])
        if grayscale[i]:
            expected = np.asarray(
                tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(expected))
            )
        np.testing.assert_allclose(out[i], expected, atol=1e-5, err_msg=f"image {i}")


@pytest.mark.backend_neutral
def test_single_colour_ops_and_grayscale_match_tf_image():
    images = smooth_images(5, 10, 12, seed=6)
    identity = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue": 0.0}
    cases = [
        ("brightness", 1.4, lambda x: x * 1.4),
        ("contrast", 0.3, lambda x: tf.image.adjust_contrast(x, 0.3)),
        ("saturation", 1.7, lambda x: tf.image.adjust_saturation(x, 1.7)),
        ("hue", -0.15, lambda x: tf.image.adjust_hue(x, -0.15)),
    ]
    for name, value, reference in cases:
        values = {**identity, name: value}
        params = {k: np.full(5, v, "float32") for k, v in values.items()}
        params.update(
            jitter=np.ones(5, bool),
            order=np.array([0, 5, 11, 17, 23], "int32"),
            grayscale=np.zeros(5, bool),
        )
        out = np.asarray(color_distortion.color_transform(images, params))
        expected = np.asarray(tf.clip_by_value(reference(images), 0.0, 1.0))
        np.testing.assert_allclose(out, expected, atol=2e-5, err_msg=name)
    gray = np.asarray(color_distortion.grayscale(images))
    np.testing.assert_allclose(
        gray,
        np.asarray(tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(images))),
        atol=1e-6,
    )


@pytest.mark.backend_neutral
def test_grayscale_rate_and_strength_zero():
    images = np.repeat(smooth_images(1, 4, 4), 3000, axis=0)
    out = np.asarray(layers.ColorDistortion(strength=1.0, seed=2)(images))
    gray = np.all(np.abs(out - out[..., :1]) < 1e-6, axis=(1, 2, 3))
    assert abs(gray.mean() - 0.2) < 0.025
    # Strength 0: every image unchanged, or its grayscale (p = 0.2).
    out = np.asarray(layers.ColorDistortion(strength=0.0, seed=3)(images))
    unchanged = np.abs(out - images).max(axis=(1, 2, 3)) < 1e-5
    expected_gray = np.asarray(color_distortion.grayscale(images[:1]))
    as_gray = np.abs(out - expected_gray).max(axis=(1, 2, 3)) < 1e-5
    assert np.all(unchanged | as_gray)
    assert abs(as_gray.mean() - 0.2) < 0.025
    # No grayscale: colours exactly unchanged.
    out = layers.ColorDistortion(strength=0.0, grayscale_probability=0.0)(images[:50])
    np.testing.assert_allclose(np.asarray(out), images[:50], atol=1e-5)


@pytest.mark.backend_neutral
def test_jitter_probability():
    params = layers.ColorDistortion().get_random_transformation(
        np.zeros((20000, 2, 2, 3), "uint8"), seed=5
    )
    rate = float(np.mean(np.asarray(params["jitter"], "float32")))
    assert abs(rate - 0.8) < 0.01
    order = np.asarray(params["order"])
    assert np.bincount(order, minlength=24).min() > 20000 / 24 * 0.8
    low, high = color_distortion.jitter_ranges(1.0)[0]
    assert low == pytest.approx(0.2) and high == pytest.approx(1.8)
    b = np.asarray(params["brightness"])
    assert b.min() >= 0.2 and b.max() < 1.8 and abs(b.mean() - 1.0) < 0.01


@pytest.mark.backend_neutral
def test_jitter_components():
    """a = strength * component: the ranges of lightly's cj_bright etc."""
    layer = layers.ColorDistortion(
        strength=0.5, jitter_brightness=1.0, jitter_contrast=0.0, jitter_hue=0.0
    )
    params = layer.get_random_transformation(
        np.zeros((20000, 2, 2, 3), "uint8"), seed=6
    )
    b = np.asarray(params["brightness"])
    assert 0.5 <= b.min() < 0.501 and 1.499 < b.max() < 1.5
    assert np.all(np.asarray(params["contrast"]) == 1.0)
    assert np.all(np.asarray(params["hue"]) == 0.0)
    s = np.asarray(params["saturation"])  # the default component, 0.8
    assert 0.6 <= s.min() < 0.601 and 1.399 < s.max() < 1.4
    # The defaults are SimCLR's, the same draws as before the components.
    assert color_distortion.jitter_ranges(1.0) == color_distortion.jitter_ranges(
        1.0, color_distortion.DEFAULT_JITTER
    )
    assert color_distortion.jitter_ranges(1.0)[3] == pytest.approx((-0.2, 0.2))


@pytest.mark.backend_neutral
def test_colour_distortion_in_tf_data_on_every_backend():
    """In a tf.data map the layer runs TensorFlow's ops (on JAX too):
    tf.image's numbers for given parameters, fresh draws every batch."""
    images = smooth_images(24, 10, 12, seed=5)
    factors = _factors()
    params = _params(factors)
    layer = layers.ColorDistortion(jitter_probability=1.0, seed=4)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(24)
    mapped = next(iter(dataset.map(lambda x: layer.transform_images(x, params))))
    for i, order in enumerate(itertools.permutations(range(4))):
        expected = _reference_jitter(images[i], order, factors[i])
        np.testing.assert_allclose(mapped[i], expected, atol=2e-5)
    views = [b.numpy() for b in dataset.repeat(2).map(layer)]
    assert np.abs(views[0] - views[1]).max(axis=(1, 2, 3)).min() > 1e-3
