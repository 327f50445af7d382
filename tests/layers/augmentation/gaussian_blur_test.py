"""Tests of GaussianBlur against NumPy, its rate and its sigma per image.

Backend-neutral tests run on the test's Keras backend (TensorFlow, or JAX
in CI's second pass) with NumPy references and statistics.
"""

import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import layers
from keras_simclr.layers.augmentation import gaussian_blur
from tests.layers.augmentation.compiled import compiled
from tests.layers.augmentation.layer_inputs import random_images, smooth_images


def _numpy_blur(image, sigma, radius):
    t = np.arange(-radius, radius + 1)
    k = np.exp(-(t**2) / (2 * sigma**2))
    k /= k.sum()
    padded = np.pad(image, [(radius, radius), (radius, radius), (0, 0)], mode="reflect")
    height, width = image.shape[:2]
    rows = sum(k[j] * padded[j : j + height] for j in range(2 * radius + 1))
    return sum(k[j] * rows[:, j : j + width] for j in range(2 * radius + 1))


@pytest.mark.backend_neutral
@pytest.mark.parametrize("jit", [True, False])
def test_blur_matches_numpy_reflect_convolution(jit):
    images = smooth_images(3, 26, 20, seed=7)
    sigma = np.array([0.3, 1.1, 2.0], "float32")
    params = {"blur": np.array([True, True, False]), "sigma": sigma}
    layer = layers.GaussianBlur(kernel_size=7)
    layer.jit_compile = jit
    out = np.asarray(layer.transform_images(images, params))
    for i in range(2):
        np.testing.assert_allclose(
            out[i], _numpy_blur(images[i], sigma[i], 3), atol=1e-5
        )
    np.testing.assert_array_equal(out[2], images[2])  # not blurred: exact
    # Default kernel: radius (side // 10) // 2; 23 taps at 224 px.
    assert gaussian_blur.default_radius(224) == 11
    assert layers.GaussianBlur().radius(26) == 1


@pytest.mark.backend_neutral
@pytest.mark.parametrize("channels_axis", [-1, 2])
def test_compiled_blur_transform_matches_numpy(channels_axis):
    """The transform alone, compiled as in a train step (jax.jit on JAX),
    on both layouts: one sigma per image, unblurred images exact."""
    images = smooth_images(4, 26, 20, seed=9)
    sigma = np.array([0.3, 1.1, 2.0, 0.7], "float32")
    params = {"blur": np.array([True, True, True, False]), "sigma": sigma}
    planar = channels_axis == 2
    x = images.transpose(0, 1, 3, 2) if planar else images
    fn = compiled(lambda x, p: gaussian_blur.blur_transform(x, p, 4, channels_axis))
    out = np.asarray(fn(x, params))
    out = out.transpose(0, 1, 3, 2) if planar else out
    for i in range(3):
        np.testing.assert_allclose(
            out[i], _numpy_blur(images[i], sigma[i], 4), atol=1e-5
        )
    np.testing.assert_array_equal(out[3], images[3])


def _impulses(n, side=15):
    """n black images with one white pixel in the middle."""
    images = np.zeros((n, side, side, 3), "float32")
    images[:, side // 2, side // 2] = 1.0
    return images


def _sigma_of_impulse(blurred):
    """The sigma of each blurred impulse: its neighbours over its centre is
    k(1) / k(0) = exp(-1 / (2 sigma^2)); NaN where not blurred."""
    c = blurred.shape[1] // 2
    ratio = blurred[:, c, c + 1, 0].astype("float64") / blurred[:, c, c, 0]
    with np.errstate(divide="ignore"):
        return np.where(ratio > 0, np.sqrt(-0.5 / np.log(ratio)), np.nan)


@pytest.mark.backend_neutral
def test_one_sigma_per_image():
    """Each image of a call is blurred with its own sigma: the one drawn for
    it (a twin layer, same seed, draws the same parameters), spread uniformly
    over the range."""
    images = _impulses(400)
    out = np.asarray(layers.GaussianBlur(0.5, kernel_size=7, seed=11)(images))
    sigma = _sigma_of_impulse(out)
    params = layers.GaussianBlur(0.5, kernel_size=7, seed=11).get_random_transformation(
        images
    )
    blurred = np.asarray(params["blur"])
    np.testing.assert_array_equal(~np.isnan(sigma), blurred)
    drawn = np.asarray(params["sigma"])[blurred]
    np.testing.assert_allclose(sigma[blurred], drawn, rtol=1e-3)
    np.testing.assert_array_equal(out[~blurred], images[~blurred])
    # Distinct sigmas, uniform on (0.1, 2): Kolmogorov-Smirnov distance.
    assert len(np.unique(drawn)) == len(drawn)
    drawn = np.sort(drawn)
    assert 0.1 <= drawn[0] and drawn[-1] < 2.0
    cdf = (drawn - 0.1) / 1.9
    n = len(drawn)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.63 / np.sqrt(n)  # 1% level


@pytest.mark.backend_neutral
def test_blur_in_tf_data_on_every_backend():
    """In a tf.data map the layer runs TensorFlow's ops (on JAX too): the
    NumPy blur for given parameters, fresh sigmas every batch."""
    images = smooth_images(3, 26, 20, seed=7)
    sigma = np.array([0.3, 1.1, 2.0], "float32")
    params = {"blur": np.array([True, True, False]), "sigma": sigma}
    layer = layers.GaussianBlur(1.0, sigma=(0.5, 2.0), kernel_size=7, seed=3)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(3)
    mapped = next(iter(dataset.map(lambda x: layer.transform_images(x, params))))
    for i in range(2):
        np.testing.assert_allclose(
            mapped[i], _numpy_blur(images[i], sigma[i], 3), atol=1e-5
        )
    np.testing.assert_array_equal(mapped[2], images[2])
    views = [b.numpy() for b in dataset.repeat(2).map(layer)]
    assert np.abs(views[0] - views[1]).max(axis=(1, 2, 3)).min() > 1e-4


@pytest.mark.backend_neutral
@pytest.mark.parametrize("probability", [0.3, 0.5])
def test_blur_rate(probability):
    images = np.repeat(random_images(1, 12, 12, dtype="float32"), 3000, axis=0)
    # (sigma from 0.5: below ~0.2 a blur changes pixels by less than 1e-6)
    out = layers.GaussianBlur(probability, sigma=(0.5, 2.0), kernel_size=5, seed=4)(
        images
    )
    changed = np.abs(np.asarray(out) - images).max(axis=(1, 2, 3)) > 1e-6
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
