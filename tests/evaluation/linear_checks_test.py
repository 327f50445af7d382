"""Bad settings and a test set that is the training set, in linear_eval and finetune."""

import pytest
import tensorflow as tf

from keras_simclr import evaluation
from keras_simclr.errors import UserInputError
from tests.random_images import labelled
from tests.tiny_models import tiny_encoder


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),  # ZeroDivisionError
        ({"epochs": -1}, "epochs must be >= 0"),
        ({"feature_batch_size": 0}, "feature_batch_size must be >= 1"),
        ({"learning_rate": -1.0}, "learning_rate must be a finite number > 0"),
    ],
)
def test_linear_eval_refuses_bad_settings(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        evaluation.linear_eval(
            tiny_encoder(), labelled(), labelled(8, seed=1), **kwargs
        )


def test_evaluation_refuses_the_training_set_as_test_set():
    train = labelled()
    copy = (train[0].copy(), train[1].copy())
    for test in (train, copy):
        with pytest.raises(
            evaluation.EvaluationError, match="test_data is the training data"
        ):
            evaluation.linear_eval(tiny_encoder(), train, test, epochs=1)
    # Datasets (as the command line passes): caught on the features.
    as_dataset = tf.data.Dataset.from_tensor_slices(train)
    with pytest.raises(
        evaluation.EvaluationError, match="test_data is the training data"
    ):
        evaluation.linear_eval(
            tiny_encoder(),
            as_dataset,
            tf.data.Dataset.from_tensor_slices(copy),
            epochs=1,
        )
    with pytest.raises(
        evaluation.EvaluationError, match="test_data is the training data"
    ):
        evaluation.finetune(tiny_encoder(), train, train, epochs=1)
