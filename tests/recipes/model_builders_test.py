"""The recipe's augmentation knobs: fields with the layer's defaults and
checks, passed by build_augment to SimCLRAugment and to the host crops."""

import dataclasses

import numpy as np
import pytest

from keras_simclr import data, recipes
from keras_simclr.errors import UserInputError
from keras_simclr.layers.augmentation import color_distortion
from keras_simclr.layers.augmentation.random_resized_crop import (
    DEFAULT_CROP_RATIO,
    DEFAULT_CROP_SCALE,
)
from keras_simclr.recipes.model_builders import AUGMENT_KNOBS
from tests.layers.augmentation.layer_inputs import ramp_boxes

KNOBS = dict(
    crop_scale=(0.6, 1.0),
    crop_ratio=(0.5, 2.0),
    color_jitter_prob=0.4,
    grayscale_prob=0.0,
    blur_prob=1.0,
    jitter_brightness=0.1,
    jitter_contrast=0.2,
    jitter_saturation=0.3,
    jitter_hue=0.05,
)


def _completed(**fields):
    recipe = recipes.Recipe.from_preset("demo", **fields)
    return recipe.complete(data.describe("shapes", "train"))


def test_every_knob_is_a_recipe_field_with_the_layers_default():
    fields = {f.name: f for f in dataclasses.fields(recipes.Recipe)}
    assert set(AUGMENT_KNOBS) == set(KNOBS) <= set(fields)
    assert fields["crop_scale"].type is tuple and fields["crop_ratio"].type is tuple
    assert fields["jitter_hue"].type is float
    assert all(fields[name].metadata["help"] for name in KNOBS)
    recipe = recipes.Recipe()
    assert (recipe.crop_scale, recipe.crop_ratio) == (
        DEFAULT_CROP_SCALE,
        DEFAULT_CROP_RATIO,
    )
    assert (recipe.color_jitter_prob, recipe.grayscale_prob, recipe.blur_prob) == (
        0.8,
        0.2,
        0.5,
    )
    assert tuple(getattr(recipe, n) for n in color_distortion.JITTER_NAMES) == (
        0.8,
        0.8,
        0.8,
        0.2,
    )


def test_build_augment_passes_the_knobs():
    augment = recipes.build_augment(_completed(blur=True, **KNOBS))
    assert (augment.crop_scale, augment.crop_ratio) == ((0.6, 1.0), (0.5, 2.0))
    assert (augment.color_jitter_prob, augment.grayscale_prob) == (0.4, 0.0)
    assert (augment.blur, augment.blur_prob) == (True, 1.0)
    assert augment.jitter == (0.1, 0.2, 0.3, 0.05)
    # And the model's own layer is built the same way.
    model = recipes.build_model(_completed(**KNOBS))
    assert model.augment.get_config() | {"name": None} == recipes.build_augment(
        _completed(**KNOBS)
    ).get_config() | {"name": None}


def test_recipe_crop_scale_reaches_the_host_crops():
    """The run passes build_augment's layer to the pipeline: its crops of
    full-resolution (120x200) images follow the recipe's crop_scale."""
    augment = recipes.build_augment(_completed(crop_scale=(0.6, 1.0)))
    y, x = np.meshgrid(np.arange(120), np.arange(200), indexing="ij")
    ramps = np.repeat(np.stack([2 * y, x, 0 * x], -1)[None].astype(np.uint8), 32, 0)
    stream, _, _ = data.pretraining_dataset(
        ramps, global_batch_size=32, image_size=32, augment=augment, with_labels=False
    )
    batch = next(iter(stream))
    for name in ("crop1", "crop2"):
        h, w = ramp_boxes(batch[name].numpy(), 2, 1)
        assert (h * w / (120 * 200)).min() >= 0.6 - 0.03


@pytest.mark.parametrize(
    "field, value, message",
    [
        (
            "crop_scale",
            (0.0, 1.0),
            "crop_scale=(0.0, 1.0) is out of range — use 0 < low <= high <= 1, "
            "e.g. 0.08,1",
        ),
        (
            "crop_ratio",
            (2.0, 1.0),
            "crop_ratio=(2.0, 1.0) is out of range — use finite 0 < low <= high, "
            "e.g. 0.75,1.3333",
        ),
        (
            "color_jitter_prob",
            1.2,
            "color_jitter_prob=1.2 is out of range — use a probability in [0, 1]",
        ),
        (
            "grayscale_prob",
            -0.5,
            "grayscale_prob=-0.5 is out of range — use a probability in [0, 1]",
        ),
        ("blur_prob", 2, "blur_prob=2 is out of range — use a probability in [0, 1]"),
        (
            "jitter_saturation",
            -1.0,
            "jitter_saturation=-1.0 is out of range — use a finite number >= 0",
        ),
        (
            "color_jitter_strength",
            2.6,
            "color_jitter_strength=2.6 is out of range — use a strength in "
            "[0, 2.5] (0.5 or 1.0)",
        ),
    ],
)
def test_recipe_knobs_out_of_range_are_one_line(field, value, message):
    with pytest.raises(recipes.RecipeError) as error:
        recipes.Recipe.from_preset("demo", **{field: value})
    assert str(error.value) == message and error.value.field == field


def test_a_hue_shift_over_half_the_circle_is_refused_when_built():
    """jitter_hue's limit depends on the strength: the layer's check, one
    line, when the recipe's augmentation is built."""
    recipe = _completed(color_jitter_strength=2.0, jitter_hue=0.3)
    with pytest.raises(UserInputError) as error:
        recipes.build_augment(recipe)
    assert str(error.value) == (
        "the hue shift strength * jitter_hue = 2 * 0.3 = 0.6 is over 0.5 "
        "(half the hue circle) — lower jitter_hue or strength."
    )
