"""The command line's flags: presets, their defaults, flags over presets."""

from tests.command_line import recipe_config


def test_presets_set_defaults_and_flags_override_them():
    config = recipe_config(["--preset=cifar10"])
    assert (config["dataset"], config["batch_size"], config["learning_rate"]) == (
        "cifar10",
        512,
        1.0,
    )
    assert config["learning_rate_scaling"] == "linear"
    assert (config["temperature"], config["color_jitter_strength"]) == (0.5, 0.5)
    assert (config["blur"], config["weight_decay"], config["epochs"]) == (
        False,
        1e-4,
        1000,
    )
    assert (config["resnet_depth"], config["cifar_stem"]) == (18, True)

    config = recipe_config(["--preset=imagenet", "--batch_size=1024", "--noblur"])
    assert config["batch_size"] == 1024 and config["blur"] is False
    assert (config["resnet_depth"], config["learning_rate"]) == (50, 0.075)
    assert (config["learning_rate_scaling"], config["temperature"]) == ("sqrt", 0.1)
    assert config["weight_decay"] == 1e-6

    config = recipe_config(["--dataset=stl10"])  # no preset: reference defaults
    assert (config["batch_size"], config["learning_rate"], config["resnet_depth"]) == (
        512,
        0.3,
        50,
    )
    assert config["image_size"] is None  # follows the dataset


def test_a_tuple_field_is_a_flag_of_two_numbers():
    import dataclasses

    import pytest
    from absl import flags

    from keras_simclr import recipes
    from keras_simclr.cli import options

    @dataclasses.dataclass(frozen=True)
    class StandIn:  # a recipe with a pair field, as crop_scale is
        crop_scale: tuple = recipes.setting((0.08, 1.0), "Crop area range.")

    flag_values = flags.FlagValues()
    options.define_recipe_flags(StandIn, flag_values)
    assert "(default: 0.08,1.0)" in flag_values["crop_scale"].help
    flag_values(["prog", "--crop_scale=0.2,1"])
    assert flag_values.crop_scale == (0.2, 1.0)
    assert flag_values["crop_scale"].serialize() == "--crop_scale=0.2,1.0"
    for bad in ("0.2", "0.2,1,3", "a,1", ""):
        flag_values.unparse_flags()
        with pytest.raises(flags.IllegalFlagValueError, match="is not two numbers"):
            flag_values(["prog", f"--crop_scale={bad}"])
