"""Tests of GaussianBlur against NumPy, and its rate."""

import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import layers
from keras_simclr.layers.augmentation import gaussian_blur
from tests.layers.augmentation.layer_inputs import random_images, smooth_images


def _numpy_blur(image, sigma, radius):
    t = np.arange(-radius, radius + 1)
    k = np.exp(-(t**2) / (2 * sigma**2))
    k /= k.sum()
    padded = np.pad(image, [(radius, radius), (radius, radius), (0, 0)], mode="reflect")
    height, width = image.shape[:2]
    rows = sum(k[j] * padded[j : j + height] for j in range(2 * radius + 1))
    return sum(k[j] * rows[:, j : j + width] for j in range(2 * radius + 1))


@pytest.mark.parametrize("jit", [True, False])
def test_blur_matches_numpy_reflect_convolution(jit):
    images = smooth_images(3, 26, 20, seed=7)
    sigma = np.array([0.3, 1.1, 2.0], "float32")
    params = {"blur": tf.constant([True, True, False]), "sigma": sigma}
    layer = layers.GaussianBlur(kernel_size=7)
    layer.jit_compile = jit
    out = layer.transform_images(images, params).numpy()
    for i in range(2):
        np.testing.assert_allclose(
            out[i], _numpy_blur(images[i], sigma[i], 3), atol=1e-5
        )
    np.testing.assert_array_equal(out[2], images[2])  # not blurred: exact
    # Default kernel: radius (side // 10) // 2; 23 taps at 224 px.
    assert gaussian_blur.default_radius(224) == 11
    assert layers.GaussianBlur().radius(26) == 1


@pytest.mark.parametrize("probability", [0.3, 0.5])
def test_blur_rate(probability):
    images = np.repeat(random_images(1, 12, 12, dtype="float32"), 3000, axis=0)
    # (sigma from 0.5: below ~0.2 a blur changes pixels by less than 1e-6)
    out = layers.GaussianBlur(probability, sigma=(0.5, 2.0), kernel_size=5, seed=4)(
        images
    )
    changed = np.abs(out.numpy() - images).max(axis=(1, 2, 3)) > 1e-6
    assert abs(changed.mean() - probability) < 0.025


def test_the_private_xla_optimization_barrier_is_as_used():
    # gaussian_blur imports the op from TensorFlow's private gen_xla_ops:
    # TF 2.21 has no public wrapper (not in tf.raw_ops). This fails if
    # the module, the op's signature or its identity behaviour change, or
    # if a public op appears (then use it).
    import inspect

    from tensorflow.compiler.tf2xla.ops import gen_xla_ops

    assert "XlaOptimizationBarrier" not in dir(tf.raw_ops), (
        "TensorFlow now has a public XlaOptimizationBarrier: use it in "
        "gaussian_blur._barrier."
    )
    parameters = list(
        inspect.signature(gen_xla_ops.xla_optimization_barrier).parameters
    )
    assert parameters[0] == "input"
    x = tf.constant(smooth_images(1, 6, 5))
    out = tf.function(lambda t: gaussian_blur._barrier(t) * 1.0, jit_compile=True)(x)
    np.testing.assert_array_equal(out, x)
    # Under XLA the blur passes go through the barrier; same numbers.
    params = {"blur": tf.constant([True]), "sigma": tf.constant([1.3])}
    blurred = tf.function(
        lambda t: gaussian_blur.blur_transform(t, params, 2), jit_compile=True
    )(x)
    np.testing.assert_allclose(blurred[0], _numpy_blur(x[0].numpy(), 1.3, 2), atol=1e-5)
