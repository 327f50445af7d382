"""The Recipe: its checks and what a resumed run must keep."""

import pytest

from keras_simclr import data, recipes
from tests.command_line import recipe_config, run_in_process


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
