"""On JAX, DataParallel over 4 host CPU devices trains as one device does.

`keras.distribution.DataParallel` runs the step on the global batch: the
negatives and batch norm's statistics are global, so weights and moving
statistics after two steps equal the single-device run's, with and without
gradient caching (`micro_batches`).
"""

import numpy as np
import pytest

from tests.replicas import run_with_replicas

_TWO_STEPS = """
import keras_simclr as ks
from tests.tiny_models import tiny_encoder
if distribution is not None:
    keras.distribution.set_distribution(distribution)
keras.utils.set_random_seed(0)
model = ks.SimCLR(tiny_encoder(8), ks.layers.ProjectionHead(2, output_dim=8),
                  temperature=0.5, num_classes=4, micro_batches=MICRO_BATCHES)
model.compile(optimizer=ks.optimizers.LARS(0.5, weight_decay=1e-4))
rng = np.random.default_rng(0)
views = rng.random((2, 16, 8, 8, 3), dtype=np.float32)
labels = np.arange(16) % 4
batches = tf.data.Dataset.from_tensors(((views[0], views[1]), labels)).repeat(2)
history = model.fit(batches, verbose=0).history
save(loss=np.array(history["loss"]),
     weights=np.concatenate([np.ravel(w) for w in model.trainable_weights]),
     statistics=np.concatenate([np.ravel(w) for w in model.non_trainable_weights]))
"""


@pytest.mark.parametrize("micro_batches", [1, 2])
def test_four_devices_equal_one(micro_batches):
    snippet = f"MICRO_BATCHES = {micro_batches}\n" + _TWO_STEPS
    one = run_with_replicas(snippet, 1, backend="jax")
    four = run_with_replicas(snippet, 4, backend="jax")
    for name in ("loss", "weights", "statistics"):
        np.testing.assert_allclose(four[name], one[name], atol=1e-5, err_msg=name)
    # The moving statistics moved: they are global, not one device's.
    assert np.abs(one["statistics"]).max() > 0.01
