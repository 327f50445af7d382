"""The Recipe: its checks and what a resumed run must keep."""

import json

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


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"batch_size": "8"},
            "batch_size='8' is not an integer — use an integer: a positive global "
            "batch, e.g. 512",
        ),
        (
            {"batch_size": 8.0},
            "batch_size=8.0 is not an integer — use an integer: a positive global "
            "batch, e.g. 512",
        ),
        (
            {"epochs": 1.5},
            "epochs=1.5 is not an integer — use an integer: at least 1 epoch",
        ),
        (
            {"seed": 1.5},
            "seed=1.5 is not an integer — use an integer: a non-negative seed, e.g. 0",
        ),
        (
            {"epochs": True},
            "epochs=True is not an integer — use an integer: at least 1 epoch",
        ),
        (
            {"blur": "false"},
            "blur='false' is not a boolean — use true or false, without quotes",
        ),
        ({"probe": 1}, "probe=1 is not a boolean — use true or false, without quotes"),
        (
            {"learning_rate": "0.3"},
            "learning_rate='0.3' is not a number — use a number: a finite, "
            "non-negative base learning rate",
        ),
        ({"dataset": 5}, "dataset=5 is not a string — use a string"),
        ({"optimizer": 1}, "optimizer=1 is not a string — use one of lars, sgd, adam"),
    ],
)
def test_field_types_are_checked(values, message):
    name = next(iter(values))
    for make in (
        lambda: recipes.Recipe(**values).validate(),
        lambda: recipes.Recipe.from_dict(values),  # a run's config.json
        lambda: recipes.Recipe.from_preset("demo", **values),
    ):
        with pytest.raises(recipes.RecipeError) as raised:
            make()
        assert (str(raised.value), raised.value.field) == (message, name)


def test_numbers_of_the_right_kind_are_taken_as_python_values():
    import numpy as np

    recipe = recipes.Recipe(
        batch_size=np.int64(64), learning_rate=1, warmup_epochs=np.float32(0.5)
    ).validate()
    assert (recipe.batch_size, recipe.learning_rate, recipe.warmup_epochs) == (
        64,
        1,
        0.5,
    )
    assert type(recipe.batch_size) is int and type(recipe.warmup_epochs) is float
    assert json.loads(json.dumps(recipe.to_dict()))["batch_size"] == 64


def test_a_tuple_field_is_a_pair_of_finite_numbers():
    import dataclasses

    from keras_simclr.recipes import settings

    @dataclasses.dataclass(frozen=True)
    class StandIn:  # a recipe with a pair field, as crop_scale is
        crop_scale: tuple = settings.setting(
            (0.08, 1.0), "Crop area range.", lambda v: v[0] <= v[1], "low <= high"
        )

        def __post_init__(self):
            settings.normalise_settings(self)

    saved = json.loads(json.dumps(dataclasses.asdict(StandIn(crop_scale=(0.2, 1)))))
    assert saved == {"crop_scale": [0.2, 1]}  # JSON gives a list back
    assert StandIn(**saved) == StandIn(crop_scale=(0.2, 1.0))
    settings.check_settings(StandIn(**saved))
    assert settings.plain_value(tuple, saved["crop_scale"]) == (0.2, 1.0)
    for bad in (
        (0.2,),
        (0.2, 1.0, 1.0),
        ("0.2", 1.0),
        (True, 1.0),
        (0.2, float("nan")),
        0.5,
        "0.2,1",
    ):
        with pytest.raises(settings.RecipeError) as raised:
            settings.check_settings(StandIn(crop_scale=bad))
        assert str(raised.value) == (
            f"crop_scale={settings.plain_value(tuple, bad)!r} is not a pair of finite "
            "numbers — use a pair of finite numbers: low <= high"
        )
    with pytest.raises(
        settings.RecipeError, match=r"crop_scale=\(1.0, 0.2\) is out of range"
    ):
        settings.check_settings(StandIn(crop_scale=[1.0, 0.2]))
