"""extract_features: h of every image, in inference mode."""

import numpy as np
import pytest

from keras_simclr import evaluation
from tests.evaluation.patches import MOVING_MEAN, MOVING_STD, patch_data, patch_encoder

pytestmark = pytest.mark.backend_neutral


def test_features_are_computed_in_inference_mode():
    images, labels = patch_data(50)
    encoder = patch_encoder()
    features, got_labels = evaluation.extract_features(encoder, (images, labels))
    cells = images.astype(np.float32).reshape(50, 4, 4, 4, 4, 3) / 255.0
    expected = (cells.mean(axis=(2, 4)).reshape(50, -1) - MOVING_MEAN) / MOVING_STD
    np.testing.assert_allclose(features, expected, atol=1e-5)
    np.testing.assert_array_equal(got_labels, labels)
