"""Every user-error class of the library is one UserInputError (a ValueError)."""

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
