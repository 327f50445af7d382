"""How a `Recipe` field is declared and checked: `setting`, `RecipeError`.

A field's type (int, float, bool, str, or tuple: a pair of numbers) and its
`setting(...)` metadata (help text, range check, the fix its error message
suggests, whether a resumed run must keep it) are all a field declares:
`check_settings` checks a value's type, then its choices and range, and
`plain_value` turns NumPy scalars and JSON's lists into the field's Python
type. `augment_defaults` gives the size-dependent augmentation defaults.
"""

import dataclasses
import math

import numpy as np

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


def _finite(low=0, high=None):
    """A range check: a finite real number in [low, high] (low >= 0)."""

    def check(value):
        try:
            number = errors.check_positive_number("value", value, allow_zero=True)
        except errors.UserInputError:
            return False
        return number >= low and (high is None or number <= high)

    return check


def _is_temperature(value):
    try:
        losses.check_temperature(value)
    except errors.UserInputError:
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


# What a value of each field type must be, as an error message says it.
_KINDS = {
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    str: "a string",
    tuple: "a pair of finite numbers",
}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_kind(kind, value):
    if kind is tuple:
        return (
            isinstance(value, tuple)
            and len(value) == 2
            and all(_is_number(v) and math.isfinite(v) for v in value)
        )
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return _is_number(value)
    return isinstance(value, kind)


def plain_value(kind, value):
    """`value` in a field's Python type where it is only spelled differently.

    NumPy scalars become Python scalars, and for a `tuple` field a list
    (as JSON gives it) becomes a tuple, so that a recipe read back from a
    run's config.json equals the one that wrote it. Anything else is
    returned as it is, for `check_settings` to judge.

    Args:
        kind: the field's type (int, float, bool, str or tuple).
        value: a value given for the field.

    Returns:
        The value, in plain Python types where it can be.

    Example:

    >>> plain_value(tuple, [0.08, np.float32(1.0)])
    (0.08, 1.0)
    >>> plain_value(int, np.int64(8)), plain_value(int, "8")
    (8, '8')
    """
    if isinstance(value, np.generic):
        return value.item()
    if kind is tuple and isinstance(value, list | tuple):
        return tuple(v.item() if isinstance(v, np.generic) else v for v in value)
    return value


def normalise_settings(settings):
    """Sets each field of a (frozen) settings dataclass to its `plain_value`.

    Args:
        settings: an instance of a dataclass whose fields are `setting`s,
            e.g. a `Recipe` (its `__post_init__` calls this).

    Returns:
        None; fields are set in place.

    Example:

    >>> @dataclasses.dataclass(frozen=True)
    ... class Crop:
    ...     scale: tuple = setting((0.08, 1.0), "Crop area range.")
    ...     def __post_init__(self):
    ...         normalise_settings(self)
    >>> Crop(scale=[0.2, 1.0]).scale
    (0.2, 1.0)
    """
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        plain = plain_value(field.type, value)
        if plain is not value:
            object.__setattr__(settings, field.name, plain)


def _type_error(field, value):
    kind, meta = _KINDS[field.type], field.metadata
    if field.type is bool:
        use = "true or false, without quotes"
    elif meta["choices"]:
        use = "one of " + ", ".join(meta["choices"])
    else:
        use = kind + (f": {meta['fix']}" if meta["fix"] else "")
    return RecipeError(field.name, f"{field.name}={value!r} is not {kind} — use {use}")


def check_settings(settings):
    """Checks every field of a settings dataclass: type, choices, range.

    None is allowed everywhere (automatic or unset). Ints must be ints (not
    bool, 8.0 or "8"), floats ints or floats (not bool or strings), bools
    bools (not "false"), strings strings, tuples pairs of finite numbers.

    Args:
        settings: an instance of a dataclass whose fields are `setting`s.

    Raises:
        RecipeError: naming the first bad field, what it got and the fix.

    Example:

    >>> @dataclasses.dataclass(frozen=True)
    ... class Run:
    ...     epochs: int = setting(1, "Epochs.", lambda v: v >= 1, "at least 1 epoch")
    ...     blur: bool = setting(False, "Blur.")
    >>> check_settings(Run(epochs=1.5))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.recipes.settings.RecipeError: epochs=1.5 is not an integer
    — use an integer: at least 1 epoch
    >>> check_settings(Run(blur="false"))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.recipes.settings.RecipeError: blur='false' is not a boolean
    — use true or false, without quotes
    >>> check_settings(Run(epochs=0))
    Traceback (most recent call last):
    ...
    keras_simclr.recipes.settings.RecipeError: epochs=0 is out of range — use at least 1 epoch
    """
    for field in dataclasses.fields(settings):
        value, meta = getattr(settings, field.name), field.metadata
        if value is None:
            continue
        if not _is_kind(field.type, value):
            raise _type_error(field, value)
        if meta["choices"] and value not in meta["choices"]:
            raise RecipeError(
                field.name,
                f"{field.name}={value!r} is not one of "
                f"{', '.join(meta['choices'])} — use one of them",
            )
        if meta["check"] and not meta["check"](value):
            raise RecipeError(
                field.name,
                f"{field.name}={value} {meta['what']} — use {meta['fix']}",
            )


def check_known(field, given, known):
    """Refuses a name of `given` that is not in `known`, in one line.

    Args:
        field: the setting whose values `given` are ("preset"), or None
            when `given` are setting names.
        given: the names to check.
        known: the names allowed.

    Raises:
        RecipeError: naming the first unknown name.

    Example:

    >>> check_known("preset", ["tiny"], ["demo", "cifar10"])
    Traceback (most recent call last):
    ...
    keras_simclr.recipes.settings.RecipeError: preset='tiny' is unknown — use one of demo, cifar10
    """
    unknown = [name for name in given if name not in known]
    if not unknown:
        return
    if field is None:
        raise RecipeError(
            unknown[0],
            f"{unknown[0]} is not a recipe setting — "
            "see keras_simclr.recipes.Recipe for the settings",
        )
    raise RecipeError(
        field, f"{field}={unknown[0]!r} is unknown — use one of {', '.join(known)}"
    )
