"""What can stop a run, each said in one line: `<what> — <how to fix>`."""

from keras_simclr.errors import NonFiniteLoss, UserInputError  # noqa: F401 (re-export)


class RunError(Exception):
    """A run cannot go on; the message is one line.

    The base of the run API's errors; catch it to handle every one.

    Args:
        message: `<what> — <how to fix>`.
        field: the setting the message names, or None.

    Attributes:
        field: the setting the message names (for the command line's flag
            spelling), or None.

    Example:

    >>> error = RunSettingError("label_fraction=2 is out of range — use a "
    ...                         "fraction in (0, 1]", field="label_fraction")
    >>> isinstance(error, RunError), error.field
    (True, 'label_fraction')
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class RunSettingError(RunError, UserInputError):
    """A bad argument, or a model_dir that holds a different run.

    A `keras_simclr.errors.UserInputError` (so a `ValueError`) too.

    Args:
        message: `<what> — <how to fix>`.
        field: the setting the message names, or None.

    Example:

    >>> try:
    ...     keras_simclr.runs.linear_eval("runs/demo", epochs=0)
    ... except RunSettingError as error:
    ...     print(error.field)
    epochs
    """


class CheckpointWriteError(RunError, OSError):
    """A checkpoint could not be written (disk full, no permission...).

    An `OSError`; the previous checkpoints are left intact.

    Args:
        message: `<what> — <how to fix>`, naming the folder and the reason.
        field: None.

    Example:

    >>> issubclass(CheckpointWriteError, OSError)
    True
    """


class RunBusyError(RunSettingError):
    """Another running process holds the run folder's writer lock.

    A `RunSettingError`: the fix is to wait, use another folder, or delete
    the lock of a process that is gone (the message names it).

    Args:
        message: `<what> — <how to fix>`, naming the holder.
        field: "model_dir".

    Example:

    >>> issubclass(RunBusyError, keras_simclr.errors.UserInputError)
    True
    """
