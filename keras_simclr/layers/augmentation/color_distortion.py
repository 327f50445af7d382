"""ColorDistortion: SimCLR's colour distortion (Chen et al. 2020, appendix A).

Why not `keras.layers.RandomColorJitter`, `RandomGrayscale` and friends: the
jitter applies its ops in a fixed order with no probability, and SimCLR needs
a fresh random order per image, the jitter as a whole with p = 0.8, a clip
after every op, and multiplicative brightness.

A random order per image, vectorised: brightness (B) and contrast (C) are
per-channel affine maps ("A" ops, cheap); saturation (S) and hue (H) act in
HSV space ("X" ops, dearer) and commute with each other exactly (saturation
scales S, hue shifts H, both keep V and stay in [0, 1]). Every one of the 24
orders fits the fixed template A X A A X A once adjacent S and H share an X
slot, so each image runs through six slots, each doing that image's op or
nothing: 4 cheap slots and 2 HSV round trips per image instead of evaluating
all four ops at each of four steps. A table maps each order to its slot codes.

Written with `backend_ops.ops()` (the colour-space maths in `color_ops`): the
same code runs on TensorFlow and on JAX, inside a jitted step or a tf.data map.
"""

import itertools
import math

import keras
import numpy as np

from keras_simclr import errors
from keras_simclr.layers.augmentation import image_inputs
from keras_simclr.layers.augmentation import random_draws as draws
from keras_simclr.layers.augmentation.backend_ops import ops
from keras_simclr.layers.augmentation.base_augmentation_layer import AugmentationLayer
from keras_simclr.layers.augmentation.color_ops import (
    adjust_hsv,
    grayscale,  # noqa: F401 (API)
    luma,
    per_image,
)
from keras_simclr.layers.augmentation.random_draws import check_probability
from keras_simclr.layers.augmentation.xla_chunking import skip_unless

BRIGHTNESS, CONTRAST, SATURATION, HUE = 0, 1, 2, 3
_TEMPLATE = "AXAAXA"
# A-slot codes: 0 nothing, 1 brightness, 2 contrast.
# X-slot codes: bit 0 saturation, bit 1 hue (0 nothing).


def _order_table():
    """(24, 6) int32: the slot codes of each of the 24 orders."""
    rows = []
    for order in itertools.permutations(range(4)):
        steps = []  # (kind, code)
        for op in order:
            if op in (BRIGHTNESS, CONTRAST):
                steps.append(("A", op + 1))
                continue
            bit = 1 << (op - SATURATION)
            if steps and steps[-1][0] == "X":  # S next to H: one slot
                steps[-1] = ("X", steps[-1][1] | bit)
            else:
                steps.append(("X", bit))
        codes, slot = [0] * len(_TEMPLATE), 0
        for kind, code in steps:
            while _TEMPLATE[slot] != kind:
                slot += 1
            codes[slot] = code
            slot += 1
        rows.append(codes)
    return np.array(rows, np.int32)


# SimCLR's colour distortion (Chen et al. 2020, appendix A): the jitter's and
# the grayscale's probabilities, the jitter amplitudes per unit of strength
# (brightness, contrast, saturation, hue) and the largest strength; the hue
# shift, strength * jitter_hue, is at most half the circle.
DEFAULT_COLOR_JITTER_PROB = 0.8
DEFAULT_GRAYSCALE_PROB = 0.2
DEFAULT_JITTER = (0.8, 0.8, 0.8, 0.2)
MAX_STRENGTH = 2.5
MAX_HUE_SHIFT = 0.5
#: The layers' names of the four jitter components, in `DEFAULT_JITTER`'s order.
JITTER_NAMES = tuple(
    f"jitter_{op}" for op in ("brightness", "contrast", "saturation", "hue")
)

ORDERS = np.array(list(itertools.permutations(range(4))), np.int32)
ORDER_TABLE = _order_table()


def is_strength(value):
    """Whether `value` is a colour jitter strength: a number in [0, MAX_STRENGTH].

    Args:
        value: what the user passed.

    Returns:
        bool.

    Example:

    >>> is_strength(1.0), is_strength(3.0), is_strength(float("nan"))
    (True, False, False)
    """
    return draws.is_real(value) and 0.0 <= float(value) <= MAX_STRENGTH


def is_jitter_component(value):
    """Whether `value` is a jitter component: a finite number >= 0.

    Args:
        value: what the user passed.

    Returns:
        bool.

    Example:

    >>> is_jitter_component(0.4), is_jitter_component(-0.1)
    (True, False)
    """
    return draws.is_real(value) and math.isfinite(value) and value >= 0.0


def check_jitter(strength, jitter=DEFAULT_JITTER):
    """Returns the strength and the jitter components as floats, or refuses.

    The one check of `ColorDistortion`'s and `SimCLRAugment`'s colour
    arguments.

    Args:
        strength: the colour jitter strength s, in [0, `MAX_STRENGTH`].
        jitter: (brightness, contrast, saturation, hue) amplitudes per unit
            of strength, each >= 0, with s * hue <= `MAX_HUE_SHIFT`.

    Returns:
        `(strength, jitter)`: a float and a tuple of four floats.

    Raises:
        UserInputError: naming the argument out of range.

    Example:

    >>> check_jitter(0.5, (0.8, 0.8, 0.8, 0.2))
    (0.5, (0.8, 0.8, 0.8, 0.2))
    >>> try:
    ...     check_jitter(2.0, (0.8, 0.8, 0.8, 0.4))
    ... except errors.UserInputError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    the hue shift strength * jitter_hue = 2 * 0.4 = 0.8 is over 0.5
    (half the hue circle) — lower jitter_hue or strength.
    """
    if not is_strength(strength):
        raise errors.UserInputError(
            f"strength must be in [0, {MAX_STRENGTH}], got {strength!r} — "
            "SimCLR uses 1.0 (ImageNet) or 0.5 (CIFAR-10)."
        )
    for name, value in zip(JITTER_NAMES, jitter):
        if not is_jitter_component(value):
            raise errors.UserInputError(
                f"{name} must be a finite number >= 0, got {value!r}."
            )
    strength, jitter = float(strength), tuple(float(v) for v in jitter)
    shift = strength * jitter[HUE]
    if shift > MAX_HUE_SHIFT:
        raise errors.UserInputError(
            f"the hue shift strength * jitter_hue = {strength:g} * "
            f"{jitter[HUE]:g} = {shift:g} is over {MAX_HUE_SHIFT} (half the hue "
            "circle) — lower jitter_hue or strength."
        )
    return strength, jitter


def jitter_ranges(strength, jitter=DEFAULT_JITTER):
    """(brightness, contrast, saturation, hue) ranges for `strength` s.

    With amplitudes a = s * component (as lightly's `SimCLRTransform`):
    brightness (multiplicative, SimCLRv2), contrast and saturation factors
    U[max(0, 1 - a), 1 + a]; hue shift U[-a, a] of the hue circle. The
    defaults are SimCLR's: 0.8 s for the factors, 0.2 s for the hue.

    Args:
        strength: the colour jitter strength s.
        jitter: (brightness, contrast, saturation, hue) amplitudes per unit
            of strength.

    Returns:
        Four (min, max) pairs.

    Example:

    >>> jitter_ranges(0.5)[3]
    (-0.1, 0.1)
    >>> jitter_ranges(1.0, (0.4, 0.4, 0.4, 0.1))[0]
    (0.6, 1.4)
    """
    s = float(strength)
    *factors, hue = (s * float(c) for c in jitter)
    return (*((max(0.0, 1.0 - a), 1.0 + a) for a in factors), (-hue, hue))


def sample_color(
    key,
    batch_size,
    strength=1.0,
    jitter_probability=DEFAULT_COLOR_JITTER_PROB,
    grayscale_probability=DEFAULT_GRAYSCALE_PROB,
    jitter=DEFAULT_JITTER,
):
    """Per-image colour parameters.

    Args:
        key: int32 key of shape (2,).
        batch_size: int or scalar int tensor.
        strength: the colour jitter strength (see `jitter_ranges`).
        jitter_probability: probability of the colour jitter.
        grayscale_probability: probability of the grayscale conversion.
        jitter: the jitter components per unit of strength (see
            `jitter_ranges`).

    Returns:
        dict of (batch,) tensors: `jitter` (bool), `brightness`, `contrast`,
        `saturation`, `hue` (float32), `order` (int32 in [0, 24): index into
        `ORDERS`, the order of the four ops) and `grayscale` (bool).

    Example:

    >>> params = sample_color(draws.normalize_key(0), 4, 0.5)
    >>> sorted(params)  # doctest: +NORMALIZE_WHITESPACE
    ['brightness', 'contrast', 'grayscale', 'hue', 'jitter', 'order',
     'saturation']
    """
    o = ops()
    shape = [batch_size]
    (b, c, s, h) = jitter_ranges(strength, jitter)
    return {
        "jitter": draws.bernoulli(key, draws.TAG_JITTER, shape, jitter_probability),
        "brightness": draws.uniform(key, draws.TAG_BRIGHTNESS, shape, *b),
        "contrast": draws.uniform(key, draws.TAG_CONTRAST, shape, *c),
        "saturation": draws.uniform(key, draws.TAG_SATURATION, shape, *s),
        "hue": draws.uniform(key, draws.TAG_HUE, shape, *h),
        "order": o.minimum(
            o.cast(draws.uniform(key, draws.TAG_ORDER, shape) * 24.0, "int32"), 23
        ),
        "grayscale": draws.bernoulli(key, draws.TAG_GRAY, shape, grayscale_probability),
    }


def color_transform(images, params, channels_axis=-1):
    """Applies `sample_color`'s parameters; float32 [0, 1] in and out.

    Each op as TensorFlow defines it (the reference calls these): brightness
    x * f; contrast as tf.image.adjust_contrast (per-channel mean); saturation
    and hue as tf.image.adjust_saturation / adjust_hue (HSV); clip to [0, 1]
    after each op; then grayscale. A slot no image of the batch uses is
    skipped (`xla_chunking.skip_unless`).

    Args:
        images: float32 (batch, height, width, 3), or (batch, height, 3,
            width) with `channels_axis=2` (faster: every channel is read
            contiguously).
        params: from `sample_color`.
        channels_axis: -1 or 2.

    Returns:
        float32 in [0, 1], the input's shape.

    Example:

    >>> params = sample_color(draws.normalize_key(0), 2, strength=0.0,
    ...                       grayscale_probability=0.0)
    >>> x = np.random.default_rng(0).random((2, 4, 4, 3), "float32")
    >>> y = color_transform(x, params)
    >>> bool(np.abs(np.asarray(y) - x).max() < 1e-5)  # strength 0: no change
    True
    """
    o = ops()
    axis = 3 if channels_axis == -1 else channels_axis
    x = images
    codes = o.take(ORDER_TABLE, params["order"], axis=0)
    codes = o.where(params["jitter"][:, None], codes, 0)
    for slot, kind in enumerate(_TEMPLATE):
        code = codes[:, slot]
        op = _affine_slot if kind == "A" else _hsv_slot
        x = skip_unless(
            o.not_equal(code, 0),
            lambda x, op=op, code=code: op(x, code, params, axis),
            x,
        )
    selected = params["grayscale"]
    return skip_unless(selected, lambda x: _grayscale_where(x, selected, axis), x)


def _affine_slot(x, code, params, axis):
    """Brightness (code 1), contrast (code 2) or nothing (0), per image."""
    o = ops()
    is_contrast = o.equal(code, 2)
    contrast = params["contrast"]
    gain = o.where(
        o.equal(code, 1), params["brightness"], o.where(is_contrast, contrast, 1.0)
    )
    spatial = tuple(a for a in (1, 2, 3) if a != axis)
    mean = o.mean(x, axis=spatial, keepdims=True)
    offset = o.where(per_image(is_contrast), (1.0 - per_image(contrast)) * mean, 0.0)
    # gain 1 and offset 0 leave x exactly as it was.
    return o.clip(per_image(gain) * x + offset, 0.0, 1.0)


def _hsv_slot(x, code, params, axis):
    """Saturation (bit 0) and / or hue (bit 1), or nothing (0), per image."""
    o = ops()
    sat = o.where(o.equal(code % 2, 1), params["saturation"], 1.0)
    shift = o.where(o.greater_equal(code, 2), params["hue"], 0.0)
    y = adjust_hsv(x, sat, shift, channels_axis=axis)
    return o.where(per_image(o.not_equal(code, 0)), y, x)


def _grayscale_where(x, selected, axis):
    return ops().where(per_image(selected), luma(x, axis), x)


@keras.saving.register_keras_serializable(package="keras_simclr")
class ColorDistortion(AugmentationLayer):
    """SimCLR's colour distortion, drawn per image (Chen et al. 2020, app. A).

    With probability `jitter_probability` an image gets the colour jitter:
    brightness (multiplicative, factor U[max(0, 1 - 0.8 s), 1 + 0.8 s]),
    contrast and saturation (factor U[1 - 0.8 s, 1 + 0.8 s]) and hue (shift
    U[-0.2 s, 0.2 s] of the hue circle), in a random order drawn per image,
    each followed by a clip to [0, 1]. The 0.8 and 0.2 are the jitter
    components, as lightly's `cj_bright` etc. (see `jitter_ranges`). Then,
    with probability `grayscale_probability`, grayscale (luma, kept as 3
    channels). `strength` s scales the jitter only: with s = 0 the jitter
    changes nothing and an image comes out unchanged or as its grayscale.

    With `training=False` the layer only converts to float32 in [0, 1].

    Args:
        strength: colour jitter strength s (1.0 for ImageNet, 0.5 for
            CIFAR-10); 0 <= s <= `MAX_STRENGTH` (2.5).
        jitter_probability: probability of the jitter.
        grayscale_probability: probability of the grayscale conversion.
        seed: int or None.
        jitter_brightness, jitter_contrast, jitter_saturation, jitter_hue:
            the jitter components (>= 0; `DEFAULT_JITTER`, SimCLR's, by
            default); the hue shift s * jitter_hue is at most 0.5, half the
            circle.
        **kwargs: base layer arguments such as `name`.

    Returns:
        float32 tensor in [0, 1] of the input's shape.

    Example:

    >>> layer = ColorDistortion(strength=0.5, seed=1)
    >>> tuple(layer(np.random.rand(8, 32, 32, 3).astype("float32")).shape)
    (8, 32, 32, 3)
    """

    def __init__(
        self,
        strength=1.0,
        jitter_probability=DEFAULT_COLOR_JITTER_PROB,
        grayscale_probability=DEFAULT_GRAYSCALE_PROB,
        seed=None,
        *,
        jitter_brightness=DEFAULT_JITTER[BRIGHTNESS],
        jitter_contrast=DEFAULT_JITTER[CONTRAST],
        jitter_saturation=DEFAULT_JITTER[SATURATION],
        jitter_hue=DEFAULT_JITTER[HUE],
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.strength, self.jitter = check_jitter(
            strength,
            (jitter_brightness, jitter_contrast, jitter_saturation, jitter_hue),
        )
        self.jitter_probability = check_probability(
            "jitter_probability", jitter_probability
        )
        self.grayscale_probability = check_probability(
            "grayscale_probability", grayscale_probability
        )

    def _sample(self, key, batch_size, height, width):
        return sample_color(
            key,
            batch_size,
            self.strength,
            self.jitter_probability,
            self.grayscale_probability,
            self.jitter,
        )

    def _apply(self, images, transformation):
        return self.run_compiled(
            _color, images, transformation, tuple(images.shape[1:])
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            strength=self.strength,
            jitter_probability=self.jitter_probability,
            grayscale_probability=self.grayscale_probability,
            **dict(zip(JITTER_NAMES, self.jitter)),
        )
        return config


def _color(images, params):
    return color_transform(image_inputs.to_float32(images, clip=True), params)
