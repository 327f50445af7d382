"""Tests of ColorDistortion against tf.image and its rates."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import layers
from keras_simclr.layers.augmentation import color_distortion
from tests.layers.augmentation.layer_inputs import smooth_images


def _reference_jitter(image, order, factors):
    """One image, the reference way: tf.image ops in `order`, clip each."""
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
    return image


@pytest.mark.parametrize("jit", [True, False])
def test_colour_jitter_matches_tf_image_in_all_24_orders(jit):
    images = smooth_images(24, 10, 12, seed=5)
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
    params = {
        "jitter": tf.ones([24], tf.bool),
        "brightness": factors[:, 0],
        "contrast": factors[:, 1],
        "saturation": factors[:, 2],
        "hue": factors[:, 3],
        "order": tf.range(24),
        "grayscale": tf.zeros([24], tf.bool),
    }
    layer = layers.ColorDistortion()
    layer.jit_compile = jit
    out = layer.transform_images(images, params)
    for i, order in enumerate(itertools.permutations(range(4))):
        assert tuple(color_distortion.ORDERS[i]) == order
        expected = _reference_jitter(images[i], order, factors[i])
        np.testing.assert_allclose(
            out[i], expected, atol=2e-5, err_msg=f"order {order}"
        )


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
        params = {k: tf.fill([5], float(v)) for k, v in values.items()}
        params.update(
            jitter=tf.ones([5], tf.bool),
            order=tf.constant([0, 5, 11, 17, 23]),
            grayscale=tf.zeros([5], tf.bool),
        )
        out = color_distortion.color_transform(tf.constant(images), params)
        expected = tf.clip_by_value(reference(images), 0.0, 1.0)
        np.testing.assert_allclose(out, expected, atol=2e-5, err_msg=name)
    gray = color_distortion.grayscale(tf.constant(images))
    np.testing.assert_allclose(
        gray, tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(images)), atol=1e-6
    )


def test_grayscale_rate_and_strength_zero():
    images = np.repeat(smooth_images(1, 4, 4), 3000, axis=0)
    out = layers.ColorDistortion(strength=1.0, seed=2)(images).numpy()
    gray = np.all(np.abs(out - out[..., :1]) < 1e-6, axis=(1, 2, 3))
    assert abs(gray.mean() - 0.2) < 0.025
    # Strength 0: every image unchanged, or its grayscale (p = 0.2).
    out = layers.ColorDistortion(strength=0.0, seed=3)(images).numpy()
    unchanged = np.abs(out - images).max(axis=(1, 2, 3)) < 1e-5
    expected_gray = color_distortion.grayscale(tf.constant(images[:1])).numpy()
    as_gray = np.abs(out - expected_gray).max(axis=(1, 2, 3)) < 1e-5
    assert np.all(unchanged | as_gray)
    assert abs(as_gray.mean() - 0.2) < 0.025
    # No grayscale: colours exactly unchanged.
    out = layers.ColorDistortion(strength=0.0, grayscale_probability=0.0)(images[:50])
    np.testing.assert_allclose(out, images[:50], atol=1e-5)


def test_jitter_probability():
    params = layers.ColorDistortion().get_random_transformation(
        np.zeros((20000, 2, 2, 3), "uint8"), seed=5
    )
    rate = float(tf.reduce_mean(tf.cast(params["jitter"], tf.float32)))
    assert abs(rate - 0.8) < 0.01
    order = params["order"].numpy()
    assert np.bincount(order, minlength=24).min() > 20000 / 24 * 0.8
    low, high = color_distortion.jitter_ranges(1.0)[0]
    assert low == pytest.approx(0.2) and high == pytest.approx(1.8)
    b = params["brightness"].numpy()
    assert b.min() >= 0.2 and b.max() < 1.8 and abs(b.mean() - 1.0) < 0.01


def test_jitter_components():
    """a = strength * component: the ranges of lightly's cj_bright etc."""
    layer = layers.ColorDistortion(
        strength=0.5, jitter_brightness=1.0, jitter_contrast=0.0, jitter_hue=0.0
    )
    params = layer.get_random_transformation(
        np.zeros((20000, 2, 2, 3), "uint8"), seed=6
    )
    b = params["brightness"].numpy()
    assert 0.5 <= b.min() < 0.501 and 1.499 < b.max() < 1.5
    assert np.all(params["contrast"].numpy() == 1.0)
    assert np.all(params["hue"].numpy() == 0.0)
    s = params["saturation"].numpy()  # the default component, 0.8
    assert 0.6 <= s.min() < 0.601 and 1.399 < s.max() < 1.4
    # The defaults are SimCLR's, the same draws as before the components.
    assert color_distortion.jitter_ranges(1.0) == color_distortion.jitter_ranges(
        1.0, color_distortion.DEFAULT_JITTER
    )
    assert color_distortion.jitter_ranges(1.0)[3] == pytest.approx((-0.2, 0.2))
