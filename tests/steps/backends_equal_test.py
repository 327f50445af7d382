"""SimCLR's step on JAX gives TensorFlow's numbers.

The same initial weights and the same views, given as `((view1, view2),
labels)`, train ResNet-18 (CIFAR stem) with LARS and the online probe for
two steps in a TensorFlow process and in a JAX process: loss, metrics and
every weight (batch-norm statistics included) agree to 1e-5.

The learning rate is small (0.001) because the backends sum in different
orders: a batch-norm scale that starts at 0 (the last of each residual
branch) gets LARS's trust ratio 1, so its update is the raw gradient, a sum
over 16 x 32 x 32 pixels that cancels to about 1% of its terms. Its
float32 round-off, about 1e-7 of the terms, is then 1e-5 of the gradient:
at the reference's 0.3 x 16 / 256 = 0.019 the two backends' weights differ
by up to 1e-4 after two steps, and by 1e-5 at 0.001.
"""

import os

import numpy as np
import pytest

from tests.replicas import run_with_replicas

_TWO_STEPS = """
import keras_simclr as ks
keras.utils.set_random_seed(0)
encoder = ks.encoders.ResNet(18, cifar_stem=True, input_shape=(32, 32, 3))
model = ks.SimCLR(encoder, temperature=0.5, num_classes=10)
model.build(((None, 32, 32, 3), (None, 32, 32, 3)))
if os.path.exists(INITIAL):
    model.load_weights(INITIAL)
else:
    model.save_weights(INITIAL)
initial = np.concatenate([np.ravel(w) for w in model.get_weights()])
model.compile(optimizer=ks.optimizers.LARS(
    0.001, weight_decay=1e-4, exclude_from_weight_decay=["probe", "batch_normalization", "bias"]))
rng = np.random.default_rng(0)
views = rng.random((2, 16, 32, 32, 3), dtype=np.float32)
labels = np.arange(16) % 10
batches = tf.data.Dataset.from_tensors(((views[0], views[1]), labels)).repeat(2)
history = model.fit(batches, verbose=0).history
save(initial=initial, weights=np.concatenate([np.ravel(w) for w in model.get_weights()]),
     **{name: np.array(values) for name, values in history.items()})
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    initial = os.path.join(tmp_path_factory.mktemp("weights"), "initial.weights.h5")
    snippet = f"INITIAL = {initial!r}\n" + _TWO_STEPS
    tensorflow = run_with_replicas(snippet, 1)
    jax = run_with_replicas(snippet, 1, backend="jax")
    return tensorflow, jax


def test_two_steps_give_the_same_loss_and_metrics(runs):
    tensorflow, jax = runs
    names = sorted(set(tensorflow) - {"weights", "initial"})
    assert names == [
        "contrastive_accuracy",
        "contrastive_entropy",
        "loss",
        "probe_accuracy",
        "probe_loss",
    ]
    for name in names:
        np.testing.assert_allclose(jax[name], tensorflow[name], rtol=1e-5, err_msg=name)


def test_two_steps_give_the_same_weights(runs):
    tensorflow, jax = runs
    assert tensorflow["weights"].size > 11_000_000  # ResNet-18, head, probe
    np.testing.assert_allclose(jax["weights"], tensorflow["weights"], atol=1e-5)
    # The steps moved the weights well beyond the tolerance.
    update = np.abs(tensorflow["weights"] - tensorflow["initial"])
    assert update.max() > 1e-3 and (update > 1e-5).sum() > 10_000
