"""keras_simclr.data.shapes: the embedded dataset, its splits and slices."""

import numpy as np
import pytest

from keras_simclr import data
from tests.data.elements import as_arrays


def test_shapes_is_deterministic_balanced_and_labelled():
    images, labels = data.make_shapes(200, seed=3)
    again, _ = data.make_shapes(200, seed=3)
    other, _ = data.make_shapes(200, seed=4)
    assert images.shape == (200, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(labels), [20] * 10)
    np.testing.assert_array_equal(images, again)
    assert not np.array_equal(images, other)
    # Colour carries no class information: the mean colour of a class is
    # about the mean colour of all images.
    by_class = np.stack([images[labels == c].mean((0, 1, 2)) for c in range(10)])
    assert np.abs(by_class - images.mean((0, 1, 2))).max() < 40


def test_shapes_splits_and_slices():
    info = data.describe("shapes")
    assert info == data.DatasetInfo(
        "shapes", "embedded", 10, (32, 32), 5000, info.class_names
    )
    assert len(info.class_names) == 10
    assert data.describe("shapes", "test").num_examples == 1000
    ds, info = data.load("shapes", "test[:10%]", with_info=True)
    images, labels = as_arrays(ds)
    assert len(images) == info.num_examples == 100
    assert images[0].shape == (32, 32, 3) and images[0].dtype == np.uint8
    with pytest.raises(data.DataError, match="split='train' or split='test'"):
        data.describe("shapes", "validation")
