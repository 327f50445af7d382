"""The error of distillation's inputs and settings, and the checks that raise it."""

import tensorflow as tf

from keras_simclr import errors

__all__ = [
    "DistillationError",
    "check_alpha",
    "check_temperature",
    "checked",
    "label_check",
]


class DistillationError(errors.UserInputError):
    """A user error in distillation's inputs or settings (one-line message).

    Example:

    >>> from keras_simclr.distillation import distillation_loss
    >>> try:
    ...     distillation_loss([[0.0, 1.0]], [[0.0, 1.0]], temperature=0)
    ... except DistillationError as error:
    ...     print(str(error).split(",")[0])
    temperature must be a finite number > 0
    """


def checked(check, *args):
    """Runs one of `keras_simclr.errors`' checks; its error as a DistillationError.

    Args:
        check: a check of `keras_simclr.errors`, e.g. `check_positive_int`.
        *args: its arguments.

    Returns:
        What `check` returns.

    Raises:
        DistillationError: the check failed; its message.

    Example:

    >>> checked(keras_simclr.errors.check_positive_int, "epochs", 0)
    Traceback (most recent call last):
    ...
    keras_simclr.distillation.errors.DistillationError: epochs must be >= 1, got 0.
    """
    try:
        return check(*args)
    except errors.UserInputError as error:
        raise DistillationError(str(error)) from None


def check_temperature(temperature):
    """Returns the temperature T of distillation's softmaxes as a float.

    `keras_simclr.errors.check_positive_number` with distillation's hint,
    not `keras_simclr.losses.check_temperature`, whose hint gives SimCLR's
    pretraining temperatures; its error is a `DistillationError`.

    Args:
        temperature: what the user passed; a finite real number > 0.

    Returns:
        The temperature, a Python float.

    Raises:
        DistillationError: a temperature that is not a finite number > 0.

    Example:

    >>> check_temperature(0)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.distillation.errors.DistillationError: temperature must be a finite
    number > 0, got 0. SimCLRv2 distils at temperature=1.0.
    >>> check_temperature(np.float32(2.0))
    2.0
    """
    return checked(
        errors.check_positive_number,
        "temperature",
        temperature,
        "SimCLRv2 distils at temperature=1.0.",
    )


def check_alpha(alpha):
    """Returns `alpha`, the weight of the label loss, as a float if finite and >= 0.

    Args:
        alpha: what the user passed.

    Returns:
        `float(alpha)`.

    Raises:
        DistillationError: not a finite real number >= 0.

    Example:

    >>> check_alpha(0)
    0.0
    """
    return checked(
        errors.check_positive_number,
        "alpha",
        alpha,
        "Use 0 to distil on unlabelled images only.",
        True,
    )


def label_check(labels, classes):
    """The in-graph check of a batch's labels: all < the student's classes.

    An `errors.graph_check`: on TensorFlow it runs in the training step, on
    JAX in the `tf.data` pipeline feeding it; under
    `errors.graph_errors_as_user_errors` (`Distillation.fit`) a failure is
    one line.

    Args:
        labels: int tensor of the batch's labels (< 0: unlabelled).
        classes: the student's number of classes.

    Returns:
        The assert op (run it before the labels are used).

    Example:

    >>> @tf.function
    ... def checked(labels):
    ...     label_check(labels, 4)
    >>> try:
    ...     with errors.graph_errors_as_user_errors():
    ...         checked(tf.constant([1, 7]))
    ... except errors.UserInputError as error:
    ...     print(str(error).split(" — ")[0])
    labels must be < the number of classes of the student, 4, got 7
    """
    return errors.graph_check(
        tf.reduce_all(labels < classes),
        "labels must be < the number of classes of the student, ",
        classes,
        ", got ",
        tf.reduce_max(labels),
        " — pass class ids in 0..classes-1 and ids < 0 for unlabelled images",
    )
