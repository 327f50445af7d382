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
