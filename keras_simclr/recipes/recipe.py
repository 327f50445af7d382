"""The `Recipe` dataclass: every setting of a pretraining run, and its checks."""

import dataclasses
import functools

from keras_simclr import encoders, losses, optimizers
from keras_simclr.layers.augmentation import color_distortion as color
from keras_simclr.layers.augmentation import gaussian_blur as blur_lib
from keras_simclr.layers.augmentation import random_draws as draws
from keras_simclr.layers.augmentation import random_resized_crop as crop
from keras_simclr.layers.augmentation.simclr_augment import SMALL_IMAGE_MAX
from keras_simclr.recipes.presets import PRESETS
from keras_simclr.recipes.settings import (
    RecipeError,
    _finite,
    _is_temperature,
    augment_defaults,
    check_known,
    check_settings,
    normalise_settings,
    plain_value,
    setting,
)

# The augmentation knobs' checks (the layer's) and fixes.
_PROBABILITY = (draws.is_probability, "a probability in [0, 1]")
_COMPONENT = (color.is_jitter_component, "a finite number >= 0")
_FACTOR = "{} jitter per unit of strength s: factor U[1-a, 1+a], a = s * this."


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The settings of a pretraining run (defaults: the reference TF2 code's).

    None means automatic: `image_size` follows the dataset, `cifar_stem`,
    `blur` and `color_jitter_strength` follow the image size
    (`augment_defaults`), `shuffle_buffer` follows the source, `train_steps`
    follows `epochs`, `checkpoint_steps` is one epoch. `complete` fills them.

    Each field has a type (int, float, bool, str, or tuple: a pair of
    numbers) that `validate` checks; NumPy scalars and JSON's lists are
    taken as the Python values they spell.

    Example:

    >>> recipe = Recipe.from_preset("demo", batch_size=64)
    >>> recipe.resnet_depth
    18
    """

    # --- data
    dataset: str = setting(
        None,
        "A tfds name (cifar10, stl10, imagenet2012, ...), "
        "a folder of images (class sub-folders = labels, flat = "
        "unlabelled), a .npz file (images, labels) or 'shapes' "
        "(embedded, no download).",
        resume=True,
    )
    split: str = setting(
        "train",
        "Split to train on (tfds expressions like "
        "'train+unlabelled' or 'train[:10%]' work).",
        resume=True,
    )
    data_dir: str = setting(None, "tfds data directory.")
    image_size: int = setting(
        None,
        "Side of the square images the network sees.",
        lambda v: v >= 8,
        "at least 8 pixels",
        resume=True,
    )
    augment_on: str = setting(
        "device",
        "Augment the two views inside the training "
        "step (device) or in tf.data on the host CPU (data).",
        choices=("device", "data"),
    )
    shuffle_buffer: int = setting(
        None,
        "Shuffle buffer (default: whole split; 10,000 for tfds; 0: no shuffle).",
        lambda v: v >= 0,
        "0 (no shuffle) or a positive size",
    )
    cache: bool = setting(
        False, "Cache decoded images in memory after the first epoch."
    )
    skip_corrupt: bool = setting(
        False,
        "Skip unreadable image files (one warning line each) instead of stopping.",
    )
    # --- optimisation
    batch_size: int = setting(
        512,
        "Global batch size (all replicas).",
        lambda v: v >= 1,
        "a positive global batch, e.g. 512",
        resume=True,
    )
    micro_batches: int = setting(
        1,
        "Encode each replica's batch in this many "
        "micro-batches (gradient caching: the same loss "
        "and gradient, a micro-batch's activation memory).",
        lambda v: v >= 1,
        "an integer >= 1 (1: the ordinary step)",
    )
    epochs: int = setting(100, "Training epochs.", lambda v: v >= 1, "at least 1 epoch")
    train_steps: int = setting(
        None, "Training steps; overrides --epochs.", lambda v: v >= 1, "at least 1 step"
    )
    learning_rate: float = setting(
        0.3,
        "Base learning rate, scaled by --learning_rate_scaling.",
        _finite(0),
        "a finite, non-negative base learning rate",
    )
    learning_rate_scaling: str = setting(
        "linear",
        "linear: lr * batch / 256; sqrt: lr * sqrt(batch).",
        choices=("linear", "sqrt"),
    )
    warmup_epochs: float = setting(
        10,
        "Epochs of linear warmup before the cosine decay.",
        _finite(0),
        "a finite, non-negative number of warmup epochs",
    )
    weight_decay: float = setting(
        1e-6,
        "Weight decay (coupled L2 for LARS).",
        _finite(0),
        "a finite, non-negative weight decay",
    )
    optimizer: str = setting(
        "lars", "Optimizer.", choices=("lars", "sgd", "adam"), resume=True
    )
    momentum: float = setting(
        optimizers.DEFAULT_MOMENTUM,
        "Momentum of LARS and SGD.",
        _finite(0, 1),
        "a momentum in [0, 1], e.g. 0.9",
    )
    temperature: float = setting(
        losses.DEFAULT_TEMPERATURE,
        "NT-Xent temperature T > 0.",
        _is_temperature,
        "T > 0; SimCLR uses 0.1 (ImageNet) or 0.5 (CIFAR-10)",
    )
    # --- augmentation and model
    color_jitter_strength: float = setting(
        None,
        "Colour distortion strength s.",
        color.is_strength,
        f"a strength in [0, {color.MAX_STRENGTH}] (0.5 or 1.0)",
    )
    blur: bool = setting(
        None, f"Gaussian blur (default: on above {SMALL_IMAGE_MAX} px)."
    )
    # SimCLRAugment's knobs, with the layer's names, defaults and checks.
    crop_scale: tuple = setting(
        crop.DEFAULT_CROP_SCALE,
        "Crop area range low,high, as a fraction of the image (raise low for small images).",
        functools.partial(draws.is_range, high=1.0),
        "0 < low <= high <= 1, e.g. {:g},{:g}".format(*crop.DEFAULT_CROP_SCALE),
    )
    crop_ratio: tuple = setting(
        crop.DEFAULT_CROP_RATIO,
        "Crop aspect ratio (width / height) range low,high, sampled log-uniformly.",
        draws.is_range,
        "finite 0 < low <= high, e.g. {:g},{:.5g}".format(*crop.DEFAULT_CROP_RATIO),
    )
    color_jitter_prob: float = setting(
        color.DEFAULT_COLOR_JITTER_PROB, "Colour jitter probability.", *_PROBABILITY
    )
    grayscale_prob: float = setting(
        color.DEFAULT_GRAYSCALE_PROB, "Grayscale probability.", *_PROBABILITY
    )
    blur_prob: float = setting(
        blur_lib.DEFAULT_BLUR_PROB, "Blur probability (with --blur).", *_PROBABILITY
    )
    jitter_brightness: float = setting(
        color.DEFAULT_JITTER[color.BRIGHTNESS],
        _FACTOR.format("Brightness"),
        *_COMPONENT,
    )
    jitter_contrast: float = setting(
        color.DEFAULT_JITTER[color.CONTRAST], _FACTOR.format("Contrast"), *_COMPONENT
    )
    jitter_saturation: float = setting(
        color.DEFAULT_JITTER[color.SATURATION],
        _FACTOR.format("Saturation"),
        *_COMPONENT,
    )
    jitter_hue: float = setting(
        color.DEFAULT_JITTER[color.HUE],
        "Hue jitter per unit of strength s: shift U[-a, a], a = s * this <= 0.5.",
        *_COMPONENT,
    )
    resnet_depth: int = setting(
        50,
        "ResNet depth: " + ", ".join(map(str, encoders.RESNET_DEPTHS)) + ".",
        lambda v: v in encoders.RESNET_DEPTHS,
        "one of " + ", ".join(map(str, encoders.RESNET_DEPTHS)),
        resume=True,
        what="is not a ResNet",
    )
    width_multiplier: int = setting(
        1, "ResNet width multiplier.", lambda v: v >= 1, "an integer >= 1", resume=True
    )
    sk_ratio: float = setting(
        0.0,
        "Selective kernels with this squeeze ratio (0: none; SimCLRv2: 0.0625).",
        _finite(0),
        "a finite ratio >= 0 (0: no selective kernels, SimCLRv2: 0.0625)",
        resume=True,
    )
    cifar_stem: bool = setting(
        None,
        f"3x3 stride-1 stem, no max-pool (default: images up to {SMALL_IMAGE_MAX} px).",
        resume=True,
    )
    proj_layers: int = setting(
        3,
        "Projection head layers (2: v1, 3: v2).",
        lambda v: v >= 1,
        "at least 1 layer (2: v1, 3: v2)",
        resume=True,
    )
    proj_dim: int = setting(
        128,
        "Projection output width.",
        lambda v: v >= 1,
        "a positive width, e.g. 128",
        resume=True,
    )
    head_layer: int = setting(
        0,
        "Projection-head layer that fine-tuning starts "
        "from (0 = h; SimCLRv2: 1); finetune's default.",
        lambda v: v >= 0,
        "0 (h) or a head layer, e.g. 1",
    )
    probe: bool = setting(
        True, "Online linear probe on h when the data has labels.", resume=True
    )
    mixed_precision: bool = setting(
        False, "bfloat16 on CPU/TPU, float16 on GPU.", resume=True
    )
    jit_compile: bool = setting(False, "Compile the training step with XLA.")
    # --- run
    checkpoint_steps: int = setting(
        None,
        "Save resume state every N steps (default: every epoch).",
        lambda v: v >= 1,
        "at least 1 step",
    )
    seed: int = setting(
        0,
        "Seed of initialisation, shuffling and augmentation.",
        lambda v: v >= 0,
        "a non-negative seed, e.g. 0",
    )
    deterministic: bool = setting(
        False,
        "Bit-reproducible runs (tf.config.experimental.enable_op_determinism; slower).",
    )
    export: bool = setting(
        True, "Export the encoder to model_dir/saved_encoder at the end."
    )
    preset: str = setting(None, "The preset the recipe started from (a record).")

    def __post_init__(self):
        normalise_settings(self)

    @classmethod
    def from_preset(cls, name, **overrides):
        """The recipe `PRESETS[name]`, with `overrides` on top.

        Args:
            name: a key of `PRESETS`.
            **overrides: fields to change.

        Returns:
            A validated `Recipe`.

        Raises:
            RecipeError: unknown preset or field, or a value out of range.

        Example:

        >>> Recipe.from_preset("imagenet", batch_size=1024).learning_rate
        0.075
        """
        check_known("preset", [name], PRESETS)
        return cls.from_dict(dict(PRESETS[name], preset=name, **overrides))

    @classmethod
    def from_dict(cls, values):
        """A validated recipe from a dict of fields (e.g. a run's config.json).

        Args:
            values: {field name: value}.

        Returns:
            A `Recipe`.

        Raises:
            RecipeError: an unknown field, a value of the wrong type (a
                string for a bool, 8.0 for an int) or out of range.

        Example:

        >>> Recipe.from_dict({"batch_size": 64}).batch_size
        64
        >>> Recipe.from_dict({"blur": "false"})  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        keras_simclr.recipes.settings.RecipeError: blur='false' is not a boolean
        — use true or false, without quotes
        """
        check_known(None, values, [f.name for f in dataclasses.fields(cls)])
        return cls(**values).validate()

    def to_dict(self):
        """The fields as a JSON-serialisable dict.

        Returns:
            {field name: value}.

        Example:

        >>> Recipe.from_preset("demo").to_dict()["dataset"]
        'shapes'
        """
        return dataclasses.asdict(self)

    def replace(self, **changes):
        """A validated copy with `changes`.

        Args:
            **changes: fields to change.

        Returns:
            A new `Recipe`.

        Raises:
            RecipeError: a changed value out of range.

        Example:

        >>> Recipe.from_preset("demo").replace(epochs=2).epochs
        2
        """
        return dataclasses.replace(self, **changes).validate()

    def validate(self):
        """Checks every setting.

        Returns:
            self.

        Raises:
            RecipeError: naming the first bad setting: a value of the wrong
                type or out of range.

        Example:

        >>> Recipe.from_preset("demo").validate().preset
        'demo'
        >>> Recipe(batch_size="8").validate()  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        keras_simclr.recipes.settings.RecipeError: batch_size='8' is not an
        integer — use an integer: a positive global batch, e.g. 512
        """
        check_settings(self)
        return self

    def complete(self, info):
        """Fills the automatic settings from the dataset's `DatasetInfo`.

        Args:
            info: `keras_simclr.data.describe(...)` of the training split.

        Returns:
            A new `Recipe` without automatic values (but `shuffle_buffer`,
            `train_steps`, `checkpoint_steps`, which the run resolves).

        Raises:
            RecipeError: an image size too small for the ImageNet stem.

        Example:

        >>> from keras_simclr import data
        >>> recipe = Recipe.from_preset("demo", image_size=None).complete(
        ...     data.describe("shapes", "train"))
        >>> recipe.image_size, recipe.probe
        (32, True)
        """
        size = self.image_size or (info.image_size[0] if info.image_size else 224)
        small = size <= SMALL_IMAGE_MAX
        defaults = augment_defaults(size)
        recipe = dataclasses.replace(
            self,
            image_size=size,
            cifar_stem=small if self.cifar_stem is None else self.cifar_stem,
            blur=defaults["blur"] if self.blur is None else self.blur,
            color_jitter_strength=(
                defaults["strength"]
                if self.color_jitter_strength is None
                else self.color_jitter_strength
            ),
            # Nothing to probe on an unlabelled split.
            probe=bool(self.probe and info.num_classes is not None),
        )
        if not recipe.cifar_stem and size < 32:
            raise RecipeError(
                "image_size",
                f"image_size={size} is too small for the "
                "ImageNet stem (/32 downsampling) — use cifar_stem or "
                "image_size >= 32",
            )
        return recipe

    def resume_differences(self, saved):
        """The settings that a resumed run must share and that differ.

        Args:
            saved: the dict of the run that wrote the checkpoint.

        Returns:
            [(name, saved value, this value)], empty when compatible.

        Example:

        >>> recipe = Recipe.from_preset("demo")
        >>> recipe.resume_differences(recipe.replace(epochs=9).to_dict())
        []
        """
        return [
            (f.name, saved[f.name], getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata["resume"]
            and f.name in saved
            and plain_value(f.type, saved[f.name]) != getattr(self, f.name)
        ]
