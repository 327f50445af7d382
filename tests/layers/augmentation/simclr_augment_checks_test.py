"""SimCLRAugment refuses sizes that are not integers >= 1 and knobs out of
range, each with one line."""

import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr.errors import UserInputError

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize(
    "make, message",
    [
        # 32.5 was truncated to 32.
        (
            lambda: ks.layers.SimCLRAugment(32.5, 32),
            "height must be an integer >= 1, got 32.5",
        ),
        (lambda: ks.layers.SimCLRAugment(32, 0), "width must be >= 1, got 0"),
    ],
    ids=["augment_height", "augment_width"],
)
def test_augment_sizes_are_integers(make, message):
    with pytest.raises(UserInputError, match=message):
        make()
    assert ks.layers.SimCLRAugment(np.int64(32), 32).height == 32


@pytest.mark.parametrize(
    "knobs, message",
    [
        (
            dict(crop_scale=(0.0, 1.0)),
            "crop_scale must be a (low, high) pair of finite numbers with "
            "0 < low <= high <= 1, got (0.0, 1.0).",
        ),
        (
            dict(crop_scale=(0.9, 0.5)),
            "crop_scale must be a (low, high) pair of finite numbers with "
            "0 < low <= high <= 1, got (0.9, 0.5).",
        ),
        (
            dict(crop_scale=0.5),
            "crop_scale must be a (low, high) pair of finite numbers with "
            "0 < low <= high <= 1, got 0.5.",
        ),
        (
            dict(crop_ratio=(0.5, float("inf"))),
            "crop_ratio must be a (low, high) pair of finite numbers with "
            "0 < low <= high, got (0.5, inf).",
        ),
        (dict(color_jitter_prob=1.5), "color_jitter_prob must be in [0, 1], got 1.5."),
        (dict(grayscale_prob=-0.1), "grayscale_prob must be in [0, 1], got -0.1."),
        (dict(blur_prob="0.5"), "blur_prob must be in [0, 1], got '0.5'."),
        (dict(solarize=2), "solarize must be in [0, 1], got 2."),
        (
            dict(jitter_brightness=-1),
            "jitter_brightness must be a finite number >= 0, got -1.",
        ),
        (
            dict(jitter_saturation=float("nan")),
            "jitter_saturation must be a finite number >= 0, got nan.",
        ),
        (
            dict(strength=2.0, jitter_hue=0.3),
            "the hue shift strength * jitter_hue = 2 * 0.3 = 0.6 is over 0.5 "
            "(half the hue circle) — lower jitter_hue or strength.",
        ),
        (
            dict(strength=3),
            "strength must be in [0, 2.5], got 3 — SimCLR uses 1.0 (ImageNet) "
            "or 0.5 (CIFAR-10).",
        ),
    ],
)
def test_augment_knobs_out_of_range_are_one_line(knobs, message):
    with pytest.raises(UserInputError) as error:
        ks.layers.SimCLRAugment(32, 32, **knobs)
    assert str(error.value) == message


def test_colour_and_crop_layers_share_the_checks():
    """ColorDistortion and RandomResizedCrop refuse with the same rules."""
    with pytest.raises(UserInputError, match=r"strength must be in \[0, 2.5\]"):
        ks.layers.ColorDistortion(strength=2.6)
    with pytest.raises(UserInputError, match="hue shift strength"):
        ks.layers.ColorDistortion(strength=1.0, jitter_hue=0.6)
    with pytest.raises(UserInputError, match="jitter_contrast must be a finite"):
        ks.layers.ColorDistortion(jitter_contrast=-0.5)
    with pytest.raises(UserInputError, match=r"scale must be a \(low, high\) pair"):
        ks.layers.RandomResizedCrop(8, 8, scale=(0.5, 1.5))
    with pytest.raises(UserInputError, match=r"ratio must be a \(low, high\) pair"):
        ks.layers.RandomResizedCrop(8, 8, ratio=(0.0, 1.0))
    # The hue limit is the strength limit at the default hue component.
    assert ks.layers.SimCLRAugment(8, 8, strength=2.5).jitter[3] * 2.5 == 0.5
