"""Library errors as one-line command-line errors with exit codes."""

import numpy as np
import pytest

from tests.command_line import FLAGS


def test_library_value_errors_are_user_errors():
    import keras_simclr as ks
    from keras_simclr.cli import errors

    with pytest.raises(ValueError) as raised:  # a plain ValueError of the library
        ks.encoders.ResNet(19)
    line, code = errors.user_error_line(raised.value, set(FLAGS))
    assert code == 2 and line == (
        "keras-simclr: error: depth must be one of [18, 34, 50, 101, 152, 200], got 19."
    )
    diverged = ks.runs.NonFiniteLoss(
        "loss is nan at step 7; training stopped — lower the learning rate"
    )
    assert errors.user_error_line(diverged, set(FLAGS)) == (
        "keras-simclr: error: loss is nan at step 7; training stopped — lower the "
        "learning rate",
        1,
    )
    with pytest.raises(ValueError) as raised:  # not the library's: a bug, traced
        np.reshape(np.zeros(3), (2, 2))
    assert errors.user_error_line(raised.value, set(FLAGS)) is None
