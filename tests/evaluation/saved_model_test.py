"""A SavedModel encoder runs on TensorFlow whatever the Keras backend; not in a JAX step."""

import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import backends, evaluation
from tests.evaluation.patches import patch_data

pytestmark = pytest.mark.backend_neutral


class _MeanColour(tf.Module):
    """h = the mean colour: a SavedModel with export_encoder's entry points."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 16, 16, 3], tf.float32),
            tf.TensorSpec([], tf.bool),
        ]
    )
    def __call__(self, images, training=False):
        return {"representation": tf.reduce_mean(images, axis=[1, 2])}

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.uint8)])
    def serve(self, images):
        return self(tf.cast(images, tf.float32) / 255.0, False)


def _saved_encoder(path):
    module = _MeanColour()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    return path


def test_features_of_a_saved_model_on_either_backend(tmp_path):
    path = _saved_encoder(str(tmp_path / "encoder"))
    images, labels = patch_data(20)
    features, got = evaluation.extract_features(path, (images, labels))
    np.testing.assert_allclose(
        features, images.astype(np.float32).mean(axis=(1, 2)) / 255.0, atol=1e-6
    )
    np.testing.assert_array_equal(got, labels)
    train, test = patch_data(40, seed=1), patch_data(16, seed=2)
    if backends.is_jax():
        # augment=True runs the encoder in each training step.
        with pytest.raises(evaluation.EvaluationError) as caught:
            evaluation.linear_eval(path, train, test, epochs=1, augment=True)
        assert str(caught.value) == (
            "augment=True runs the encoder in every training step, and a "
            "SavedModel encoder runs on TensorFlow, not in a step of the jax "
            "backend — pass the run's model.keras, or augment=False, or set "
            "KERAS_BACKEND=tensorflow."
        )
    else:
        results = evaluation.linear_eval(path, train, test, epochs=1, augment=True)
        assert results["feature_dim"] == 3
    results = evaluation.linear_eval(path, train, test, epochs=1)
    assert results["feature_dim"] == 3 and 0 <= results["top1"] <= 1
