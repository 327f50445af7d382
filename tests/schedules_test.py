"""Tests for keras_simclr.schedules against float64 NumPy/Python formulas."""

import math

import keras
import numpy as np
import pytest

from keras_simclr.schedules import WarmupCosineDecay, scaled_learning_rate
from tests.backend_marks import tensorflow_only

pytestmark = pytest.mark.backend_neutral


def np_schedule(step, peak, warmup, total, final=0.0):
    """The schedule in float64: linear warmup, then cosine to `final`."""
    if step < warmup:
        return peak * step / warmup
    if step >= total:
        return final
    progress = (step - warmup) / (total - warmup)
    return final + 0.5 * (peak - final) * (1.0 + math.cos(math.pi * progress))


# The reference's CIFAR-10 recipe: batch 512, base 1.0 linear, 10 warmup
# epochs of 1000, 50,000 images.
CIFAR_WARMUP = 10 * 50_000 // 512
CIFAR_TOTAL = 1000 * 50_000 // 512 + 1


def test_cifar10_recipe_numbers():
    assert (CIFAR_WARMUP, CIFAR_TOTAL) == (976, 97_657)
    peak = scaled_learning_rate(1.0, 512)
    assert peak == 2.0
    lr = WarmupCosineDecay(peak, CIFAR_WARMUP, CIFAR_TOTAL)
    assert float(lr(0)) == 0.0
    assert float(lr(488)) == pytest.approx(1.0, abs=1e-6)
    assert float(lr(976)) == pytest.approx(2.0, abs=1e-6)
    # Mid-cosine: (49,316 - 976) / 96,681 is 0.499995, so 1.0 to 2e-5.
    assert float(lr(49_316)) == pytest.approx(1.0, abs=2e-5)
    assert float(lr(CIFAR_TOTAL)) == pytest.approx(0.0, abs=1e-6)
    assert float(lr(CIFAR_TOTAL + 5000)) == 0.0


@pytest.mark.parametrize(
    "peak, warmup, total, final",
    [
        (2.0, 976, 97_657, 0.0),
        (4.8, 10, 100, 0.0),
        (1.0, 10, 50, 0.1),
        (0.5, 0, 20, 0.0),  # no warmup: starts at the peak
        (0.5, 20, 20, 0.05),  # warmup only, then the final value
        (0.3, 1, 2, 0.0),
    ],
)
def test_matches_formula(peak, warmup, total, final):
    lr = WarmupCosineDecay(peak, warmup, total, final_learning_rate=final)
    steps = sorted(
        {
            0,
            1,
            warmup // 2,
            max(warmup - 1, 0),
            warmup,
            warmup + 1,
            (warmup + total) // 2,
            total - 1,
            total,
            total + 1,
            2 * total + 7,
        }
    )
    got = np.array([float(lr(s)) for s in steps])
    want = np.array([np_schedule(s, peak, warmup, total, final) for s in steps])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # Also on a tensor of steps, and with int64 steps as the optimizer does.
    tensor_steps = keras.ops.convert_to_tensor(np.array(steps, "int64"))
    np.testing.assert_allclose(np.asarray(lr(tensor_steps)), want, rtol=1e-6, atol=1e-6)


def test_warmup_is_linear_and_cosine_is_monotone():
    lr = WarmupCosineDecay(3.0, 40, 200, final_learning_rate=0.3)
    values = np.array([float(lr(s)) for s in range(260)])
    np.testing.assert_allclose(
        values[:41], 3.0 * np.arange(41) / 40, rtol=1e-6, atol=1e-7
    )
    assert np.all(np.diff(values[40:201]) <= 1e-7)
    assert values[40] == pytest.approx(3.0)
    np.testing.assert_allclose(values[200:], 0.3, rtol=1e-6)


@tensorflow_only("tf.function XLA")
def test_jit_compiled_schedule():
    import tensorflow as tf

    lr = WarmupCosineDecay(2.0, 976, 97_657)
    fn = tf.function(lambda s: lr(s), jit_compile=True)
    for step in (0, 488, 976, 49_316, 97_657, 100_000):
        assert float(fn(tf.constant(step, tf.int64))) == pytest.approx(
            np_schedule(step, 2.0, 976, 97_657), abs=2e-6
        )


def test_optimizer_follows_schedule():
    lr = WarmupCosineDecay(0.8, 4, 10)
    opt = keras.optimizers.SGD(lr)
    var = keras.Variable(np.zeros(2, "float32"))
    for step in range(14):
        assert float(opt.learning_rate) == pytest.approx(
            np_schedule(step, 0.8, 4, 10), abs=1e-6
        )
        opt.apply_gradients([(np.ones(2, "float32"), var)])
    # SGD without momentum: w = -sum of the scheduled learning rates.
    want = -sum(np_schedule(s, 0.8, 4, 10) for s in range(14))
    np.testing.assert_allclose(var.numpy(), [want, want], rtol=1e-6)


def test_serialization_round_trip():
    lr = WarmupCosineDecay(4.8, 12_510, 125_100, final_learning_rate=0.01)
    config = lr.get_config()
    assert config == {
        "peak_learning_rate": 4.8,
        "warmup_steps": 12_510,
        "total_steps": 125_100,
        "final_learning_rate": 0.01,
    }
    again = WarmupCosineDecay.from_config(config)
    assert again.get_config() == config
    serialized = keras.optimizers.schedules.serialize(lr)
    assert serialized["registered_name"] == "keras_simclr>WarmupCosineDecay"
    restored = keras.optimizers.schedules.deserialize(serialized)
    assert isinstance(restored, WarmupCosineDecay)
    for step in (0, 6000, 12_510, 70_000, 125_100, 130_000):
        assert float(restored(step)) == float(lr(step))
    # Inside an optimizer's config too.
    opt = keras.optimizers.deserialize(
        keras.optimizers.serialize(keras.optimizers.SGD(lr))
    )
    assert opt._learning_rate.get_config() == config


# Why WarmupCosineDecay is not a wrapper over keras's CosineDecay (its
# docstring lists the reasons); each test fails if Keras removes a reason.
def keras_cosine_decay(peak, warmup, total, final=0.0):
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=total - warmup,
        warmup_target=peak,
        warmup_steps=warmup,
        alpha=final / peak,
    )


@pytest.mark.parametrize(
    "peak, warmup, total, final",
    [
        (4.8, 10, 100, 0.0),
        (1.0, 10, 50, 0.1),
        (0.5, 0, 20, 0.0),
        (3.0, 40, 200, 0.3),
    ],
)
def test_keras_cosine_decay_is_the_same_formula(peak, warmup, total, final):
    ours = WarmupCosineDecay(peak, warmup, total, final_learning_rate=final)
    theirs = keras_cosine_decay(peak, warmup, total, final)
    # Every integer step past the end, and float32 steps around the joins.
    steps = list(range(total + 20)) + [
        np.float32(s)
        for s in (warmup + 0.25, (warmup + total) / 2 + 0.5, total - 0.5, total + 0.5)
    ]
    want = np.array([np_schedule(float(s), peak, warmup, total, final) for s in steps])
    got_ours = np.array([float(ours(s)) for s in steps])
    got_theirs = np.array([float(theirs(s)) for s in steps])
    ulp = float(np.spacing(np.float32(peak)))
    np.testing.assert_allclose(got_ours, want, rtol=0, atol=2 * ulp)
    np.testing.assert_allclose(got_theirs, want, rtol=0, atol=2 * ulp)


@tensorflow_only("tf.function")
@pytest.mark.parametrize(
    "peak, warmup, total, final, compiled",
    [
        (3.0, 40, 200, 0.3, False),  # eager
        (4.8, 10, 100, 0.0, True),  # in a tf.function, as model.fit calls it
    ],
)
def test_keras_cosine_decay_rounds_differently_by_more_than_1e_7(
    peak, warmup, total, final, compiled
):
    import tensorflow as tf

    ours = WarmupCosineDecay(peak, warmup, total, final_learning_rate=final)
    theirs = keras_cosine_decay(peak, warmup, total, final)
    if compiled:
        ours, theirs = tf.function(ours), tf.function(theirs)
    steps = [keras.ops.convert_to_tensor(s, "int64") for s in range(total + 20)]
    diff = np.array([abs(float(ours(s)) - float(theirs(s))) for s in steps])
    assert diff.max() > 1e-7
    assert diff.max() <= 2 * float(np.spacing(np.float32(peak)))


def test_keras_cosine_decay_rejects_warmup_only():
    with pytest.raises(ValueError, match="decay_steps"):
        keras_cosine_decay(0.5, 20, 20, 0.05)
    lr = WarmupCosineDecay(0.5, 20, 20, final_learning_rate=0.05)
    np.testing.assert_allclose(
        [float(lr(s)) for s in (10, 19, 20, 21)], [0.25, 0.475, 0.05, 0.05], rtol=1e-6
    )


@tensorflow_only("tf.function")
def test_keras_cosine_decay_needs_a_scalar_step():
    steps = keras.ops.convert_to_tensor(np.array([0, 5, 10, 55, 100], "int64"))
    with pytest.raises(ValueError):
        keras_cosine_decay(4.8, 10, 100)(steps)
    want = [np_schedule(s, 4.8, 10, 100) for s in (0, 5, 10, 55, 100)]
    np.testing.assert_allclose(
        np.asarray(WarmupCosineDecay(4.8, 10, 100)(steps)), want, rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(peak_learning_rate=-1.0), "peak_learning_rate"),
        (dict(peak_learning_rate=float("nan")), "peak_learning_rate"),
        (dict(final_learning_rate=-0.1), "final_learning_rate"),
        (dict(final_learning_rate=3.0), "must not exceed"),
        (dict(warmup_steps=-1), "warmup_steps"),
        (dict(warmup_steps=2.5), "warmup_steps"),
        (dict(total_steps=0), "total_steps"),
        (dict(warmup_steps=200, total_steps=100), "must not exceed"),
    ],
)
def test_invalid_schedule_arguments(kwargs, message):
    args = dict(peak_learning_rate=2.0, warmup_steps=10, total_steps=100)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        WarmupCosineDecay(**args)


@pytest.mark.parametrize(
    "base, batch, rule, want",
    [
        (0.3, 4096, "linear", 4.8),
        (1.0, 512, "linear", 2.0),
        (0.3, 256, "linear", 0.3),
        (0.3, 64, "linear", 0.075),
        (0.075, 4096, "sqrt", 4.8),
        (0.075, 256, "sqrt", 1.2),  # sqrt(256) = 16, not sqrt(256 / 256) = 1
        (0.1, 1, "sqrt", 0.1),
    ],
)
def test_scaled_learning_rate(base, batch, rule, want):
    assert scaled_learning_rate(base, batch, rule=rule) == pytest.approx(
        want, rel=1e-12
    )


def test_scaled_learning_rate_default_rule_is_linear():
    assert scaled_learning_rate(0.3, 1024) == pytest.approx(1.2, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rule="square_root"), "Unknown learning-rate scaling rule"),
        (dict(rule="Linear"), "Unknown learning-rate scaling rule"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=-256), "batch_size"),
        (dict(batch_size=256.0), "batch_size"),
        (dict(base_learning_rate=-0.3), "base_learning_rate"),
    ],
)
def test_scaled_learning_rate_errors(kwargs, message):
    args = dict(base_learning_rate=0.3, batch_size=256, rule="linear")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        scaled_learning_rate(**args)
