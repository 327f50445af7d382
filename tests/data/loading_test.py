"""keras_simclr.data: every source, split handling, corrupt files, the pipeline."""

import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_simclr import data
from keras_simclr.layers import SimCLRAugment
from tests.replicas import run_with_replicas


def _as_arrays(ds):
    images, labels = zip(*ds.as_numpy_iterator())
    return list(images), np.array(labels)


def _save(path, array, fmt):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, fmt)


@pytest.fixture
def folder(tmp_path):
    """Two classes ('cat' PNGs of 20x24, 'dog' JPEGs of 30x30), 3 each."""
    rng = np.random.default_rng(0)
    for i in range(3):
        _save(str(tmp_path / "cat" / f"c{i}.png"),
              rng.integers(0, 255, (20, 24, 3), np.uint8), "PNG")
        _save(str(tmp_path / "dog" / f"d{i}.jpg"),
              rng.integers(0, 255, (30, 30, 3), np.uint8), "JPEG")
    (tmp_path / "notes.txt").write_text("not an image, ignored")
    return tmp_path


# -- the embedded dataset ----------------------------------------------------


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
        "shapes", "embedded", 10, (32, 32), 5000, info.class_names)
    assert len(info.class_names) == 10
    assert data.describe("shapes", "test").num_examples == 1000
    ds, info = data.load("shapes", "test[:10%]", with_info=True)
    images, labels = _as_arrays(ds)
    assert len(images) == info.num_examples == 100
    assert images[0].shape == (32, 32, 3) and images[0].dtype == np.uint8
    with pytest.raises(data.DataError, match="--split=train or --split=test"):
        data.describe("shapes", "validation")


# -- NumPy arrays and .npz ---------------------------------------------------


def test_numpy_arrays_labelled_unlabelled_and_float():
    x = np.random.default_rng(0).integers(0, 255, (6, 8, 8, 3), np.uint8)
    images, labels = _as_arrays(data.load((x, np.arange(6) % 3)))
    np.testing.assert_array_equal(np.stack(images), x)
    np.testing.assert_array_equal(labels, np.arange(6) % 3)
    assert data.describe((x, np.arange(6) % 3)).num_classes == 3

    _, labels = _as_arrays(data.load(x))
    np.testing.assert_array_equal(labels, [-1] * 6)
    assert data.describe(x).num_classes is None

    images, _ = _as_arrays(data.load(x.astype("float32") / 255, image_size=4))
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


# -- image folders -----------------------------------------------------------


def test_folder_with_class_subfolders(folder):
    ds, info = data.load(str(folder), with_info=True)
    assert info.kind == "folder" and info.num_classes == 2
    assert info.class_names == ["cat", "dog"] and info.num_examples == 6
    images, labels = _as_arrays(ds)
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 1])
    assert [im.shape for im in images] == [(20, 24, 3)] * 3 + [(30, 30, 3)] * 3
    # PNG is lossless: the pixels are the ones written.
    written = np.asarray(Image.open(folder / "cat" / "c0.png"))
    np.testing.assert_array_equal(images[0], written)
    images, _ = _as_arrays(data.load(str(folder), image_size=16))
    assert {im.shape for im in images} == {(16, 16, 3)}


def test_flat_folder_is_unlabelled(tmp_path):
    for i in range(2):
        _save(str(tmp_path / f"{i}.jpg"), np.zeros((9, 9, 3), np.uint8), "JPEG")
    ds, info = data.load(str(tmp_path), with_info=True)
    assert info.num_classes is None
    assert _as_arrays(ds)[1].tolist() == [-1, -1]


def test_folder_splits_and_slices(folder, tmp_path):
    # Whole folder as "train", slices of a fixed shuffle for held-out parts.
    first = data.describe(str(folder), "train[:50%]")
    rest = data.describe(str(folder), "train[50%:]")
    assert first.num_examples + rest.num_examples == 6
    with pytest.raises(data.DataError, match="no 'test' split"):
        data.describe(str(folder), "test")
    # Sub-folders named after the splits.
    for split in ("train", "test"):
        _save(str(tmp_path / "split" / split / "a" / "x.png"),
              np.zeros((4, 4, 3), np.uint8), "PNG")
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
        _as_arrays(data.load(str(folder)))
    paths, _, _ = data.sources._folder_split(str(folder), "train")
    assert data.find_corrupt_images(paths) == sorted([text, truncated])
    # Skipping: one warning line per file, the others load.
    images, labels = _as_arrays(data.load(str(folder), on_corrupt="skip"))
    assert len(images) == 6
    warnings = [line for line in capsys.readouterr().out.splitlines()
                if "skipping corrupt image" in line]
    assert sorted(w.split()[-1] for w in warnings) == sorted([text, truncated])
    with pytest.raises(data.DataError, match="on_corrupt"):
        data.load(str(folder), on_corrupt="ignore")


# -- tfds, mocked (nothing is downloaded) ------------------------------------


def test_tfds_by_name_with_labels_and_unlabelled_split(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        ds, info = data.load("cifar10", "train", with_info=True)
        assert info.kind == "tfds" and info.num_classes == 10
        assert info.image_size == (32, 32)
        images, labels = _as_arrays(ds)
        assert len(images) == 6 and images[0].dtype == np.uint8
        assert images[0].shape == (32, 32, 3)
        assert labels.dtype == np.int32 and ((0 <= labels) & (labels < 10)).all()

        ds, info = data.load("stl10", "unlabelled", image_size=32, with_info=True)
        assert info.num_classes is None and info.image_size == (96, 96)
        images, labels = _as_arrays(ds)
        assert images[0].shape == (32, 32, 3)
        np.testing.assert_array_equal(labels, [-1] * len(labels))

        raw, _, info = data.raw_dataset("stl10", "train")
        assert info.num_examples == 6  # counted: the mock has no metadata

    with pytest.raises(data.DataError, match="unknown dataset 'no_such_set'"):
        data.describe("no_such_set")
    with pytest.raises(data.DataError, match="does not exist"):
        data.describe("cifar10", data_dir=str(tmp_path / "nowhere"))


# -- the pretraining pipeline ------------------------------------------------


def test_batch_size_checks():
    data.check_batch_size(512, 8)
    with pytest.raises(data.PipelineError, match="multiple of 8, e.g. --batch_size=8"):
        data.check_batch_size(12, 8)
    with pytest.raises(data.PipelineError, match="fewer than one batch"):
        data.steps_per_epoch(100, 128)
    assert data.steps_per_epoch(50_000, 512) == 97


def _batches(dataset, count):
    iterator = iter(dataset)
    return [tf.nest.map_structure(np.asarray, next(iterator)) for _ in range(count)]


def test_stream_depends_on_the_step_only():
    x, y = data.make_shapes(40, image_size=8)
    kwargs = dict(global_batch_size=8, image_size=8, seed=5)
    stream, info, steps = data.pretraining_dataset((x, y), **kwargs)
    assert steps == 5 and info.num_examples == 40
    batches = _batches(stream, 12)  # more than 2 epochs
    # Each epoch is a permutation of the data, a different one every epoch.
    epoch = lambda e: np.sort(np.concatenate([b[1] for b in batches[5 * e:5 * e + 5]]))
    np.testing.assert_array_equal(epoch(0), np.sort(y))
    np.testing.assert_array_equal(epoch(1), np.sort(y))
    assert not np.array_equal(batches[0][1], batches[5][1])
    # Restarting at step 7 reads what step 7 read.
    resumed, _, _ = data.pretraining_dataset((x, y), start_step=7, **kwargs)
    for a, b in zip(batches[7:], _batches(resumed, 5)):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_views_augmented_in_tf_data_are_reproducible():
    x, y = data.make_shapes(16, image_size=16)
    augment = SimCLRAugment(16, 16, strength=0.5, blur=False)
    kwargs = dict(global_batch_size=4, image_size=16, augment_on="data",
                  augment=augment, with_labels=False, seed=1)
    stream, _, _ = data.pretraining_dataset(x, **kwargs)
    first = _batches(stream, 3)
    (view1, view2), = first[2]
    assert view1.shape == (4, 16, 16, 3) and view1.dtype == np.float32
    assert 0 <= view1.min() and view1.max() <= 1
    assert not np.allclose(view1, view2)
    resumed, _, _ = data.pretraining_dataset(x, start_step=2, **kwargs)
    (again1, again2), = _batches(resumed, 1)[0]
    np.testing.assert_allclose(again1, view1, atol=1e-6)
    np.testing.assert_allclose(again2, view2, atol=1e-6)
    with pytest.raises(data.PipelineError, match="augment layer"):
        data.pretraining_dataset(x, global_batch_size=4, image_size=16,
                                 augment_on="data")


def test_replicas_get_their_slice_of_the_global_batch():
    """2 replicas read the two halves of the batch one replica reads."""
    out = run_with_replicas(
        """
        from keras_simclr import data
        from keras_simclr.layers import SimCLRAugment
        x, y = data.make_shapes(32, image_size=16)
        kwargs = dict(global_batch_size=8, image_size=16, augment_on="data",
                      augment=SimCLRAugment(16, 16, blur=False), seed=2)
        single, _, _ = data.pretraining_dataset(
            (x, y), strategy=tf.distribute.get_strategy(), **kwargs)
        split, _, _ = data.pretraining_dataset((x, y), strategy=strategy, **kwargs)
        (views, labels), = [next(iter(single))]
        ((rviews, rlabels),) = [next(iter(split))]
        local = lambda t: np.concatenate(
            [np.asarray(v) for v in strategy.experimental_local_results(t)])
        save(v1=np.asarray(views[0]), r1=local(rviews[0]),
             v2=np.asarray(views[1]), r2=local(rviews[1]),
             y=np.asarray(labels), ry=local(rlabels))
        """,
        2,
    )
    np.testing.assert_array_equal(out["y"], out["ry"])
    np.testing.assert_allclose(out["v1"], out["r1"], atol=1e-6)
    np.testing.assert_allclose(out["v2"], out["r2"], atol=1e-6)
