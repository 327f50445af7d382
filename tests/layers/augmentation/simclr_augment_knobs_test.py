"""SimCLRAugment's knobs, measured on the layer's views: crop area and
aspect ratio, jitter, grayscale and blur probabilities, jitter components,
and their config."""

import numpy as np
import pytest
import tensorflow as tf  # tf.image.rgb_to_hsv: the reference, on NumPy inputs

from keras_simclr import layers
from keras_simclr.layers.augmentation import color_distortion
from tests.layers.augmentation.layer_inputs import (
    expected_crop_area,
    ramp_boxes,
    ramp_images,
    random_images,
    smooth_images,
)

pytestmark = pytest.mark.backend_neutral

# Every colour step off and no flip: a view is its crop, resized.
CROP_ONLY = dict(flip=False, blur=False, color_jitter_prob=0.0, grayscale_prob=0.0)


def _crop_areas(side=80, n=400, **knobs):
    augment = layers.SimCLRAugment(16, 16, seed=1, **CROP_ONLY, **knobs)
    views = np.asarray(augment(ramp_images(n, side, side)))
    h, w = ramp_boxes(views, 1 / side, 1 / side)
    return h * w / side**2, w / h


def test_crop_scale_sets_the_area_of_every_crop():
    side = 80
    areas, ratios = _crop_areas(side, crop_scale=(0.6, 1.0))
    # Whole-pixel sides move an area by up to ~1/80 of the side's length.
    assert areas.min() >= 0.6 - 0.015 and areas.max() <= 1.0 + 1e-6
    expected = expected_crop_area(side, side, scale=(0.6, 1.0))
    assert abs(areas.mean() - expected) < 0.015
    assert ratios.min() >= 0.75 - 0.02 and ratios.max() <= 4 / 3 + 0.02
    # The default's areas are SimCLR's: down to 0.08, mean 0.478 (square).
    default, _ = _crop_areas(side)
    assert default.min() < 0.2 and abs(default.mean() - 0.478) < 0.03
    # A square box on a square image always fits: areas U[0.6, 1], mean 0.8.
    square, ratios = _crop_areas(side, crop_scale=(0.6, 1.0), crop_ratio=(1.0, 1.0))
    assert abs(square.mean() - 0.8) < 0.02
    assert np.abs(ratios - 1.0).max() < 0.03


def test_crop_ratio_sets_the_aspect_of_every_crop():
    # Sides are whole pixels, rounded from a box whose ratio is in [1.5, 2]:
    # (w + 1/2) / (h - 1/2) >= 1.5 and (w - 1/2) / (h + 1/2) <= 2. Rounding
    # moves a small box's ratio by up to ~0.07 (35 x 24 px, 1.458, is a box
    # of ratio 1.5 rounded).
    side = 80
    augment = layers.SimCLRAugment(16, 16, seed=1, **CROP_ONLY, crop_ratio=(1.5, 2))
    views = np.asarray(augment(ramp_images(400, side, side)))
    h, w = ramp_boxes(views, 1 / side, 1 / side)
    assert np.abs(h - np.round(h)).max() < 0.01 and np.abs(w - np.round(w)).max() < 0.01
    h, w = np.round(h), np.round(w)
    assert np.all((w + 0.5) / (h - 0.5) >= 1.5) and np.all((w - 0.5) / (h + 0.5) <= 2)
    # Log-uniform in [1.5, 2]: the mean log ratio is the middle of the logs.
    assert abs(np.log(w / h).mean() - np.log(3.0) / 2) < 0.03


def test_color_jitter_prob_zero_and_zero_components_change_no_colour():
    """A whole-image box of the output's size is the identity crop: views
    equal the input exactly when no colour step runs."""
    images = smooth_images(64, 16, 16)
    identity = dict(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip=False)
    for colour in (
        dict(color_jitter_prob=0.0),
        dict(color_jitter_prob=1.0, **dict.fromkeys(color_distortion.JITTER_NAMES, 0)),
    ):
        augment = layers.SimCLRAugment(
            16, 16, blur=False, grayscale_prob=0.0, seed=2, **identity, **colour
        )
        np.testing.assert_allclose(augment(images), images, atol=1e-5)
    jittered = layers.SimCLRAugment(
        16,
        16,
        blur=False,
        grayscale_prob=0.0,
        seed=2,
        color_jitter_prob=1.0,
        **identity,
    )(images)
    assert np.abs(jittered - images).max(axis=(1, 2, 3)).min() > 1e-3


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_grayscale_prob(probability, xla):
    """Under XLA (the layer's default, as in a compiled training step)."""
    augment = layers.SimCLRAugment(12, 12, grayscale_prob=probability, seed=3)
    views = np.asarray(augment(random_images(64, 20, 20)))
    gray = np.all(np.abs(views - views[..., :1]) < 1e-6, axis=(1, 2, 3))
    assert gray.all() if probability else not gray.any()


def test_probabilities_are_the_rates_drawn():
    augment = layers.SimCLRAugment(
        4, 4, color_jitter_prob=0.3, grayscale_prob=0.6, blur_prob=0.1, seed=4
    )
    params = augment.get_random_transformation(np.zeros((20000, 4, 4, 3)), seed=5)
    rates = [
        float(np.mean(np.asarray(flags)))
        for flags in (
            params["color"]["jitter"],
            params["color"]["grayscale"],
            params["blur"]["blur"],
        )
    ]
    np.testing.assert_allclose(rates, [0.3, 0.6, 0.1], atol=0.012)


def test_blur_prob_one_blurs_every_view_and_zero_none():
    images = random_images(200, 40, 40)

    def views(**blur):
        augment = layers.SimCLRAugment(40, 40, seed=6, **blur)
        return np.asarray(augment(images))

    plain = views(blur=False)
    np.testing.assert_array_equal(views(blur=True, blur_prob=0.0), plain)
    blurred = views(blur=True, blur_prob=1.0)
    # Blur smooths the noise: lower pixel-to-pixel differences, for every
    # view whose sigma is not tiny (sigma U[0.1, 2]; radius 2 at 40 px).
    roughness = np.abs(np.diff(blurred, axis=2)).mean((1, 2, 3))
    plain_roughness = np.abs(np.diff(plain, axis=2)).mean((1, 2, 3))
    smoother = roughness < 0.9 * plain_roughness
    assert smoother.mean() > 0.7
    assert np.all(roughness <= plain_roughness + 1e-6)


def test_jitter_components_set_the_amplitudes():
    augment = layers.SimCLRAugment(
        4,
        4,
        strength=0.5,
        jitter_brightness=0.4,
        jitter_contrast=0.0,
        jitter_saturation=1.2,
        jitter_hue=0.0,
        seed=7,
    )
    color = augment.get_random_transformation(np.zeros((20000, 4, 4, 3)), seed=8)[
        "color"
    ]
    b, c, s, h = (
        np.asarray(color[k]) for k in ("brightness", "contrast", "saturation", "hue")
    )
    # a = strength * component: U[0.8, 1.2], exactly 1, U[0.4, 1.6], exactly 0.
    assert 0.8 <= b.min() < 0.801 and 1.199 < b.max() < 1.2
    assert np.all(c == 1.0) and np.all(h == 0.0)
    assert 0.4 <= s.min() < 0.401 and 1.599 < s.max() < 1.6
    # Factors below 1 - a are clamped at 0 (strength 2 * 0.8 > 1).
    assert color_distortion.jitter_ranges(2.0, (0.8, 0.8, 0.8, 0.2))[0] == (0.0, 2.6)


def test_jitter_hue_zero_keeps_every_hue():
    """Saturation alone (no brightness or contrast, which clip or shift
    channels) keeps each pixel's hue; the default hue jitter does not."""
    images = smooth_images(32, 12, 12) * 0.8 + 0.1
    identity = dict(
        crop_scale=(1.0, 1.0),
        crop_ratio=(1.0, 1.0),
        flip=False,
        blur=False,
        grayscale_prob=0.0,
        color_jitter_prob=1.0,
        jitter_brightness=0.0,
        jitter_contrast=0.0,
    )

    def hue_change(**hue):
        views = np.asarray(
            layers.SimCLRAugment(12, 12, seed=9, **identity, **hue)(images)
        )
        before = tf.image.rgb_to_hsv(images)
        after = tf.image.rgb_to_hsv(views)
        chroma = (before[..., 1] > 0.2) & (after[..., 1] > 0.2)
        diff = np.abs(after[..., 0] - before[..., 0])
        diff = np.minimum(diff, 1 - diff)  # around the circle
        return np.where(chroma, diff, 0).max(axis=(1, 2))

    assert hue_change(jitter_hue=0.0).max() < 2e-3
    assert np.median(hue_change()) > 0.02


def test_config_round_trip_and_old_configs_load():
    knobs = dict(
        crop_scale=(0.3, 0.9),
        crop_ratio=(0.5, 2.0),
        color_jitter_prob=0.5,
        grayscale_prob=0.1,
        blur_prob=0.25,
        jitter_brightness=0.4,
        jitter_contrast=0.3,
        jitter_saturation=0.2,
        jitter_hue=0.1,
    )
    augment = layers.SimCLRAugment(16, 16, seed=1, **knobs)
    config = augment.get_config()
    assert {k: config[k] for k in knobs} == {
        k: list(v) if isinstance(v, tuple) else v for k, v in knobs.items()
    }
    again = layers.SimCLRAugment.from_config(config)
    assert again.get_config() == config
    assert (again.crop_scale, again.jitter) == ((0.3, 0.9), (0.4, 0.3, 0.2, 0.1))
    # A config saved before the knobs existed loads with SimCLR's values.
    old = {k: v for k, v in config.items() if k not in knobs}
    default = layers.SimCLRAugment(16, 16, seed=1, name=config["name"]).get_config()
    assert layers.SimCLRAugment.from_config(old).get_config() == default
    # ColorDistortion keeps its components too.
    colour = layers.ColorDistortion(jitter_hue=0.05, jitter_contrast=0.0)
    assert layers.ColorDistortion.from_config(colour.get_config()).jitter == (
        0.8,
        0.0,
        0.8,
        0.05,
    )
