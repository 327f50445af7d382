"""The library's user errors, and the checks of numbers every module shares.

Every error a user can fix by changing what they pass is a
`UserInputError` (a `ValueError`) whose one-line message names the
argument, what it got and the fix; the command line prints it as one line
and exits with status 2. Modules raise the subclasses of their concept
(`data.DataError`, `evaluation.EvaluationError`, ...).
"""

import contextlib
import math
import numbers
import re

import numpy as np
import tensorflow as tf

__all__ = [
    "ModelFileError",
    "NonFiniteLoss",
    "UserInputError",
    "check_momentum",
    "check_positive_int",
    "check_positive_number",
    "graph_check",
    "graph_errors_as_user_errors",
]

# Starts the message of every check that runs inside a compiled step, so
# that `graph_errors_as_user_errors` can tell them from TensorFlow's own.
_GRAPH_CHECK_MARK = "keras_simclr input error: "


class UserInputError(ValueError):
    """A user error: bad argument, data or file; the message says the fix.

    A `ValueError`, so `except ValueError` catches it too. The message is
    one line: what was given, what is expected, then ` — ` and the fix.

    Args:
        *args: the message, as for any exception.

    Example:

    >>> try:
    ...     keras_simclr.losses.NTXent(temperature=0)
    ... except keras_simclr.errors.UserInputError as error:
    ...     print(error)
    temperature must be a finite number > 0, got 0. SimCLR uses 0.1 ...
    >>> issubclass(keras_simclr.errors.UserInputError, ValueError)
    True
    """


class ModelFileError(UserInputError):
    """A model file (.keras or SavedModel) that is missing or damaged.

    Args:
        *args: the message, naming the file.

    Example:

    >>> try:
    ...     keras_simclr.saving.load_model("missing.keras")
    ... except ModelFileError as error:
    ...     print(error)
    no model file missing.keras — check the path.
    """


def _real_scalar(value):
    """`value` as a float if it is a real, non-boolean scalar, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, numbers.Real):
        return float(value)
    return None


def check_positive_number(name, value, hint="", allow_zero=False):
    """Returns `value` as a float if it is a finite real number > 0.

    Python and NumPy scalars (`np.float32(0.5)`) and 0-d arrays are
    accepted; booleans, strings, inf and NaN are not.

    Args:
        name: the argument's name, for the message.
        value: what the user passed.
        hint: a sentence appended to the message (typical values).
        allow_zero: accept 0 too (a finite number >= 0).

    Returns:
        `float(value)`.

    Raises:
        UserInputError: `value` is not a finite real number > 0.

    Example:

    >>> check_positive_number("temperature", np.float32(0.5))
    0.5
    >>> check_positive_number("temperature", float("nan"), hint="Try 0.1.")
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: temperature must be a finite number > 0, got nan. Try 0.1.
    """
    number = _real_scalar(value)
    low_ok = number is not None and (number >= 0 if allow_zero else number > 0)
    if number is None or not math.isfinite(number) or not low_ok:
        shown = repr(value) if number is None else f"{number:g}"
        raise UserInputError(
            f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, "
            f"got {shown}." + (f" {hint}" if hint else "")
        )
    return number


def check_positive_int(name, value, minimum=1):
    """Returns `value` as an int if it is an integer >= `minimum`.

    Args:
        name: the argument's name, for the message.
        value: what the user passed (Python or NumPy integer).
        minimum: the smallest value allowed.

    Returns:
        `int(value)`.

    Raises:
        UserInputError: `value` is not an integer, or is below `minimum`.

    Example:

    >>> check_positive_int("batch_size", np.int64(512))
    512
    >>> check_positive_int("batch_size", 1, minimum=2)
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: batch_size must be >= 2, got 1.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise UserInputError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise UserInputError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def graph_check(condition, *message):
    """A check of values known only when the graph runs (a batch's pixels).

    A `tf.debugging.Assert` whose message is the concatenation of
    `message` (strings and scalar tensors, printed by value); under
    `graph_errors_as_user_errors` (`SimCLR.fit` and `evaluate`) a failure
    becomes a one-line `UserInputError`. Like every assert, it is a no-op
    under XLA (`jit_compile=True`) and on TPUs. Message strings must not
    contain square brackets.

    Args:
        condition: a scalar bool tensor, True when the input is fine.
        *message: strings and scalar tensors.

    Returns:
        The assert op (run it before what it guards, with
        `tf.control_dependencies`, in graphs without automatic control
        dependencies).

    Example:

    >>> @tf.function
    ... def mean_pixel(x):
    ...     check = graph_check(tf.reduce_all(tf.math.is_finite(x)),
    ...                         "images hold NaN or Inf at step ", 7)
    ...     with tf.control_dependencies([check]):
    ...         return tf.reduce_mean(x)
    >>> float(mean_pixel(tf.ones((2, 2))))
    1.0
    >>> with graph_errors_as_user_errors():
    ...     mean_pixel(tf.constant([float("nan")]))
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: images hold NaN or Inf at step 7
    """
    return tf.debugging.Assert(condition, [_GRAPH_CHECK_MARK, *message], summarize=1)


@contextlib.contextmanager
def graph_errors_as_user_errors():
    """Re-raises failed `graph_check`s as one-line `UserInputError`s.

    Other errors pass through unchanged.

    Returns:
        A context manager (it yields nothing); wrap the code that runs the
        compiled steps, e.g. `model.fit(...)`.

    Raises:
        UserInputError: a `graph_check` failed inside the block; the
            message is the check's, without TensorFlow's traceback.

    Example:

    >>> @tf.function
    ... def checked_batch_size(n):
    ...     check = graph_check(n >= 2, "batch of ", n, " image, need >= 2")
    ...     with tf.control_dependencies([check]):
    ...         return tf.identity(n)
    >>> with graph_errors_as_user_errors():
    ...     checked_batch_size(tf.constant(1))
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: batch of 1 image, need >= 2
    """
    try:
        yield
    except tf.errors.InvalidArgumentError as error:
        text = str(error)
        start = text.find("[" + _GRAPH_CHECK_MARK)
        if start < 0:
            raise
        line = text[start:].splitlines()[0]
        parts = re.findall(r"\[([^\]]*)\]", line)
        raise UserInputError("".join(parts)[len(_GRAPH_CHECK_MARK) :]) from None


class NonFiniteLoss(ArithmeticError):
    """The loss (or a weight) became NaN or infinite; nothing was saved.

    Raised by pretraining runs, linear evaluation, fine-tuning and
    distillation. An `ArithmeticError`, not a user error: the fix is a
    lower learning rate (pretraining runs then resume from the last
    checkpoint). Also `keras_simclr.runs.NonFiniteLoss`.

    Args:
        message: `<what> — <how to fix>`, naming the step or epoch.
        field: the setting the message names, or None.

    Attributes:
        field: as given.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> x = np.full((2, 3), np.nan, "float32")
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     model.fit(x, np.zeros((2, 2)), batch_size=1, verbose=0, callbacks=[
    ...         keras_simclr.runs.AtomicCheckpoint("checkpoints", 10)])
    ... except NonFiniteLoss as error:
    ...     print(error)
    loss is nan at step 1; training stopped, the last checkpoint (step 0) is kept —
    lower the learning rate, then run again to resume from it
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def check_momentum(name, value, hint="Use a momentum in [0, 1], e.g. 0.9."):
    """Returns `value` as a float if it is a momentum: a finite number in [0, 1].

    Args:
        name: the argument's name, for the message.
        value: what the user passed.
        hint: the fix the message ends with.

    Returns:
        `float(value)`.

    Raises:
        UserInputError: not a finite real number in [0, 1] (as Keras's SGD).

    Example:

    >>> check_momentum("momentum", 0.9)
    0.9
    >>> check_momentum("momentum", -3)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: momentum must be a finite number >= 0,
    got -3. Use a momentum in [0, 1], e.g. 0.9.
    """
    number = check_positive_number(name, value, hint, allow_zero=True)
    if number > 1:
        raise UserInputError(f"{name} must be in [0, 1], got {number:g}. {hint}")
    return number
