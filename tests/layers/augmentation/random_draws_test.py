"""Tests of the random draws: fresh per call, per replica, seeded."""

import numpy as np
import pytest

from keras_simclr import layers
from keras_simclr.layers.augmentation import random_draws as draws
from tests.layers.augmentation.layer_inputs import REPO_ROOT, random_images
from tests.replicas import run_with_replicas


@pytest.mark.backend_neutral
def test_every_call_draws_fresh_views_and_seed_reproduces():
    images = random_images(3, 20, 26)
    a = layers.SimCLRAugment(16, 16, seed=11)
    b = layers.SimCLRAugment(16, 16, seed=11)
    a1, a2 = a(images), a(images)
    b1, b2 = b(images), b(images)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert np.abs(a1 - a2).max() > 0.05
    c = layers.SimCLRAugment(16, 16, seed=12)
    assert np.abs(c(images) - a1).max() > 0.05


def test_replicas_draw_different_views():
    snippet = """
    from keras_simclr.layers import SimCLRAugment
    images = np.random.default_rng(0).integers(
        0, 256, (2, 20, 26, 3), dtype=np.uint8)
    with strategy.scope():
        augment = SimCLRAugment(12, 12, blur=True, seed=5)

    @tf.function
    def step(x):
        return strategy.run(lambda: augment(x, training=True))

    views = [strategy.experimental_local_results(step(images))
             for _ in range(2)]
    single = SimCLRAugment(12, 12, blur=True, seed=5)
    save(r0=views[0][0].numpy(), r1=views[0][1].numpy(),
         r0_next=views[1][0].numpy(),
         single=single(images, training=True).numpy())
    """
    out = run_with_replicas(snippet, 2, env={"PYTHONPATH": REPO_ROOT})
    # Identical images on the two replicas: different views.
    assert np.abs(out["r0"] - out["r1"]).max(axis=(1, 2, 3)).min() > 0.05
    # Fresh views every step.
    assert np.abs(out["r0"] - out["r0_next"]).max() > 0.05
    # Replica 0 reproduces a single device with the same seed.
    np.testing.assert_allclose(out["r0"], out["single"], atol=1e-6)


@pytest.mark.backend_neutral
def test_range_and_probability_predicates():
    assert draws.is_range([0.2, 1]) and draws.is_range((1, 1), high=1)
    for bad in ((0.2,), (0.1, 0.2, 0.3), "ab", (True, 1), (0.2, "1"), None, (-1, 1)):
        assert not draws.is_range(bad)
    assert not draws.is_range((0.5, 1.5), high=1.0)
    assert draws.check_range("crop_ratio", np.array([0.5, 2.0])) == (0.5, 2.0)
    assert draws.is_probability(0) and draws.is_probability(np.float32(1))
    for bad in (True, "0.5", float("nan"), -0.01, 1.01, None):
        assert not draws.is_probability(bad)
