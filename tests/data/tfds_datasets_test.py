"""keras_simclr.data.tfds_datasets: tfds by name, mocked (nothing is downloaded)."""

import numpy as np
import pytest

from keras_simclr import data
from keras_simclr.data import tfds_datasets
from tests.data.elements import as_arrays


def test_tfds_by_name_with_labels_and_unlabelled_split(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        ds, info = data.load("cifar10", "train", with_info=True)
        assert info.kind == "tfds" and info.num_classes == 10
        assert info.image_size == (32, 32)
        images, labels = as_arrays(ds)
        assert len(images) == 6 and images[0].dtype == np.uint8
        assert images[0].shape == (32, 32, 3)
        assert labels.dtype == np.int32 and ((0 <= labels) & (labels < 10)).all()

        ds, info = data.load("stl10", "unlabelled", image_size=32, with_info=True)
        assert info.num_classes is None and info.image_size == (96, 96)
        images, labels = as_arrays(ds)
        assert images[0].shape == (32, 32, 3)
        np.testing.assert_array_equal(labels, [-1] * len(labels))

        raw, _, info = data.raw_dataset("stl10", "train")
        assert info.num_examples == 6  # counted: the mock has no metadata

    with pytest.raises(data.DataError, match="unknown dataset 'no_such_set'"):
        data.describe("no_such_set")
    with pytest.raises(data.DataError, match="does not exist"):
        data.describe("cifar10", data_dir=str(tmp_path / "nowhere"))


def test_malformed_tfds_name_is_one_line_with_the_close_names():
    with pytest.raises(data.DataError) as caught:
        data.describe("cifar-10")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("unknown dataset 'cifar-10' — did you mean cifar10")


def test_a_dataset_not_prepared_is_refused_in_one_line_without_downloading(
    tmp_path, monkeypatch
):
    import tensorflow_datasets as tfds

    def no_download(*args, **kwargs):
        raise AssertionError("the test tried to download")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", no_download)
    monkeypatch.setattr(tfds_datasets, "_online", lambda: False)
    empty = str(tmp_path)
    with pytest.raises(data.DataError) as caught:
        data.load("cifar10", "train", data_dir=empty)
    assert str(caught.value) == (
        f"tfds dataset 'cifar10' is not downloaded and prepared in {empty} — on a "
        f"machine with network access run `tfds build cifar10 --data_dir={empty}` "
        "(or tfds.load('cifar10', download=True) in Python), copy that folder "
        f"here if needed, and pass data_dir={empty}."
    )


def test_a_dataset_not_prepared_is_downloaded_when_online(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    prepared = []

    def download_and_prepare(builder, *args, **kwargs):
        prepared.append(builder.name)
        raise KeyboardInterrupt  # stop here: nothing is fetched in a test

    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", download_and_prepare
    )
    monkeypatch.setattr(tfds_datasets, "_online", lambda: True)
    with pytest.raises(KeyboardInterrupt):
        data.load("cifar10", "train", data_dir=str(tmp_path))
    assert prepared == ["cifar10"]


def test_the_network_probe_says_offline_when_the_storage_is_unreachable(monkeypatch):
    monkeypatch.setattr(tfds_datasets, "TFDS_STORAGE", ("127.0.0.1", 9))
    assert tfds_datasets._online() is False


def test_the_network_probe_goes_through_the_https_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert tfds_datasets._first_hop() == ("127.0.0.1", 9)
    assert tfds_datasets._online() is False
