"""The presets: the settings they give and the model they build."""

import math

import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import recipes
from tests.command_line import recipe_config


def test_imagenet_v2_preset_builds_an_sk_resnet_with_a_3_layer_head():
    config = recipe_config(["--preset=imagenet_v2"])
    assert (config["dataset"], config["image_size"], config["batch_size"]) == (
        "imagenet2012",
        224,
        4096,
    )
    assert (config["epochs"], config["optimizer"], config["warmup_epochs"]) == (
        800,
        "lars",
        10,
    )
    assert (config["learning_rate"], config["learning_rate_scaling"]) == (0.075, "sqrt")
    assert (config["weight_decay"], config["temperature"]) == (1e-4, 0.1)
    assert (config["color_jitter_strength"], config["blur"]) == (1.0, True)
    assert (config["resnet_depth"], config["width_multiplier"], config["sk_ratio"]) == (
        50,
        1,
        0.0625,
    )
    assert (config["proj_layers"], config["proj_dim"]) == (3, 128)
    assert config["head_layer"] == 1
    peak = ks.schedules.scaled_learning_rate(0.075, 4096, "sqrt")
    assert peak == pytest.approx(0.075 * math.sqrt(4096)) == pytest.approx(4.8)
    # The flags reach the encoder: the paper's biggest, R152 3x SK, counted
    # lazily (no weights allocated).
    config = recipe_config(
        ["--preset=imagenet_v2", "--resnet_depth=152", "--width_multiplier=3"]
    )
    assert (config["resnet_depth"], config["width_multiplier"]) == (152, 3)

    recipe = recipes.Recipe.from_preset("imagenet_v2", image_size=64)
    model = recipes.build_model(recipe, num_classes=10)
    model.build((None, 64, 64, 3))
    encoder = model.encoder
    assert any(layer.name.endswith("_sk") for layer in encoder.layers)
    # The reference's resnet.resnet(50, 1, sk_ratio=0.0625) (issue 12).
    assert sum(int(np.prod(w.shape)) for w in encoder.trainable_weights) == 35_215_584
    assert model.projection_head.num_layers == 3
    assert model.projection_head.output_dim == 128


@pytest.mark.parametrize("name", sorted(recipes.PRESETS))
def test_presets_set_the_papers_augmentation_knobs(name):
    """Every preset sets each knob, to SimCLR's value (the layer's default)."""
    preset = recipes.PRESETS[name]
    knobs = recipes.model_builders.AUGMENT_KNOBS
    assert set(knobs) <= set(preset)
    default = ks.layers.SimCLRAugment(8, 8)
    expected = dict(
        crop_scale=(0.08, 1.0),
        crop_ratio=(3 / 4, 4 / 3),
        color_jitter_prob=0.8,
        grayscale_prob=0.2,
        blur_prob=0.5,
        jitter_brightness=0.8,
        jitter_contrast=0.8,
        jitter_saturation=0.8,
        jitter_hue=0.2,
    )
    assert {k: preset[k] for k in knobs} == expected
    config = default.get_config()
    assert {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in config.items()
        if k in knobs
    } == expected
    recipe = recipes.Recipe.from_preset(name)
    assert {k: getattr(recipe, k) for k in knobs} == expected
