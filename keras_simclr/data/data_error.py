"""The error of every data source: a dataset the user can fix."""

from keras_simclr import errors

__all__ = ["DataError"]


class DataError(errors.UserInputError):
    """A user error about the data: bad name, missing folder, corrupt file.

    The message says what was given, what is expected and, after " — ", the
    fix; the command line prints it as one line.

    Example:

    >>> import keras_simclr as ks
    >>> try:
    ...     ks.data.describe("shapes", "validation")
    ... except ks.data.DataError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    the 'shapes' dataset has splits ['test', 'train'], not 'validation' —
    pass split='train' or split='test'.
    """
