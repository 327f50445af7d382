"""SimCLR.fit on several replicas on CPU: R replicas must equal one device.

Each strategy size runs in its own process (tests/replicas.py), because
TensorFlow fixes its logical devices once per process.
"""

import numpy as np
import pytest

from tests.replicas import run_with_replicas

ONE_FIT = """
import keras_simclr as ks
keras.utils.set_random_seed(7)
rng = np.random.default_rng(0)
images = (0.7 * rng.uniform(size=(16, 1, 1, 3))
          + 0.3 * rng.uniform(size=(16, 8, 8, 3))).astype(np.float32)
# Deterministic "augmentation": the second view is a fixed transform.
view1, view2 = images, np.clip(images[:, :, ::-1] * 0.8 + 0.1, 0.0, 1.0)
labels = np.arange(16) % 4
from tests.tiny_models import tiny_encoder
with strategy.scope():
    model = ks.SimCLR(tiny_encoder(8), ks.layers.ProjectionHead(2, output_dim=16),
                      augment=keras.layers.Identity(), temperature=0.2,
                      num_classes=4)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    model.build((None, 8, 8, 3))
initial = {v.path: v.numpy() for v in model.weights}
history = model.fit((view1, view2), labels, batch_size=16, epochs=2,
                    shuffle=False, verbose=0)
final = {v.path: v.numpy() for v in model.weights}
names = sorted(initial)
save(names=np.array(names),
     **{f"w{i}": final[k] for i, k in enumerate(names)},
     **{f"init{i}": initial[k] for i, k in enumerate(names)},
     **{k: np.array(v) for k, v in history.history.items()})
"""

SYNC_BN = """
import keras_simclr as ks
rng = np.random.default_rng(0)
x = (rng.normal(size=(8, 5)) * [1, 2, 3, 4, 5] + [0, 1, 2, 3, 4]).astype(np.float32)
R = strategy.num_replicas_in_sync
n = 8 // R
with strategy.scope():
    bn = ks.layers.batch_norm(synchronized=True)
    bn.build((None, 5))

@tf.function
def run(inputs):
    return strategy.run(lambda t: bn(t, training=True), args=(inputs,))

inputs = strategy.experimental_distribute_values_from_function(
    lambda ctx: x[ctx.replica_id_in_sync_group * n:(ctx.replica_id_in_sync_group + 1) * n])
out = np.concatenate([t.numpy() for t in strategy.experimental_local_results(run(inputs))])
save(out=out, moving_mean=bn.moving_mean.numpy(), moving_var=bn.moving_variance.numpy())
"""


@pytest.fixture(scope="module")
def single_device_fit():
    return run_with_replicas(ONE_FIT, 1)


@pytest.mark.parametrize("replicas", [2, 4])
def test_fit_on_replicas_leaves_the_single_device_weights(single_device_fit, replicas):
    multi = run_with_replicas(ONE_FIT, replicas)
    names = list(single_device_fit["names"])
    assert list(multi["names"]) == names
    for i, name in enumerate(names):
        single, distributed = single_device_fit[f"w{i}"], multi[f"w{i}"]
        moved = np.max(np.abs(single - single_device_fit[f"init{i}"]))
        difference = np.max(np.abs(distributed - single))
        print(
            f"{replicas} replicas vs 1: {name}: moved {moved:.2e}, differs by {difference:.2e}"
        )
        # float32 round-off of the update, which is largest where the
        # weights move most (the head, behind a batch norm).
        assert difference <= 1e-5 * max(1.0, moved), name
    for metric in ("loss", "contrastive_accuracy", "contrastive_entropy", "probe_loss"):
        np.testing.assert_allclose(
            multi[metric], single_device_fit[metric], rtol=1e-5, atol=1e-6
        )
    assert not np.allclose(single_device_fit["loss"][0], single_device_fit["loss"][1])


@pytest.mark.parametrize("replicas", [2])
def test_synchronized_batch_norm_uses_global_statistics(replicas):
    out = run_with_replicas(SYNC_BN, replicas)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5)) * [1, 2, 3, 4, 5] + [0, 1, 2, 3, 4]
    mean, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(out["out"], (x - mean) / np.sqrt(var + 1e-5), atol=1e-4)
    np.testing.assert_allclose(out["moving_mean"], 0.1 * mean, atol=1e-5)
    np.testing.assert_allclose(out["moving_var"], 0.9 + 0.1 * var, rtol=1e-5)


AUGMENTED_FIT = """
import keras_simclr as ks
keras.utils.set_random_seed(0)  # The views (and weights) are random draws.
rng = np.random.default_rng(0)
images = rng.integers(0, 256, size=(16, 16, 16, 3), dtype=np.uint8)
from tests.tiny_models import tiny_encoder
with strategy.scope():
    model = ks.SimCLR(tiny_encoder(16), ks.layers.ProjectionHead(2, output_dim=8),
                      temperature=0.5)
    model.compile(optimizer=ks.optimizers.LARS(0.1))
history = model.fit(images, batch_size=16, epochs=2, verbose=0)
save(loss=np.array(history.history["loss"]),
     augment=np.array(type(model.augment).__name__))
"""


def test_raw_images_are_augmented_on_every_replica():
    out = run_with_replicas(AUGMENTED_FIT, 2)
    assert str(out["augment"]) == "SimCLRAugment"
    # Random views of random images: the loss is near log(2N - 1) = log 31.
    assert np.all(np.isfinite(out["loss"]))
    assert np.all(np.abs(out["loss"] - np.log(31)) < 1.0)


UNEVEN_FIT = """
import keras_simclr as ks
from tests.tiny_models import tiny_encoder
images = np.random.default_rng(0).uniform(size=(7, 8, 8, 3)).astype(np.float32)
with strategy.scope():
    model = ks.SimCLR(tiny_encoder(8), ks.layers.ProjectionHead(2, output_dim=8),
                      augment=keras.layers.Identity(), temperature=0.5)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
try:
    model.fit(tf.data.Dataset.from_tensor_slices(images).batch(7), verbose=0)
    save(error=np.array(""))
except ks.errors.UserInputError as error:
    save(error=np.array(str(error)))
"""


def test_fit_names_a_batch_that_does_not_split_over_the_replicas():
    # It used to die in Keras's build: "AddN ... must have the same size".
    error = str(run_with_replicas(UNEVEN_FIT, 2)["error"])
    assert error == (
        "fit's global batch of 7 images does not split evenly over the 2 replicas "
        "(4 + 3): use a batch size that is a multiple of 2, e.g. 8, and drop_remainder=True."
    )
