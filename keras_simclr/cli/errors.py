"""How the command line reports a user's mistake: one line, exit status 2."""

import os
import re
import sys
import traceback

import keras_simclr
from keras_simclr.runs import RunError

_PACKAGE = os.path.dirname(os.path.abspath(keras_simclr.__file__))
# A setting as the library names it: `name=value` or `name >= bound`.
_SETTING = re.compile(r"(?<![-\w])([a-z][a-z0-9_]*)(?==| [<>]=)")


class UsageError(Exception):
    """A mistake in the command line; printed as one line, exit status 2."""


def fail(what, fix):
    """Raises `UsageError("<what> — <fix>")`."""
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
        what = flag(head) + what[head.end():]
    return what + (" — " + _SETTING.sub(flag, fix) if fix else "")


def user_error_line(error, flag_names):
    """The one line to print for `error`, or None if it is not a user error.

    Args:
        error: the exception a command raised.
        flag_names: the command line's flags.

    Returns:
        (line, exit status) or None.
    """
    if isinstance(error, UsageError):
        return f"keras-simclr: error: {error}", 2
    if isinstance(error, RunError) and not isinstance(error, ValueError):
        # Not the user's mistake, but said in one line: a diverged loss, a
        # full disk.
        return f"keras-simclr: error: {_flag_style(str(error), flag_names)}", 1
    if isinstance(error, ValueError) and _raised_by_the_library(error):
        text = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return f"keras-simclr: error: {_flag_style(text, flag_names)}", 2
    return None


def is_decode_error(error):
    """Whether `error` is TensorFlow's failure to decode an image file."""
    text = str(error)
    return "Invalid JPEG data" in text or "Invalid PNG data" in text or (
        "corrupt or non-JPEG/PNG image file" in text)


def explain_decode_error(error, dataset, split):
    """Names the corrupt file(s) of an image folder, then exits 2."""
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
        print(f"keras-simclr: error: corrupt image file {bad[0]}{more} — delete or "
              "replace it, or pass --skip_corrupt to skip unreadable files",
              file=sys.stderr, flush=True)
        sys.exit(2)
