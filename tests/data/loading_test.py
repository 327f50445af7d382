"""keras_simclr.data.loading: which module each kind of dataset argument goes to."""

import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import data
from keras_simclr.data import folders, images, loading


def test_source_kind_of_each_dataset_argument(tmp_path):
    x = np.zeros((2, 4, 4, 3), np.uint8)
    assert loading.source_kind(x) == "numpy"
    assert loading.source_kind((x, [0, 1])) == "numpy"
    assert loading.source_kind("shapes") == "embedded"
    assert loading.source_kind("set.npz") == "npz"
    assert loading.source_kind(str(tmp_path)) == "folder"
    assert loading.source_kind("./photos") == "folder"
    assert loading.source_kind("cifar10") == "tfds"
    for bad in ("", None, 3):
        with pytest.raises(data.DataError, match="dataset must be a name"):
            loading.source_kind(bad)


def test_encoded_reader_only_for_files_and_tfds(tmp_path):
    assert loading.encoded_reader("shapes") is None
    assert loading.encoded_reader(np.zeros((2, 4, 4, 3), np.uint8)) is None
    assert loading.encoded_reader(str(tmp_path)) == (
        folders.read_encoded_file,
        images.decode,
    )
    assert loading.encoded_reader("cifar10") == (tf.identity, images.decode)
