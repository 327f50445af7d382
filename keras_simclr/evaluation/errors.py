"""The error of evaluation's inputs and settings."""

from keras_simclr import errors

__all__ = ["EvaluationError"]


class EvaluationError(errors.UserInputError):
    """A user error in an evaluation's inputs or settings.

    The message says what was given, what is expected and the fix; the
    command line prints it as one line.

    Example:

    >>> from keras_simclr import evaluation
    >>> try:
    ...     evaluation.class_balanced_subset([0, 1], fraction=0)
    ... except evaluation.EvaluationError as error:
    ...     print(error)
    fraction must be in (0, 1], got 0 — pass the share of labels to keep, e.g. 0.1.
    """
