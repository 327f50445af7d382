"""The model a completed recipe describes: augmentation, encoder, SimCLR."""

from keras_simclr import encoders, layers
from keras_simclr.layers.augmentation.color_distortion import JITTER_NAMES
from keras_simclr.model import SimCLR

#: The recipe fields passed to `SimCLRAugment` under the same names.
AUGMENT_KNOBS = (
    "crop_scale",
    "crop_ratio",
    "color_jitter_prob",
    "grayscale_prob",
    "blur_prob",
    *JITTER_NAMES,
)


def build_augment(recipe):
    """The `SimCLRAugment` layer of a completed recipe.

    Args:
        recipe: a `Recipe` after `complete`.

    Returns:
        A `keras_simclr.layers.SimCLRAugment` of the recipe's image size,
        colour strength and blur switch, with the recipe's `AUGMENT_KNOBS`.

    Example:

    >>> from keras_simclr.recipes import Recipe
    >>> build_augment(Recipe.from_preset("cifar10")).blur
    False
    >>> build_augment(Recipe.from_preset("cifar10", crop_scale=(0.2, 1.0))).crop_scale
    (0.2, 1.0)
    """
    size = recipe.image_size
    return layers.SimCLRAugment(
        size,
        size,
        strength=recipe.color_jitter_strength,
        blur=recipe.blur,
        seed=recipe.seed,
        **{name: getattr(recipe, name) for name in AUGMENT_KNOBS},
    )


def build_encoder(recipe):
    """The (new) `encoders.ResNet` of a completed recipe.

    Args:
        recipe: a `Recipe` after `complete`.

    Returns:
        A `keras_simclr.encoders.ResNet` of the recipe's depth and width.

    Example:

    >>> from keras_simclr.recipes import Recipe
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

    >>> from keras_simclr.recipes import Recipe
    >>> model = build_model(Recipe.from_preset("cifar10"), num_classes=10)
    >>> model.projection_head.num_layers, model.temperature
    (3, 0.5)
    """
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
