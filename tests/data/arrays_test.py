"""keras_simclr.data.arrays: NumPy arrays and .npz files."""

import numpy as np
import pytest

from keras_simclr import data
from tests.data.elements import as_arrays


def test_numpy_arrays_labelled_unlabelled_and_float():
    x = np.random.default_rng(0).integers(0, 255, (6, 8, 8, 3), np.uint8)
    images, labels = as_arrays(data.load((x, np.arange(6) % 3)))
    np.testing.assert_array_equal(np.stack(images), x)
    np.testing.assert_array_equal(labels, np.arange(6) % 3)
    assert data.describe((x, np.arange(6) % 3)).num_classes == 3

    _, labels = as_arrays(data.load(x))
    np.testing.assert_array_equal(labels, [-1] * 6)
    assert data.describe(x).num_classes is None

    images, _ = as_arrays(data.load(x.astype("float32") / 255, image_size=4))
    assert images[0].shape == (4, 4, 3) and images[0].dtype == np.uint8

    with pytest.raises(data.DataError, match=r"\(n, height, width, 3\)"):
        data.load(x[..., 0])
    with pytest.raises(data.DataError, match="6 images but 5 labels"):
        data.load((x, np.arange(5)))


def test_npz_file(tmp_path):
    x = np.zeros((4, 8, 8, 3), np.uint8)
    path = str(tmp_path / "set.npz")
    np.savez(path, x=x, y=np.array([0, 1, 0, 1]))
    ds, info = data.load(path, with_info=True)
    assert info.num_classes == 2 and info.num_examples == 4
    assert info.image_size == (8, 8)
    np.savez(str(tmp_path / "bad.npz"), pixels=x)
    with pytest.raises(data.DataError, match="needs 'images'"):
        data.describe(str(tmp_path / "bad.npz"))
