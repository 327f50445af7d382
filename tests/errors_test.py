"""Every user-error class of the library is one UserInputError (a ValueError)."""

import pytest

import keras_simclr as ks
from keras_simclr import data, evaluation
from keras_simclr.errors import ModelFileError, UserInputError


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
