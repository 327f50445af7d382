"""The augmentation knobs in tf.data: the host crops of full-resolution
images follow the augment layer's crop_scale and crop_ratio in both modes,
and "data" mode applies its colour, grayscale and blur probabilities."""

import numpy as np
import tensorflow as tf

from keras_simclr import data
from keras_simclr.layers import SimCLRAugment
from tests.layers.augmentation.layer_inputs import expected_crop_area, ramp_boxes

HEIGHT, WIDTH, SIZE = 120, 200, 32
# Every colour step off and no flip: a view is its crop.
CROP_ONLY = dict(flip=False, color_jitter_prob=0.0, grayscale_prob=0.0)


def _ramps(count, height=HEIGHT, width=WIDTH, y_step=2, x_step=1):
    """uint8 images whose red is y_step * y and green x_step * x."""
    y, x = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    ramp = np.stack([y_step * y, x_step * x, 0 * x], -1)
    return np.repeat(ramp[None].astype(np.uint8), count, axis=0)


def _augment(**knobs):
    augment = SimCLRAugment(SIZE, SIZE, **knobs)
    # Plain TensorFlow ops: the compiled chain's numbers, without compiling
    # it once per layer (tests/layers/augmentation checks they agree).
    augment.jit_compile = False
    return augment


def _stream(images, batches, **kwargs):
    stream, _, _ = data.pretraining_dataset(
        images,
        global_batch_size=len(images),
        image_size=SIZE,
        with_labels=False,
        seed=0,
        **kwargs,
    )
    return [tf.nest.map_structure(np.asarray, b) for b in stream.take(batches)]


def _host_crops(**knobs):
    """Device mode: the uint8 crops made here, both views, 400 of them."""
    augment = _augment(**knobs) if knobs else None
    batches = _stream(_ramps(50), 4, augment=augment)
    return np.concatenate([b[k] for b in batches for k in ("crop1", "crop2")])


def _areas_and_ratios(views, y_step=2, x_step=1, height=HEIGHT, width=WIDTH):
    h, w = ramp_boxes(views, y_step, x_step)
    return h * w / (height * width), w / h


def test_host_crops_follow_crop_scale_and_crop_ratio():
    areas, ratios = _areas_and_ratios(_host_crops(crop_scale=(0.6, 1.0)))
    # uint8 views: each side read to within a pixel or so.
    assert areas.min() >= 0.6 - 0.03 and areas.max() <= 1.0 + 0.03
    expected = expected_crop_area(HEIGHT, WIDTH, scale=(0.6, 1.0))
    assert abs(areas.mean() - expected) < 0.02
    assert ratios.min() >= 0.75 - 0.04 and ratios.max() <= 4 / 3 + 0.04
    # Without a layer: SimCLR's crop, areas from 0.08.
    default, _ = _areas_and_ratios(_host_crops())
    assert default.min() < 0.2
    assert abs(default.mean() - expected_crop_area(HEIGHT, WIDTH)) < 0.03
    _, ratios = _areas_and_ratios(_host_crops(crop_ratio=(1.5, 2.0)))
    assert ratios.min() >= 1.5 - 0.06 and ratios.max() <= 2.0 + 0.06


def test_data_mode_views_are_the_host_crops_when_no_colour_step_runs():
    """Same seed, same crops: "data" mode's views with every probability 0
    (blur on, blur_prob 0) are the "device" mode's crops exactly; with
    grayscale_prob 1 every view is gray; with blur_prob 1 smoother."""
    images = np.stack(
        [
            np.random.default_rng(i).integers(0, 256, (HEIGHT, WIDTH, 3))
            for i in range(24)
        ]
    ).astype(np.uint8)
    knobs = dict(CROP_ONLY, crop_scale=(0.6, 1.0), blur=True)
    crops = _stream(images, 1, augment=_augment(**knobs))[0]

    def views(**changes):
        augment = _augment(**dict(knobs, **changes))
        ((view1, view2),) = _stream(images, 1, augment_on="data", augment=augment)[0]
        return view1, view2

    for view, name in zip(views(blur_prob=0.0), ("crop1", "crop2")):
        np.testing.assert_allclose(view, crops[name] / 255.0, atol=1e-6)
    for view in views(grayscale_prob=1.0):
        assert np.all(np.abs(view - view[..., :1]) < 1e-6)
    for view, name in zip(views(blur_prob=1.0), ("crop1", "crop2")):
        rough = np.abs(np.diff(view, axis=2)).mean((1, 2, 3))
        plain = np.abs(np.diff(crops[name] / 255.0, axis=2)).mean((1, 2, 3))
        assert np.all(rough <= plain + 1e-6) and np.mean(rough < 0.9 * plain) > 0.7


def test_data_mode_without_host_crops_applies_the_knobs():
    """Images of the model's size go whole; the layer crops them in tf.data
    with its crop_scale."""
    ramps = _ramps(50, SIZE, SIZE, y_step=8, x_step=8)
    augment = _augment(blur=False, crop_scale=(0.6, 1.0), **CROP_ONLY)
    views = np.concatenate(
        [
            v
            for (pair,) in _stream(ramps, 2, augment_on="data", augment=augment)
            for v in pair
        ]
    )
    areas, _ = _areas_and_ratios(views, 8 / 255, 8 / 255, SIZE, SIZE)
    assert areas.min() >= 0.6 - 0.03 and areas.max() <= 1.0 + 0.03
    assert abs(areas.mean() - expected_crop_area(SIZE, SIZE, scale=(0.6, 1.0))) < 0.03
