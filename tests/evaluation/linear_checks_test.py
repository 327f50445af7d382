"""Bad settings and a test set that is the training set, in linear_eval and finetune."""

import re

import pytest
import tensorflow as tf

from keras_simclr import evaluation
from keras_simclr.errors import NonFiniteLoss, UserInputError
from tests.random_images import labelled
from tests.tiny_models import tiny_encoder

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),  # ZeroDivisionError
        ({"epochs": -1}, "epochs must be >= 0"),
        ({"feature_batch_size": 0}, "feature_batch_size must be >= 1"),
        ({"learning_rate": -1.0}, "learning_rate must be a finite number > 0"),
        ({"weight_decay": -10}, "weight_decay must be a finite number >= 0, got -10"),
        ({"momentum": -3}, "momentum must be a finite number >= 0, got -3"),
        ({"momentum": 1.5}, r"momentum must be in \[0, 1\], got 1.5"),
        (
            {"epochs": 0, "augment": True},
            "epochs=0 with augment=True trains nothing",
        ),  # KeyError 'top1'
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


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weight_decay": -10}, "weight_decay must be a finite number >= 0, got -10"),
        ({"momentum": -3}, "momentum must be a finite number >= 0, got -3"),
    ],
)
def test_finetune_refuses_bad_settings(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        evaluation.finetune(
            tiny_encoder(), labelled(), labelled(8, seed=1), epochs=1, **kwargs
        )


def test_a_diverged_loss_raises_instead_of_reporting_an_accuracy():
    # Top-1 0.25 was reported from NaN logits (all pick class 0). The last
    # epoch's mean loss is NaN or inf: which, depends on the reduction order.
    train, test = labelled(), labelled(8, seed=1)
    with pytest.raises(NonFiniteLoss) as caught:
        evaluation.linear_eval(tiny_encoder(), train, test, learning_rate=3e38)
    assert isinstance(caught.value, ArithmeticError)
    assert re.fullmatch(
        r"the linear evaluation loss is (nan|inf) at epoch \d+; training stopped and no "
        r"accuracy is reported — lower learning_rate \(got 3e\+38\)",
        str(caught.value),
    )
    with pytest.raises(NonFiniteLoss, match="the fine-tuning loss is (nan|inf) at"):
        evaluation.finetune(
            tiny_encoder(),
            train,
            test,
            epochs=3,
            batch_size=4,
            learning_rate=3e38,
            optimizer="momentum",
        )
