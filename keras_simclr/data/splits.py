"""Split strings: a split name with an optional slice, e.g. "train[:80%]".

Folders, arrays and the embedded set cut their splits here; tfds reads its
own split expressions.
"""

import re

import numpy as np

from keras_simclr.data.data_error import DataError

__all__ = ["parse_split", "shuffled_slice", "slice_indices"]

_SLICE = re.compile(r"^(?P<name>[^\[]*)(\[(?P<start>-?\d*%?):(?P<stop>-?\d*%?)\])?$")


def parse_split(split):
    """Splits a split string into its name and slice bounds.

    Args:
        split: a name with an optional slice: "train", "train[:80%]",
            "test[1000:]"; bounds are counts or percentages.

    Returns:
        `(name, start, stop)`: the bounds as written ('' or None when
        absent).

    Raises:
        DataError: `split` is not a name with an optional slice.

    Example:

    >>> parse_split("train[10%:50%]")
    ('train', '10%', '50%')
    """
    match = _SLICE.match(split or "")
    if not match:
        raise DataError(
            f"cannot read split '{split}' — use a name with an optional "
            "slice, e.g. 'train', 'train[:80%]' or 'train[1000:]'."
        )
    return match.group("name"), match.group("start"), match.group("stop")


def _slice_bound(text, total):
    if not text:
        return None
    if text.endswith("%"):
        return int(round(total * int(text[:-1]) / 100))
    return int(text)


def slice_indices(count, start, stop):
    """The indices a slice of `count` items keeps, in order.

    Args:
        count: number of items.
        start, stop: bounds from `parse_split`.

    Returns:
        A `range`.

    Example:

    >>> slice_indices(10, "", "30%")
    range(0, 3)
    """
    return range(count)[slice(_slice_bound(start, count), _slice_bound(stop, count))]


def shuffled_slice(count, start, stop):
    """The indices a slice keeps of a fixed shuffle (seed 0) of `count` items.

    Without a slice, every index in order. With one, "train[:80%]" and
    "train[80%:]" both hold every class of a class-sorted list, and
    together every item once.

    Args:
        count: number of items.
        start, stop: bounds from `parse_split`.

    Returns:
        An int NumPy array of indices.

    Example:

    >>> sorted(shuffled_slice(5, "", "60%").tolist() + shuffled_slice(5, "60%", "").tolist())
    [0, 1, 2, 3, 4]
    >>> shuffled_slice(3, None, None)
    array([0, 1, 2])
    """
    if not (start or stop):
        return np.arange(count)
    return np.random.default_rng(0).permutation(count)[
        slice_indices(count, start, stop)
    ]
