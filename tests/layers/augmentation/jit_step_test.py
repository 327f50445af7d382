"""The augmentation inside a compiled step, its generator's state passed
functionally (Keras's `stateless_call`, as the JAX trainer does): the state
advances through the step, views are fresh per step and per image, a seed
reproduces them, and per-device shards of a DataParallel step differ.

Backend-neutral: `jax.jit` on JAX, `tf.function(jit_compile=True)` on
TensorFlow, the same assertions."""

import keras
import numpy as np
import pytest

from keras_simclr import layers
from keras_simclr.layers.augmentation import random_draws as draws
from tests.layers.augmentation.compiled import compiled
from tests.layers.augmentation.layer_inputs import (
    expected_crop_area,
    ramp_boxes,
    ramp_images,
    random_images,
    smooth_images,
)
from tests.replicas import run_with_replicas

pytestmark = pytest.mark.backend_neutral


def _step_fn(layer):
    """One compiled step: (state, images) -> (views, new state)."""

    def step(state, images):
        views, state = layer.stateless_call([], state, images, training=True)
        return views, state

    return compiled(step)


def _run_steps(layer, images, steps):
    """`steps` compiled steps: the views, and the generator's states."""
    layer.build(images.shape)
    variables = layer.non_trainable_variables
    mine = [v is layer.generator.state for v in variables].index(True)
    state = [v.value for v in variables]
    step = _step_fn(layer)
    views, states = [], [np.asarray(state[mine])]
    for _ in range(steps):
        out, state = step(state, images)
        views.append(np.asarray(out))
        states.append(np.asarray(state[mine]))
    return views, states


def _distinct(views):
    """Smallest max-abs difference between two of `views` (along axis 0)."""
    flat = views.reshape(len(views), -1)
    gaps = np.abs(flat[:, None] - flat[None]).max(-1)
    return gaps[~np.eye(len(views), dtype=bool)].min()


def test_state_advances_through_the_step_and_views_are_fresh():
    crop = layers.RandomResizedCrop(12, 12, flip=True, seed=5)
    images = np.repeat(smooth_images(1, 24, 30), 8, axis=0)
    views, states = _run_steps(crop, images, 3)
    # The generator's state is the step's: a counter advanced once a call.
    np.testing.assert_array_equal(np.stack(states)[:, 1] - states[0][1], np.arange(4))
    np.testing.assert_array_equal(np.stack(states)[:, 0], states[0][0])
    # The layer's own variable is untouched: the state went through the step.
    np.testing.assert_array_equal(np.asarray(crop.generator.state.value), states[0])
    for v in views:
        assert _distinct(v) > 1e-3  # identical images, distinct views
    assert _distinct(np.stack(views)) > 1e-3  # fresh views every step
    # The same seed reproduces the views; eager calls give them too.
    again, _ = _run_steps(
        layers.RandomResizedCrop(12, 12, flip=True, seed=5), images, 3
    )
    for a, b in zip(views, again):
        np.testing.assert_array_equal(a, b)
    eager = layers.RandomResizedCrop(12, 12, flip=True, seed=5)
    for v in views:
        np.testing.assert_allclose(eager(images), v, atol=1e-6)
    other, _ = _run_steps(
        layers.RandomResizedCrop(12, 12, flip=True, seed=6), images, 1
    )
    assert np.abs(other[0] - views[0]).max() > 0.05


def test_crop_areas_and_ratios_in_the_step():
    """The compiled step's crops follow the sampler's law (the statistics
    of random_resized_crop_test, read back from the views of ramps)."""
    side = 64
    crop = layers.RandomResizedCrop(16, 16, seed=1)
    views, _ = _run_steps(crop, ramp_images(400, side, side), 2)
    h, w = ramp_boxes(np.concatenate(views), 1 / side, 1 / side)
    area = h * w / side**2
    assert abs(area.mean() - expected_crop_area(side, side)) < 0.02
    assert area.min() >= 0.08 - 0.01 and area.max() <= 1.0 + 1e-6
    ratio = w / h
    assert ratio.min() >= 0.75 - 0.03 and ratio.max() <= 4 / 3 + 0.03
    assert abs(np.log(ratio).mean()) < 0.03


def test_simclr_augment_in_the_step_draws_per_image_and_per_step():
    augment = layers.SimCLRAugment(12, 12, blur=True, seed=3)
    images = np.repeat(random_images(1, 20, 26), 6, axis=0)
    views, states = _run_steps(augment, images, 2)
    assert states[2][1] - states[0][1] == 2
    for v in views:
        assert v.shape == (6, 12, 12, 3) and 0.0 <= v.min() <= v.max() <= 1.0
        assert _distinct(v) > 1e-3
    assert np.abs(views[0] - views[1]).max() > 0.05
    again, _ = _run_steps(layers.SimCLRAugment(12, 12, blur=True, seed=3), images, 2)
    np.testing.assert_array_equal(again[1], views[1])


def test_explicit_keys_reproduce_and_differ():
    crop = layers.RandomResizedCrop(10, 10, seed=0)
    images = random_images(4, 20, 26)
    a = crop.get_random_transformation(images, seed=[1, 2])
    b = crop.get_random_transformation(images, seed=[1, 2])
    c = crop.get_random_transformation(images, seed=[1, 3])
    for k in ("y0", "x0", "h", "w"):
        np.testing.assert_array_equal(a[k], b[k])
    assert any(np.any(np.asarray(a[k]) != np.asarray(c[k])) for k in ("h", "w"))
    key = draws.normalize_key(7)
    u = np.asarray(draws.uniform(key, draws.TAG_SIGMA, (20000,), 0.1, 2.0))
    assert 0.1 <= u.min() and u.max() < 2.0 and abs(u.mean() - 1.05) < 0.01
    unit = np.asarray(draws.uniform(key, draws.TAG_SIGMA, (1000,)))
    np.testing.assert_array_equal(unit * 2**24 % 1, 0 * unit)  # k * 2**-24
    flags = np.asarray(draws.bernoulli(key, draws.TAG_FLIP, (20000,), 0.3))
    assert abs(flags.mean() - 0.3) < 0.015
    assert not np.asarray(draws.bernoulli(key, draws.TAG_FLIP, (100,), 0.0)).any()


@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="keras.distribution runs on JAX"
)
def test_data_parallel_devices_draw_different_views_and_equal_one_device():
    snippet = """
    from keras_simclr.layers import RandomResizedCrop
    if distribution is not None:
        keras.distribution.set_distribution(distribution)
    image = np.random.default_rng(0).integers(0, 256, (1, 20, 26, 3), np.uint8)
    images = np.repeat(image, 8, axis=0)
    crop = RandomResizedCrop(12, 12, flip=True, seed=5)
    crop.build(images.shape)
    state = [v.value for v in crop.non_trainable_variables]
    if distribution is not None:
        layout = distribution.get_data_layout(images.shape)
        images = jax.device_put(images, layout.backend_layout)

    @jax.jit
    def step(state, x):
        return crop.stateless_call([], state, x, training=True)

    views = []
    for _ in range(2):
        out, state = step(state, images)
        views.append(np.asarray(out))
    shards = [np.asarray(s.data) for s in out.addressable_shards]
    save(views=np.stack(views), shards=len(shards))
    """
    four = run_with_replicas(snippet, 4, backend="jax")
    one = run_with_replicas(snippet, 1, backend="jax")
    assert four["shards"] == 4
    views = four["views"]  # (steps, 8 images, ...): 2 images per device
    # Identical images: every device's shard differs from every other's,
    # and from step to step.
    for step in views:
        per_device = step.reshape(4, 2, -1)
        gaps = np.abs(per_device[:, None] - per_device[None]).max(-1).min(-1)
        assert gaps[~np.eye(4, dtype=bool)].min() > 1e-3
    assert np.abs(views[0] - views[1]).max() > 0.05
    # The global batch is drawn as on one device.
    np.testing.assert_allclose(views, one["views"], atol=1e-6)
