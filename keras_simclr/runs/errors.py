"""What can stop a run, each said in one line: `<what> — <how to fix>`."""

from keras_simclr.errors import UserInputError


class RunError(Exception):
    """A run cannot go on; the message is one line.

    Attributes:
        field: the setting the message names (for the command line's flag
            spelling), or None.
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class RunSettingError(RunError, UserInputError):
    """A bad argument, or a model_dir that holds a different run."""


class NonFiniteLoss(RunError, ArithmeticError):
    """The loss (or a weight) became NaN or infinite; nothing was saved."""


class CheckpointWriteError(RunError, OSError):
    """A checkpoint could not be written (disk full, no permission...)."""
