"""How a `Recipe` field is declared and checked: `setting`, `RecipeError`.

A field's `setting(...)` metadata holds its help text, its range check, the
fix its error message suggests and whether a resumed run must keep it;
`augment_defaults` gives the size-dependent augmentation defaults.
"""

import dataclasses
import math

from keras_simclr import errors, losses
from keras_simclr.layers.augmentation.simclr_augment import (
    SimCLRAugment,
    preset_for_size,
)


class RecipeError(errors.UserInputError):
    """A setting out of range; `field` names it (the command line's flag).

    Args:
        field: the name of the setting.
        message: what was given, what is expected — the fix.

    Example:

    >>> from keras_simclr.recipes import Recipe
    >>> try:
    ...     Recipe.from_preset("cifar10", epochs=0)
    ... except RecipeError as error:
    ...     print(error.field)
    epochs
    """

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def augment_defaults(image_size):
    """The augmentation settings SimCLR uses for `image_size`.

    Args:
        image_size: the larger side of the images, in pixels.

    Returns:
        A dict `strength`, `blur`: CIFAR-10's (0.5, no blur) up to
        `SMALL_IMAGE_MAX` px, ImageNet's (1.0, blur) above.

    Example:

    >>> augment_defaults(32)
    {'strength': 0.5, 'blur': False}
    """
    preset = SimCLRAugment.PRESETS[preset_for_size(image_size)]
    return {"strength": preset["strength"], "blur": preset["blur"]}


def _finite(low=None, high=None):
    def check(value):
        return (
            math.isfinite(value)
            and (low is None or value >= low)
            and (high is None or value <= high)
        )

    return check


def _is_temperature(value):
    try:
        losses.check_temperature(value)
    except ValueError:
        return False
    return True


def setting(
    default,
    help,
    check=None,
    fix="",
    choices=None,
    resume=False,
    what="is out of range",
):
    """Declares one `Recipe` field.

    Args:
        default: the value without a preset (None: automatic or unset).
        help: one line for `--help`.
        check: a predicate on non-None values; False raises `RecipeError`.
        fix: what to pass instead, ends the error message.
        choices: the allowed strings, for an enum flag.
        resume: whether resuming a run needs the same value.
        what: what a failed check says of the value.

    Returns:
        A `dataclasses.field`.

    Example:

    >>> field = setting(0.1, "Temperature.", check=lambda v: v > 0, fix="a value > 0")
    >>> field.default, field.metadata["fix"]
    (0.1, 'a value > 0')
    """
    return dataclasses.field(
        default=default,
        metadata=dict(
            help=help, check=check, fix=fix, choices=choices, resume=resume, what=what
        ),
    )
