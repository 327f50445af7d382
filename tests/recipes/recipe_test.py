"""Recipes: presets, their checks, what a resumed run must keep, the model built."""

import math

import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import data, recipes
from tests.command_line import recipe_config, run_in_process


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


def test_sk_ratio_is_checked_and_kept_on_resume():
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(recipes.RecipeError, match="sk_ratio"):
            recipes.Recipe(sk_ratio=bad).validate()
    recipe = recipes.Recipe.from_preset("imagenet_v2")
    assert recipe.resume_differences(recipe.to_dict()) == []
    assert recipe.replace(sk_ratio=0.0).resume_differences(recipe.to_dict()) == [
        ("sk_ratio", 0.0625, 0.0)
    ]
    assert recipe.replace(width_multiplier=2).resume_differences(recipe.to_dict()) == [
        ("width_multiplier", 1, 2)
    ]


def test_micro_batches_is_a_recipe_setting_and_a_flag(tmp_path, capsys):
    with pytest.raises(recipes.RecipeError, match="micro_batches"):
        recipes.Recipe(micro_batches=0).validate()
    assert recipe_config(["--preset=demo", "--micro_batches=4"])["micro_batches"] == 4
    recipe = recipes.Recipe.from_preset("demo", micro_batches=4)
    model = recipes.build_model(recipe.complete(data.describe("shapes")))
    assert model.micro_batches == 4
    with pytest.raises(
        data.PipelineError,
        match=(
            r"batch_size=12 does not split over 2 replicas x 4 micro-batches "
            r"— use a multiple of 8, e.g. batch_size=8"
        ),
    ):
        data.check_batch_size(12, 2, micro_batches=4)
    code, err = run_in_process(
        [
            "pretrain",
            "--preset=demo",
            "--micro_batches=3",
            f"--model_dir={tmp_path / 'run'}",
        ],
        capsys,
    )
    assert code == 2
    assert "use a multiple of 3, e.g. --batch_size=126" in err
    assert not (tmp_path / "run" / "checkpoints").exists()
