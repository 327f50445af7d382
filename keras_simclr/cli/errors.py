"""How the command line reports a user's mistake: one line, exit status 2."""

import os
import re
import sys
import traceback

import keras_simclr
from keras_simclr.errors import NonFiniteLoss
from keras_simclr.runs import RunError

_PACKAGE = os.path.dirname(os.path.abspath(keras_simclr.__file__))
# A setting as the library names it: `name=value` or `name >= bound`.
_SETTING = re.compile(r"(?<![-\w])([a-z][a-z0-9_]*)(?==| [<>]=)")


class UsageError(Exception):
    """A mistake in the command line; printed as one line, exit status 2.

    Args:
        message: `<what> — <how to fix>`.

    Example:

    >>> user_error_line(UsageError("no --model_dir — pass --model_dir=DIR"), set())
    ('keras-simclr: error: no --model_dir — pass --model_dir=DIR', 2)
    """


def fail(what, fix):
    """Raises `UsageError("<what> — <fix>")`.

    Args:
        what: what is wrong.
        fix: how to fix it.

    Raises:
        UsageError: always.

    Example:

    >>> fail("no --model_dir", "pass --model_dir=DIR (e.g. runs/demo)")
    Traceback (most recent call last):
    ...
    keras_simclr.cli.errors.UsageError: no --model_dir — pass --model_dir=DIR (e.g. runs/demo)
    """
    raise UsageError(f"{what} — {fix}")


def _raised_by_the_library(error):
    """A ValueError of keras_simclr's own, or one raised in its code."""
    if type(error).__module__.startswith("keras_simclr"):
        return True
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and os.path.abspath(frames[-1].filename).startswith(_PACKAGE)


def _flag_style(message, flag_names):
    """Spells the library's `name=value` settings as flags, `--name=value`.

    Only at the start of the message (what is wrong) and anywhere in the fix.
    """
    what, _, fix = message.partition(" — ")

    def flag(match):
        name = match.group(1)
        return f"--{name}" if name in flag_names else match.group(0)

    head = _SETTING.match(what)
    if head:
        what = flag(head) + what[head.end() :]
    return what + (" — " + _SETTING.sub(flag, fix) if fix else "")


def user_error_line(error, flag_names):
    """The one line to print for `error`, or None if it is not a user error.

    Args:
        error: the exception a command raised.
        flag_names: the command line's flags.

    Returns:
        (line, exit status) or None. The library's `name=value` settings
        are spelled as flags, `--name=value`, where `name` is a flag.

    Example:

    >>> error = keras_simclr.runs.RunSettingError(
    ...     "label_fraction=2 is out of range — use label_fraction=0.1")
    >>> user_error_line(error, {"label_fraction"})
    ('keras-simclr: error: --label_fraction=2 is out of range — use --label_fraction=0.1', 2)
    >>> print(user_error_line(KeyError("not a user error"), set()))
    None
    """
    if isinstance(error, UsageError):
        return f"keras-simclr: error: {error}", 2
    if isinstance(error, (RunError, NonFiniteLoss)) and not isinstance(
        error, ValueError
    ):
        # Not the user's mistake, but said in one line: a diverged loss, a
        # full disk.
        return f"keras-simclr: error: {_flag_style(str(error), flag_names)}", 1
    if isinstance(error, ValueError) and _raised_by_the_library(error):
        text = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return f"keras-simclr: error: {_flag_style(text, flag_names)}", 2
    return None


def is_decode_error(error):
    """Whether `error` is TensorFlow's failure to decode an image file.

    Args:
        error: an exception.

    Returns:
        A bool.

    Example:

    >>> jpeg = tf.io.encode_jpeg(tf.zeros((8, 8, 3), tf.uint8)).numpy()
    >>> try:
    ...     tf.io.decode_jpeg(jpeg[:len(jpeg) // 2])  # a truncated file
    ... except tf.errors.InvalidArgumentError as error:
    ...     print(is_decode_error(error))
    True
    """
    text = str(error)
    return (
        "Invalid JPEG data" in text
        or "Invalid PNG data" in text
        or ("corrupt or non-JPEG/PNG image file" in text)
    )


def explain_decode_error(error, dataset, split, can_skip=True):
    """Names the corrupt file(s) of an image folder, then exits 2.

    The file comes from TensorFlow's message, else from decoding every
    image of `dataset`'s `split` once.

    Args:
        error: the decode error (`is_decode_error(error)` is True).
        dataset: the --dataset flag (an image folder, or another source).
        split: the --split flag.
        can_skip: whether the command reads --skip_corrupt (pretrain), so
            that the fix may suggest it.

    Returns:
        None, when no corrupt file is found (the caller re-raises
        `error`); otherwise it does not return.

    Raises:
        SystemExit: status 2, after one line on stderr naming the file.

    Example:

    >>> import contextlib, sys
    >>> error = tf.errors.InvalidArgumentError(
    ...     None, None, "Invalid JPEG data or crop window, image file: photos/cat/1.jpg")
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     with contextlib.redirect_stderr(sys.stdout):
    ...         explain_decode_error(error, "photos", "train")
    ... except SystemExit as exit:
    ...     print("status", exit.code)
    keras-simclr: error: corrupt image file photos/cat/1.jpg — delete or replace it,
    or pass --skip_corrupt to skip unreadable files
    status 2
    """
    from keras_simclr import data
    from keras_simclr.data.folders import folder_split

    match = re.search(r"image file:\]?\s*\[?([^\]\n]+)", str(error))
    bad = [match.group(1).strip()] if match else []
    dataset = dataset or ""
    if not bad and os.path.isdir(os.path.expanduser(dataset)):
        paths, _, _ = folder_split(os.path.expanduser(dataset), split)
        bad = data.find_corrupt_images(paths)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        skip = ", or pass --skip_corrupt to skip unreadable files" if can_skip else ""
        print(
            f"keras-simclr: error: corrupt image file {bad[0]}{more} — delete or "
            f"replace it{skip}",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(2)
