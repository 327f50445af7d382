"""Every user-error class of the library is one UserInputError (a ValueError)."""

import pytest

import keras_simclr as ks
from keras_simclr import data, evaluation
from keras_simclr.errors import ModelFileError, UserInputError

pytestmark = pytest.mark.backend_neutral


def test_every_user_error_is_a_user_input_error():
    from keras_simclr.strategy import StrategyError

    for error in (
        data.DataError,
        data.PipelineError,
        evaluation.EvaluationError,
        StrategyError,
        ModelFileError,
    ):
        assert issubclass(error, UserInputError) and issubclass(error, ValueError)


@pytest.mark.parametrize(
    "make_the_mistake",
    [
        lambda: ks.encoders.ResNet(depth=19),
        lambda: ks.optimizers.LARS(0.1, exclude_from_weight_decay=[3]),
        lambda: ks.schedules.scaled_learning_rate(0.1, 256, rule="cubic"),
        lambda: ks.layers.RandomResizedCrop(8, 8, scale=(0.5, 0.1)),
        lambda: ks.layers.SimCLRAugment(8, 8, strength=3.0),
        lambda: ks.layers.ColorDistortion(strength=-1.0),
        lambda: ks.layers.GaussianBlur(sigma=(2.0, 1.0)),
        lambda: ks.layers.Solarize(threshold=2.0),
        lambda: ks.layers.SelectiveKernelMix(sk_ratio=0),
        lambda: ks.pretrained.load("simclrv2/r50_9x_sk1/pretrained"),
    ],
)
def test_bad_arguments_of_layers_and_builders_raise_user_input_errors(
    make_the_mistake,
):
    with pytest.raises(UserInputError):
        make_the_mistake()


@pytest.mark.parametrize(
    "value, message",
    [
        (-3, "momentum must be a finite number >= 0, got -3."),
        (1.5, "momentum must be in [0, 1], got 1.5."),
        (float("nan"), "momentum must be a finite number >= 0, got nan."),
        ("0.9", "momentum must be a finite number >= 0, got '0.9'."),
    ],
)
def test_check_momentum(value, message):
    from keras_simclr.errors import check_momentum

    assert check_momentum("momentum", 0) == 0.0
    with pytest.raises(UserInputError) as caught:
        check_momentum("momentum", value)
    assert str(caught.value) == message + " Use a momentum in [0, 1], e.g. 0.9."


def test_non_finite_loss_is_one_class_for_runs_and_evaluation():
    from keras_simclr.errors import NonFiniteLoss

    assert ks.runs.NonFiniteLoss is ks.runs.errors.NonFiniteLoss is NonFiniteLoss
    assert issubclass(NonFiniteLoss, ArithmeticError)
    assert not issubclass(NonFiniteLoss, ValueError)  # not the user's mistake
    assert NonFiniteLoss("loss is nan", field="learning_rate").field == "learning_rate"
