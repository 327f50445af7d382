"""Bad input to data.load: a one-line DataError, never a silent wrong answer."""

import numpy as np
import pytest

from keras_simclr import data
from keras_simclr.errors import UserInputError
from tests.random_images import images, with_nan_in_image


def test_arrays_have_only_a_train_split():
    # Every split name used to return every image, typos included.
    x = (images(10) * 255).astype(np.uint8)
    with pytest.raises(
        data.DataError, match=r"has splits \['train'\], not 'test' — split"
    ):
        data.load((x, np.arange(10) % 2), split="test")
    with pytest.raises(data.DataError, match="not 'trian'"):
        data.describe(x, split="trian")


def test_npz_test_arrays_and_a_fixed_shuffle_split(tmp_path):
    x = (images(10) * 255).astype(np.uint8)
    y = np.arange(10) // 5  # class-sorted
    path = str(tmp_path / "set.npz")
    np.savez(path, x=x, y=y)
    with pytest.raises(
        data.DataError, match="has no test arrays .* or split the training"
    ):
        data.load(path, split="test")
    np.savez(path, x=x, y=y, x_test=x[:3], y_test=y[:3])
    test = list(data.load(path, split="test").as_numpy_iterator())
    assert [label for _, label in test] == [0, 0, 0]
    np.testing.assert_array_equal(test[2][0], x[2])
    assert data.describe(path, "test").num_examples == 3
    # Slices cut a fixed shuffle: both parts hold both classes and
    # together hold every image once.
    head = [
        label for _, label in data.load(path, split="train[:60%]").as_numpy_iterator()
    ]
    tail = [
        label for _, label in data.load(path, split="train[60%:]").as_numpy_iterator()
    ]
    assert sorted(head + tail) == sorted(y.tolist())
    assert set(head) == set(tail) == {0, 1}
    order = np.random.default_rng(0).permutation(10)
    assert head == y[order[:6]].tolist()


@pytest.mark.parametrize(
    "x, y, message",
    [
        # 100% of the pixels used to become 255.
        (
            images(4) * 255,
            None,
            r"float images must be in \[0, 1\], got values in \[0\.\d+, 2\d\d\.\d+\] "
            "— divide them by 255, or pass uint8",
        ),
        (with_nan_in_image(2)[:4], None, r"NaN or Inf pixels \(image 2 is the first\)"),
        (
            images(4),
            np.array([0, 1, 2.7, 1]),
            "labels must be integer class ids, got 2.7",
        ),
        (images(4), np.array(["a", "b", "a", "b"]), "got dtype <U1"),
    ],
    ids=["255", "nan", "float_label", "string_label"],
)
def test_load_refuses_bad_arrays(x, y, message):
    with pytest.raises(data.DataError, match=message):
        data.load(x if y is None else (x, y))


@pytest.mark.parametrize(
    "make, message",
    [
        # A TensorFlow resize error, at the first image, used to be the message.
        (
            lambda: data.load((images(2) * 255).astype(np.uint8), image_size=0),
            "image_size must be >= 1, got 0",
        ),
    ],
    ids=["load_image_size"],
)
def test_load_image_size_is_an_integer(make, message):
    with pytest.raises(UserInputError, match=message):
        make()
