"""Evaluation on JAX against TensorFlow: the same encoder and data give the same numbers."""

import functools

import numpy as np

from tests.replicas import run_with_replicas

# Features, kNN, linear evaluation and fine-tuning from one encoder. One
# batch per epoch: Keras's trainers draw tf.data's reshuffled epochs in a
# different order (JAX's reads a batch to build the model), and a batch's
# gradient does not depend on the order of its images.
EVALUATIONS = """
from keras_simclr import evaluation
from tests.evaluation.patches import patch_data, patch_encoder

train, test = patch_data(96, seed=0), patch_data(32, seed=1)
encoder = patch_encoder(dense=True)
rng = np.random.default_rng(0)
for v in encoder.trainable_weights:
    v.assign(rng.normal(size=v.shape).astype("float32") * 0.3)
features, _ = evaluation.extract_features(encoder, train)
test_features, _ = evaluation.extract_features(encoder, test)
knn = evaluation.knn_accuracy(features, train[1], test_features, test[1], k=5)
linear = evaluation.linear_eval(encoder, train, test, epochs=3, batch_size=96)
model, tuned = evaluation.finetune(encoder, train, test, epochs=2, batch_size=96,
                                   optimizer="momentum", augment=False)
save(features=features, knn=knn,
     linear=[linear[k] for k in ("top1", "top5", "train_top1")],
     tuned=[tuned["top1"], tuned["top5"]],
     tuned_logits=keras.ops.convert_to_numpy(model(test[0][:8] / 255.0)))
"""


@functools.cache
def _run(backend):
    return run_with_replicas(EVALUATIONS, 1, backend=backend)


# Not backend_neutral: each backend runs in its own process; CI's
# TensorFlow pass runs it once.
def test_jax_evaluations_equal_tensorflow():
    tensorflow, jax = _run("tensorflow"), _run("jax")
    np.testing.assert_allclose(jax["features"], tensorflow["features"], atol=1e-5)
    for key in ("knn", "linear", "tuned"):
        np.testing.assert_array_equal(jax[key], tensorflow[key], err_msg=key)
    np.testing.assert_allclose(
        jax["tuned_logits"], tensorflow["tuned_logits"], rtol=1e-5, atol=1e-5
    )
    assert 0.3 < float(tensorflow["knn"]) <= 1.0 and tensorflow["linear"][0] > 0.3
