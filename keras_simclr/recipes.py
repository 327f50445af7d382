"""Pretraining recipes: every setting of a run, its presets and its checks.

A `Recipe` is the one place where a pretraining setting is declared: its
default, its help text, its range check and whether a resumed run must keep
it. The command line makes one flag per field (`keras_simclr.cli.options`),
`keras_simclr.pretrain` trains from a recipe, and `PRESETS` holds the named
recipes (the settings of Chen et al. 2020, section 4 and appendix B.9, and
of SimCLRv2, Chen et al. 2020b).

To add a setting, add a field below with its `setting(...)` metadata, then
wire it where it is used (`build_encoder`, `build_model`, `build_optimizer`
or `keras_simclr.runs.training`); the flag follows. To add a preset, add an
entry to `PRESETS`.

Example:

    import keras_simclr as ks
    recipe = ks.recipes.Recipe.from_preset("cifar10", epochs=100)
    ks.pretrain(recipe, "gs://bucket/runs/cifar10")
"""

import dataclasses
import math

from keras_simclr import encoders, errors, losses

__all__ = [
    "PRESETS",
    "Recipe",
    "RecipeError",
    "SMALL_IMAGE_MAX",
    "augment_defaults",
    "build_augment",
    "build_encoder",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "make_optimizer",
]

# Images up to this side (in px) get the CIFAR-10 settings: the 3x3 stem,
# colour strength 0.5 and no blur (Chen et al. 2020, appendix B.9).
SMALL_IMAGE_MAX = 64


class RecipeError(errors.UserInputError):
    """A setting out of range; `field` names it (the command line's flag).

    Args:
        field: the name of the setting.
        message: what was given, what is expected — the fix.

    Example:

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
    small = image_size <= SMALL_IMAGE_MAX
    return {"strength": 0.5 if small else 1.0, "blur": not small}


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


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The settings of a pretraining run (defaults: the reference TF2 code's).

    None means automatic: `image_size` follows the dataset, `cifar_stem`,
    `blur` and `color_jitter_strength` follow the image size
    (`augment_defaults`), `shuffle_buffer` follows the source, `train_steps`
    follows `epochs`, `checkpoint_steps` is one epoch. `complete` fills them.

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
        0.9,
        "Momentum of LARS and SGD.",
        _finite(0, 1),
        "a momentum in [0, 1], e.g. 0.9",
    )
    temperature: float = setting(
        0.1,
        "NT-Xent temperature T > 0.",
        _is_temperature,
        "T > 0; SimCLR uses 0.1 (ImageNet) or 0.5 (CIFAR-10)",
    )
    # --- augmentation and model
    color_jitter_strength: float = setting(
        None,
        "Colour distortion strength s.",
        _finite(0, 2.5),
        "a strength in [0, 2.5] (0.5 or 1.0)",
    )
    blur: bool = setting(
        None, f"Gaussian blur (default: on above {SMALL_IMAGE_MAX} px)."
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
        if name not in PRESETS:
            raise RecipeError(
                "preset",
                f"preset={name!r} is unknown — use one of {', '.join(PRESETS)}",
            )
        return cls.from_dict(dict(PRESETS[name], preset=name, **overrides))

    @classmethod
    def from_dict(cls, values):
        """A validated recipe from a dict of fields (e.g. a run's config.json).

        Args:
            values: {field name: value}.

        Returns:
            A `Recipe`.

        Raises:
            RecipeError: an unknown field or a value out of range.

        Example:

        >>> Recipe.from_dict({"batch_size": 64}).batch_size
        64
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise RecipeError(
                unknown[0],
                f"{unknown[0]} is not a recipe setting — "
                "see keras_simclr.recipes.Recipe for the settings",
            )
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
            RecipeError: naming the first bad setting.

        Example:

        >>> Recipe.from_preset("demo").validate().preset
        'demo'
        """
        for field in dataclasses.fields(self):
            value, meta = getattr(self, field.name), field.metadata
            if value is None:
                continue
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
            and saved[f.name] != getattr(self, f.name)
        ]


# The named recipes (Chen et al. 2020, section 4 and appendix B.9; SimCLRv2):
# the fields they set over the defaults.
PRESETS = {
    # The embedded dataset and a small network: a few minutes on a CPU.
    "demo": dict(
        dataset="shapes",
        image_size=32,
        batch_size=128,
        epochs=6,
        learning_rate=1.0,
        learning_rate_scaling="linear",
        warmup_epochs=1,
        weight_decay=1e-6,
        optimizer="lars",
        temperature=0.2,
        color_jitter_strength=0.5,
        blur=False,
        resnet_depth=18,
        width_multiplier=1,
        cifar_stem=False,
        proj_layers=2,
        proj_dim=64,
        probe=True,
    ),
    # The reference's CIFAR-10 recipe (google-research/simclr README).
    "cifar10": dict(
        dataset="cifar10",
        image_size=32,
        batch_size=512,
        epochs=1000,
        learning_rate=1.0,
        learning_rate_scaling="linear",
        warmup_epochs=10,
        weight_decay=1e-4,
        optimizer="lars",
        temperature=0.5,
        color_jitter_strength=0.5,
        blur=False,
        resnet_depth=18,
        width_multiplier=1,
        cifar_stem=True,
        proj_layers=3,
        proj_dim=128,
        probe=True,
    ),
    # The paper's ImageNet recipe.
    "imagenet": dict(
        dataset="imagenet2012",
        image_size=224,
        batch_size=4096,
        epochs=100,
        learning_rate=0.075,
        learning_rate_scaling="sqrt",
        warmup_epochs=10,
        weight_decay=1e-6,
        optimizer="lars",
        temperature=0.1,
        color_jitter_strength=1.0,
        blur=True,
        resnet_depth=50,
        width_multiplier=1,
        cifar_stem=False,
        proj_layers=3,
        proj_dim=128,
        probe=True,
    ),
}
# SimCLRv2's ImageNet recipe (arXiv 2006.10029): the ImageNet recipe with
# selective kernels, weight decay 1e-4, 800 epochs and a 3-layer head
# fine-tuned from its first layer. The paper's biggest network is
# resnet_depth=152, width_multiplier=3.
PRESETS["imagenet_v2"] = dict(
    PRESETS["imagenet"], epochs=800, weight_decay=1e-4, sk_ratio=0.0625, head_layer=1
)


def build_augment(recipe):
    """The `SimCLRAugment` layer of a completed recipe.

    Args:
        recipe: a `Recipe` after `complete`.

    Returns:
        A `keras_simclr.layers.SimCLRAugment` of the recipe's image size.

    Example:

    >>> build_augment(Recipe.from_preset("cifar10")).blur
    False
    """
    from keras_simclr import layers

    size = recipe.image_size
    return layers.SimCLRAugment(
        size,
        size,
        strength=recipe.color_jitter_strength,
        blur=recipe.blur,
        seed=recipe.seed,
    )


def build_encoder(recipe):
    """The (new) `encoders.ResNet` of a completed recipe.

    Args:
        recipe: a `Recipe` after `complete`.

    Returns:
        A `keras_simclr.encoders.ResNet` of the recipe's depth and width.

    Example:

    >>> build_encoder(Recipe.from_preset("imagenet_v2")).output_shape
    (None, 2048)
    """
    size = recipe.image_size
    return encoders.ResNet(
        recipe.resnet_depth,
        width_multiplier=recipe.width_multiplier,
        cifar_stem=recipe.cifar_stem,
        sk_ratio=recipe.sk_ratio,
        input_shape=(size, size, 3),
    )


def build_model(recipe, num_classes=None):
    """The (unbuilt) `SimCLR` model of a completed recipe.

    Args:
        recipe: a `Recipe` after `complete`.
        num_classes: classes of the online probe (used when `recipe.probe`).

    Returns:
        A `keras_simclr.SimCLR`. Call it inside `strategy.scope()`.

    Example:

    >>> model = build_model(Recipe.from_preset("cifar10"), num_classes=10)
    >>> model.projection_head.num_layers, model.temperature
    (3, 0.5)
    """
    from keras_simclr import layers
    from keras_simclr.model import SimCLR

    head = layers.ProjectionHead(
        num_layers=recipe.proj_layers,
        output_dim=recipe.proj_dim,
        name="projection_head",
    )
    return SimCLR(
        build_encoder(recipe),
        head,
        augment=build_augment(recipe),
        temperature=recipe.temperature,
        num_classes=num_classes if recipe.probe else None,
        micro_batches=recipe.micro_batches,
    )


def build_schedule(recipe, steps_per_epoch, total_steps):
    """Warmup then cosine decay of the recipe's scaled learning rate.

    Args:
        recipe: a `Recipe`.
        steps_per_epoch: steps of one epoch.
        total_steps: steps of the whole run.

    Returns:
        A `keras_simclr.schedules.WarmupCosineDecay`.

    Example:

    >>> schedule = build_schedule(Recipe.from_preset("cifar10"), 10, 1000)
    >>> round(float(schedule(1000)), 6)  # decayed to 0 at the end
    0.0
    """
    from keras_simclr import schedules

    peak = schedules.scaled_learning_rate(
        recipe.learning_rate, recipe.batch_size, recipe.learning_rate_scaling
    )
    warmup = min(int(round(recipe.warmup_epochs * steps_per_epoch)), total_steps)
    return schedules.WarmupCosineDecay(peak, warmup, total_steps)


def make_optimizer(
    name, learning_rate, momentum=0.9, weight_decay=0.0, lars_exclude=()
):
    """The optimizer called `name`, as every part of the library builds it.

    - `"lars"`: `keras_simclr.optimizers.LARS` (You et al. 2017) with
      coupled weight decay; variables whose names contain one of
      `lars_exclude` get neither weight decay nor the trust ratio;
    - `"sgd"`: `keras.optimizers.SGD` with momentum and decoupled weight
      decay;
    - `"momentum"`: the same with Nesterov momentum;
    - `"adam"`: `keras.optimizers.Adam` with decoupled weight decay.

    Args:
        name: "lars", "sgd", "momentum" or "adam".
        learning_rate: a float or a `keras.optimizers.schedules` schedule.
        momentum: momentum (not used by Adam).
        weight_decay: weight decay coefficient, 0 for none.
        lars_exclude: name fragments of the variables LARS leaves out.

    Returns:
        A Keras optimizer.

    Raises:
        RecipeError: an unknown `name`.

    Example:

    >>> opt = make_optimizer("momentum", 0.1, momentum=0.9)
    >>> type(opt).__name__, bool(opt.nesterov)
    ('SGD', True)
    """
    import keras

    from keras_simclr import optimizers

    if name == "lars":
        return optimizers.LARS(
            learning_rate,
            momentum=momentum,
            weight_decay=weight_decay,
            exclude_from_weight_decay=list(lars_exclude),
        )
    if name in ("sgd", "momentum"):
        return keras.optimizers.SGD(
            learning_rate,
            momentum=momentum,
            nesterov=name == "momentum",
            weight_decay=weight_decay or None,
        )
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay or None)
    raise RecipeError(
        "optimizer",
        f"optimizer must be 'lars', 'sgd', 'momentum' or "
        f"'adam', got {name!r} — pass one of these.",
    )


def build_optimizer(recipe, model, steps_per_epoch, total_steps):
    """The recipe's optimizer for `model`, on `build_schedule`'s schedule.

    Weight decay leaves out biases, batch norm and the probe, as in LARS.

    Args:
        recipe: a `Recipe`.
        model: the `SimCLR` model it trains.
        steps_per_epoch: steps of one epoch.
        total_steps: steps of the whole run.

    Returns:
        A Keras optimizer (see `make_optimizer`).

    Example:

    >>> import keras
    >>> import keras_simclr as ks
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> model = ks.SimCLR(encoder, augment=keras.layers.Identity())
    >>> recipe = Recipe.from_preset("cifar10", optimizer="sgd")
    >>> type(build_optimizer(recipe, model, 10, 100)).__name__
    'SGD'
    """
    schedule = build_schedule(recipe, steps_per_epoch, total_steps)
    wd = recipe.weight_decay
    optimizer = make_optimizer(
        recipe.optimizer,
        schedule,
        momentum=recipe.momentum,
        weight_decay=wd,
        lars_exclude=["probe"],
    )
    if wd and recipe.optimizer != "lars":
        probe = model.probe.trainable_variables if model.probe is not None else []
        skip = {id(v) for v in probe}
        optimizer.exclude_from_weight_decay(
            var_list=[
                v
                for v in model.trainable_variables
                if len(v.shape) <= 1 or id(v) in skip
            ]
        )
    return optimizer
