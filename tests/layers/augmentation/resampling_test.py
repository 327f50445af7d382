"""Tests of the separable crop-and-resize."""

import numpy as np
import pytest
import tensorflow as tf  # tf.image.resize: the reference, on NumPy inputs

from keras_simclr.layers.augmentation import resampling
from tests.layers.augmentation.layer_inputs import random_images

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize(
    "interpolation,tolerance", [("bilinear", 2e-5), ("bicubic", 3e-3)]
)
@pytest.mark.parametrize("source", [(20, 26), (90, 120)])  # matmul, gather
def test_crop_matches_tf_image_resize_of_the_slice(interpolation, tolerance, source):
    height, width = source
    images = random_images(5, height, width, seed=4)
    boxes = [
        (0, 0, height, width),
        (3, 5, 9, 14),
        (1, 2, height - 1, 7),
        (height // 2, width // 3, height // 3, width // 2),
        (0, width - 4, 4, 4),
    ]
    y0, x0, h, w = (np.array(v, "float32") for v in zip(*boxes))
    out = np.asarray(
        resampling.crop_and_resize(images, (y0, x0, h, w), 16, 12, interpolation)
    )
    for i, (by, bx, bh, bw) in enumerate(boxes):
        piece = images[i, by : by + bh, bx : bx + bw].astype("float32") / 255.0
        expected = tf.clip_by_value(
            tf.image.resize(piece, (16, 12), method=interpolation), 0.0, 1.0
        )
        np.testing.assert_allclose(out[i], expected, atol=tolerance)
