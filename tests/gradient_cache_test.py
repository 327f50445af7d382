"""SimCLR(micro_batches=k): gradient caching equals more replicas.

One step with k micro-batches on R replicas must give the weights, loss and
metrics of the ordinary step on R x k replicas with unsynchronized batch
norm, and update the moving statistics once, with the mean of the
micro-batches' batch statistics (checked against NumPy). Each strategy size
runs in its own process (tests/replicas.py).
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr.errors import UserInputError
from tests.replicas import run_with_replicas
from tests.tiny_models import tiny_encoder

ONE_STEP = """
import json
import keras_simclr as ks
from tests.tiny_models import tiny_encoder
rng = np.random.default_rng(0)
images = (0.7 * rng.uniform(size=(16, 1, 1, 3))
          + 0.3 * rng.uniform(size=(16, 8, 8, 3))).astype(np.float32)
# Images 0-3 and 8-11 dark, 4-7 and 12-15 bright, so that each grouping of
# the images into batch norms gives distinct statistics.
images *= np.where(np.arange(16) // 4 % 2, 1.0, 0.5).astype(np.float32)[:, None, None, None]
# Deterministic "augmentation": the second view is a fixed transform.
view1, view2 = images, np.clip(images[:, :, ::-1] * 0.8 + 0.1, 0.0, 1.0)
labels = np.arange(16) % 4
out = {"view1": view1, "view2": view2}
for name, config in json.loads(os.environ["CONFIGS"]).items():
    keras.mixed_precision.set_global_policy(config.get("policy", "float32"))
    keras.utils.set_random_seed(7)
    sync = config.get("sync", False)
    with strategy.scope():
        model = ks.SimCLR(
            tiny_encoder(8, synchronized=sync),
            ks.layers.ProjectionHead(2, output_dim=16, synchronized=sync),
            augment=keras.layers.Identity(), temperature=0.2, num_classes=4,
            micro_batches=config["k"])
        optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
        if config.get("policy") == "mixed_float16":
            # Keras' first scale, 2**15, overflows here and skips the step.
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=1024)
        model.compile(optimizer=optimizer, jit_compile=config.get("jit", False))
        model.build((None, 8, 8, 3))
    out[f"{name}/kernel"] = model.encoder.layers[1].kernel.numpy()
    initial = [v.numpy() for v in model.weights]
    history = model.fit((view1, view2), labels, batch_size=16, epochs=1,
                        shuffle=False, verbose=0)
    for i, (variable, before) in enumerate(zip(model.weights, initial)):
        out[f"{name}/w{i}"] = variable.numpy()
        out[f"{name}/init{i}"] = before
        out[f"{name}/trainable{i}"] = np.array(variable.trainable)
    for metric, values in history.history.items():
        out[f"{name}/{metric}"] = np.array(values)
    bn = model.encoder.layers[2]
    for stat in ("moving_mean", "moving_variance"):
        copies = strategy.experimental_local_results(getattr(bn, stat).value)
        out[f"{name}/{stat}"] = np.stack([c.numpy() for c in copies])
keras.mixed_precision.set_global_policy("float32")
save(**out)
"""

METRICS = (
    "loss",
    "contrastive_accuracy",
    "contrastive_entropy",
    "probe_loss",
    "probe_accuracy",
)


def run(replicas, **configs):
    """{config name: {key: array}} of one ONE_STEP process per strategy size."""
    out = run_with_replicas(ONE_STEP, replicas, env={"CONFIGS": json.dumps(configs)})
    results = {name: {} for name in configs}
    for key, value in out.items():
        if "/" in key:
            name, field = key.split("/")
            results[name][field] = value
    for name in configs:
        results[name].update(view1=out["view1"], view2=out["view2"])
    return results


@pytest.fixture(scope="module")
def one_device():
    return run(
        1,
        k2={"k": 2},
        k4={"k": 4},
        k2_jit={"k": 2, "jit": True},
        k2_mixed={"k": 2, "policy": "mixed_float16"},
    )


@pytest.fixture(scope="module")
def two_replicas():
    return run(
        2,
        k1={"k": 1},
        k1_mixed={"k": 1, "policy": "mixed_float16"},
        k2={"k": 2},
        k2_sync={"k": 2, "sync": True},
    )


@pytest.fixture(scope="module")
def four_replicas():
    return run(4, k1={"k": 1})


def assert_same_step(a, b, tolerance=1e-5):
    """Same trainable weights (relative to how far they moved) and metrics."""
    compared = 0
    for i in range(len([key for key in a if key.startswith("init")])):
        if not a[f"trainable{i}"]:
            continue
        np.testing.assert_array_equal(a[f"init{i}"], b[f"init{i}"])
        moved = np.max(np.abs(b[f"w{i}"] - b[f"init{i}"]))
        difference = np.max(np.abs(a[f"w{i}"] - b[f"w{i}"]))
        print(f"weight {i}: moved {moved:.2e}, differs by {difference:.2e}")
        # Plus one float32 step of the weight's own size: a gamma near 1
        # cannot agree more closely than that.
        ulp = np.spacing(np.max(np.abs(b[f"w{i}"])))
        assert moved > 0 and difference <= tolerance * moved + ulp, i
        compared += 1
    assert compared == 10  # conv, BN and head weights, the probe
    for metric in METRICS:
        np.testing.assert_allclose(a[metric], b[metric], rtol=tolerance, atol=1e-7)


def test_micro_batches_on_one_device_equal_as_many_replicas(
    one_device, two_replicas, four_replicas
):
    assert_same_step(one_device["k2"], two_replicas["k1"])
    assert_same_step(one_device["k4"], four_replicas["k1"])


def test_micro_batches_on_two_replicas_equal_twice_as_many(two_replicas, four_replicas):
    assert_same_step(two_replicas["k2"], four_replicas["k1"])


def test_micro_batches_under_xla_and_mixed_precision(one_device, two_replicas):
    # XLA reorders float32 arithmetic (see model_test's jit test). Float16
    # micro-batches compute what float16 replicas compute.
    assert_same_step(one_device["k2_jit"], one_device["k2"], tolerance=1e-4)
    assert_same_step(one_device["k2_mixed"], two_replicas["k1_mixed"], tolerance=1e-2)
    # Unscaled: float16 moves the weights about as float32 does (its
    # round-off changes the first layer's step by up to 20%), not 1024 times
    # more.
    assert_same_step(one_device["k2_mixed"], one_device["k2"], tolerance=0.5)


def conv_outputs(images, kernel):
    """The tiny encoder's 3x3 'valid' convolution, in NumPy."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (3, 3), axis=(1, 2))
    return np.einsum("byxcij,ijcf->byxf", windows, kernel.astype(np.float64))


def expected_moving_statistics(result, groups):
    """Moving mean and variance after one update with the mean of the groups'
    batch statistics (each group: the images one BN normalization sees)."""
    means, variances = [], []
    for images in groups:
        x = conv_outputs(
            np.concatenate([result["view1"][images], result["view2"][images]]),
            result["kernel"],
        )
        means.append(x.mean(axis=(0, 1, 2)))
        variances.append(x.var(axis=(0, 1, 2)))
    return 0.1 * np.mean(means, 0), 0.9 + 0.1 * np.mean(variances, 0)


def assert_moving_statistics(result, groups, *other_groupings):
    mean, variance = expected_moving_statistics(result, groups)
    for other in ([np.arange(16)],) + other_groupings:  # the test can fail
        other_variance = expected_moving_statistics(result, other)[1]
        assert np.max(np.abs(variance - other_variance)) > 5e-5
    for copy in range(len(result["moving_mean"])):  # identical on each replica
        np.testing.assert_allclose(
            result["moving_mean"][copy], mean, rtol=1e-5, atol=1e-7
        )
        np.testing.assert_allclose(result["moving_variance"][copy], variance, rtol=1e-5)


def test_moving_statistics_are_the_mean_of_the_micro_batches(one_device, two_replicas):
    def chunks(size):
        return np.split(np.arange(16), 16 // size)

    assert_moving_statistics(one_device["k2"], chunks(8))
    assert_moving_statistics(one_device["k4"], chunks(4))
    # Unsynchronized BN on 2 replicas: the mean over all 4 micro-batches,
    # not over those of one replica.
    assert_moving_statistics(two_replicas["k2"], chunks(4), chunks(4)[:2])
    # Synchronized BN: micro-batch i of both replicas (images 0-3 and 8-11,
    # then 4-7 and 12-15) is normalized as one batch.
    groups = [np.r_[0:4, 8:12], np.r_[4:8, 12:16]]
    assert_moving_statistics(two_replicas["k2_sync"], groups, chunks(4))


def data(n, size=8, seed=0):
    rng = np.random.default_rng(seed)
    images = 0.7 * rng.uniform(size=(n, 1, 1, 3)) + 0.3 * rng.uniform(
        size=(n, size, size, 3)
    )
    return images.astype(np.float32), np.clip(
        images[:, :, ::-1] * 0.8 + 0.1, 0, 1
    ).astype(np.float32)


def make_model(micro_batches, **kwargs):
    keras.utils.set_random_seed(1)
    return ks.SimCLR(
        tiny_encoder(8),
        ks.layers.ProjectionHead(2, output_dim=16),
        augment=keras.layers.Identity(),
        temperature=0.5,
        micro_batches=micro_batches,
        **kwargs,
    )


def test_a_batch_of_unknown_size_splits_unevenly():
    # A tf.data batch has no static size (like the last batch of an epoch):
    # 6 images in 4 micro-batches of 2, 2, 1 and 1.
    view1, view2 = data(6)
    model = make_model(4)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.build((None, 8, 8, 3))
    kernel = model.encoder.layers[1].kernel.numpy()
    pairs = tf.data.Dataset.from_tensor_slices((view1, view2)).batch(16)
    history = model.fit(pairs, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    groups = [np.r_[0:2], np.r_[2:4], np.r_[4:5], np.r_[5:6]]
    result = {"view1": view1, "view2": view2, "kernel": kernel}
    mean, variance = expected_moving_statistics(result, groups)
    bn = model.encoder.layers[2]
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance.numpy(), variance, rtol=1e-5)


def test_a_batch_of_unknown_size_needs_an_image_per_micro_batch():
    view1, view2 = data(6)
    model = make_model(8)
    model.compile(optimizer="sgd")
    pairs = tf.data.Dataset.from_tensor_slices((view1, view2)).batch(16)
    # Was a 35-line InvalidArgumentError (issue 19); now one line naming the fix.
    with pytest.raises(
        UserInputError, match="micro_batches=8 needs at least 8 images"
    ) as error:
        model.fit(pairs, epochs=1, verbose=0)
    assert "\n" not in str(error.value)
    assert "got a batch of 6" in str(error.value)
    assert "drop_remainder=True" in str(error.value)


def test_a_last_batch_smaller_than_micro_batches_is_one_line():
    # Issue 19: SimCLR(micro_batches=4).fit(images[:10], batch_size=8).
    images = (data(10)[0] * 255).astype(np.uint8)
    model = make_model(4)
    model.compile(optimizer="sgd")
    with pytest.raises(UserInputError) as error:
        model.fit(images, batch_size=8, epochs=1, verbose=0)
    assert str(error.value) == (
        "micro_batches=4 needs at least 4 images per replica, got a batch of 2 "
        "- the last batch of an epoch? Give fit a number of images that is a "
        "multiple of the batch size, batch a tf.data.Dataset with "
        "drop_remainder=True, or use fewer micro_batches."
    )
    # The full batches still train: a multiple of the batch size works.
    history = model.fit(images[:8], batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_evaluation_in_micro_batches_is_the_whole_batch():
    view1, view2 = data(16)
    labels = np.arange(16) % 4
    results = []
    for micro_batches in (1, 4):
        model = make_model(micro_batches, num_classes=4)
        model.compile(optimizer="sgd")
        results.append(
            model.evaluate(
                (view1, view2), labels, batch_size=16, verbose=0, return_dict=True
            )
        )
    for metric in METRICS:
        np.testing.assert_allclose(results[1][metric], results[0][metric], rtol=1e-6)


def test_micro_batches_survive_the_config():
    model = make_model(4)
    restored = ks.SimCLR.from_config(model.get_config())
    assert restored.micro_batches == 4


@pytest.mark.parametrize("micro_batches", [0, -2, 2.5, "4", True, None])
def test_bad_micro_batches_are_clear_errors(micro_batches):
    with pytest.raises(
        ValueError,
        match=f"micro_batches must be an integer >= 1, got {micro_batches!r}",
    ):
        ks.SimCLR(tiny_encoder(), micro_batches=micro_batches)


def test_micro_batches_must_divide_the_batch():
    view1, view2 = data(12)
    model = make_model(5)
    model.compile(optimizer="sgd")
    with pytest.raises(
        ValueError,
        match="micro_batches=5 must divide the per-replica batch, got 12 images",
    ):
        model.fit((view1, view2), batch_size=12, epochs=1, verbose=0)
