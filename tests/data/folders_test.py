"""keras_simclr.data.folders: image folders, their splits and corrupt files."""

import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_simclr import data
from keras_simclr.data.folders import folder_split
from tests.data.elements import as_arrays


def _save(path, array, fmt):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, fmt)


@pytest.fixture
def folder(tmp_path):
    """Two classes ('cat' PNGs of 20x24, 'dog' JPEGs of 30x30), 3 each."""
    rng = np.random.default_rng(0)
    for i in range(3):
        _save(
            str(tmp_path / "cat" / f"c{i}.png"),
            rng.integers(0, 255, (20, 24, 3), np.uint8),
            "PNG",
        )
        _save(
            str(tmp_path / "dog" / f"d{i}.jpg"),
            rng.integers(0, 255, (30, 30, 3), np.uint8),
            "JPEG",
        )
    (tmp_path / "notes.txt").write_text("not an image, ignored")
    return tmp_path


def test_folder_with_class_subfolders(folder):
    ds, info = data.load(str(folder), with_info=True)
    assert info.kind == "folder" and info.num_classes == 2
    assert info.class_names == ["cat", "dog"] and info.num_examples == 6
    images, labels = as_arrays(ds)
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 1])
    assert [im.shape for im in images] == [(20, 24, 3)] * 3 + [(30, 30, 3)] * 3
    # PNG is lossless: the pixels are the ones written.
    written = np.asarray(Image.open(folder / "cat" / "c0.png"))
    np.testing.assert_array_equal(images[0], written)
    images, _ = as_arrays(data.load(str(folder), image_size=16))
    assert {im.shape for im in images} == {(16, 16, 3)}


def test_flat_folder_is_unlabelled(tmp_path):
    for i in range(2):
        _save(str(tmp_path / f"{i}.jpg"), np.zeros((9, 9, 3), np.uint8), "JPEG")
    ds, info = data.load(str(tmp_path), with_info=True)
    assert info.num_classes is None
    assert as_arrays(ds)[1].tolist() == [-1, -1]


def test_folder_splits_and_slices(folder, tmp_path):
    # Whole folder as "train", slices of a fixed shuffle for held-out parts.
    first = data.describe(str(folder), "train[:50%]")
    rest = data.describe(str(folder), "train[50%:]")
    assert first.num_examples + rest.num_examples == 6
    with pytest.raises(data.DataError, match="no 'test' split"):
        data.describe(str(folder), "test")
    # Sub-folders named after the splits.
    for split in ("train", "test"):
        _save(
            str(tmp_path / "split" / split / "a" / "x.png"),
            np.zeros((4, 4, 3), np.uint8),
            "PNG",
        )
    assert data.describe(str(tmp_path / "split"), "test").num_examples == 1


def test_folder_user_errors(folder, tmp_path):
    with pytest.raises(data.DataError, match="no folder"):
        data.describe(str(tmp_path / "missing") + "/")
    _save(str(folder / "loose.png"), np.zeros((4, 4, 3), np.uint8), "PNG")
    with pytest.raises(data.DataError, match="both images"):
        data.describe(str(folder))
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataError, match="no .jpg/.jpeg/.png"):
        data.describe(str(tmp_path / "empty"))


def _corrupt_folder(folder):
    text = folder / "cat" / "page.jpg"
    text.write_text("<html>not found</html>")
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(buffer, "JPEG")
    truncated = folder / "dog" / "half.jpg"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return str(text), str(truncated)


def test_corrupt_files_named_or_skipped(folder, capsys):
    text, truncated = _corrupt_folder(folder)
    # A file that is not an image at all: the error names it.
    with pytest.raises(tf.errors.InvalidArgumentError, match="page.jpg"):
        as_arrays(data.load(str(folder)))
    paths, _, _ = folder_split(str(folder), "train")
    assert data.find_corrupt_images(paths) == sorted([text, truncated])
    # Skipping: one warning line per file, the others load.
    images, labels = as_arrays(data.load(str(folder), on_corrupt="skip"))
    assert len(images) == 6
    warnings = [
        line
        for line in capsys.readouterr().out.splitlines()
        if "skipping corrupt image" in line
    ]
    assert sorted(w.split()[-1] for w in warnings) == sorted([text, truncated])
    with pytest.raises(data.DataError, match="on_corrupt"):
        data.load(str(folder), on_corrupt="ignore")


def _split_folder(root, classes_by_split):
    """One black image in root/<split>/<class>/ for each listed class."""
    for split, classes in classes_by_split.items():
        for name in classes:
            _save(
                str(root / split / name / "0.png"), np.zeros((4, 4, 3), np.uint8), "PNG"
            )


def test_every_split_numbers_its_classes_as_training_does(tmp_path):
    _split_folder(tmp_path, {"train": ["cat", "dog", "fox"], "test": ["cat", "fox"]})
    train, train_info = data.load(str(tmp_path), "train", with_info=True)
    test, test_info = data.load(str(tmp_path), "test", with_info=True)
    assert as_arrays(train)[1].tolist() == [0, 1, 2]
    assert as_arrays(test)[1].tolist() == [0, 2]  # fox is 2 in both splits
    assert test_info.class_names == train_info.class_names == ["cat", "dog", "fox"]
    assert test_info.num_classes == 3
    paths, labels, _ = folder_split(str(tmp_path), "test[:50%]")
    assert labels == [0 if "cat" in paths[0] else 2]


def test_a_test_class_training_lacks_is_refused_in_one_line(tmp_path):
    _split_folder(tmp_path, {"train": ["cat", "dog"], "test": ["cat", "fox", "owl"]})
    with pytest.raises(data.DataError) as caught:
        data.load(str(tmp_path), "test")
    assert str(caught.value) == (
        f"{tmp_path / 'test'} has class folders that {tmp_path / 'train'} lacks "
        "(fox, owl): their images have no training label — add those classes "
        "to train/, or remove them from this split."
    )


@pytest.mark.parametrize("target", ["missing.jpg", "self"])
def test_a_broken_symlink_is_named_in_one_line_or_skipped(folder, target, capsys):
    link = folder / "cat" / "link.jpg"
    os.symlink(target if target != "self" else str(link), link)
    with pytest.raises(data.DataError) as caught:
        data.load(str(folder))
    assert str(caught.value) == (
        f"image file {link} is a broken link (its target is missing, or it "
        "points to itself) — fix or delete it, or skip unreadable files "
        "(on_corrupt='skip', --skip_corrupt)."
    )
    ds, info = data.load(str(folder), on_corrupt="skip", with_info=True)
    assert len(as_arrays(ds)[0]) == 6 and info.num_classes == 2
    out = capsys.readouterr().out
    assert f"keras-simclr: warning: skipping corrupt image {link}" in out
