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


def test_a_corrupt_file_fix_names_skip_corrupt_only_where_the_command_reads_it(
    capsys,
):
    import tensorflow as tf

    from keras_simclr.cli import commands, errors

    error = tf.errors.InvalidArgumentError(
        None, None, "Invalid JPEG data or crop window, image file: photos/cat/1.jpg"
    )
    for command in ("pretrain", "linear-eval"):
        can_skip = "skip_corrupt" in commands.COMMANDS[command].flags
        with pytest.raises(SystemExit) as exit:
            errors.explain_decode_error(error, "photos", "train", can_skip)
        assert exit.value.code == 2
        assert capsys.readouterr().err == (
            "keras-simclr: error: corrupt image file photos/cat/1.jpg — delete or "
            "replace it"
            + (", or pass --skip_corrupt to skip unreadable files" if can_skip else "")
            + "\n"
        )
