"""The one entry point of every data source: `load`, `describe`, `raw_dataset`.

Each source kind (tfds, image folder, arrays or `.npz`, the embedded
"shapes") lives in its own module; `source_kind` tells which a dataset
argument is, and the functions here hand it to that module.
"""

import os

import numpy as np
import tensorflow as tf

from keras_simclr import errors
from keras_simclr.data import arrays, folders, images, shapes, tfds_datasets
from keras_simclr.data.data_error import DataError

__all__ = ["describe", "encoded_reader", "load", "raw_dataset", "source_kind"]


def source_kind(dataset):
    """Which kind of source a dataset argument names.

    Args:
        dataset: see `describe`.

    Returns:
        "numpy", "npz", "embedded", "folder" or "tfds". A string is a folder
        when it holds a path separator, starts with "." or "~", or is an
        existing directory; any other string but "shapes" is a tfds name.

    Raises:
        DataError: `dataset` is neither a non-empty string nor arrays.

    Example:

    >>> [source_kind(d) for d in ("shapes", "set.npz", "./photos", "cifar10")]
    ['embedded', 'npz', 'folder', 'tfds']
    """
    if isinstance(dataset, (tuple, list, np.ndarray)):
        return "numpy"
    if not isinstance(dataset, str) or not dataset:
        raise DataError(
            f"dataset must be a name, a folder, a .npz file or arrays, got "
            f"{dataset!r} — pass e.g. 'cifar10', a folder path or (images, labels)."
        )
    if dataset == shapes.EMBEDDED:
        return "embedded"
    if dataset.endswith(".npz"):
        return "npz"
    if (
        os.sep in dataset
        or dataset.startswith((".", "~"))
        or tf.io.gfile.isdir(dataset)
    ):
        return "folder"
    return "tfds"


def describe(dataset, split="train", data_dir=None):
    """Says what a dataset split holds, without reading its images.

    Args:
        dataset: a tfds name ("cifar10", "stl10", "imagenet2012", with an
            optional "/config" or ":version"), a folder of images (class
            sub-folders for labels, or a flat folder: unlabelled), a `.npz`
            file with arrays `images` and optional `labels`, NumPy arrays
            `images` or `(images, labels)`, or `"shapes"` (the embedded
            dataset, see `make_shapes`).
        split: the split: a tfds split expression ("train", "unlabelled",
            "train+unlabelled", "train[:10%]"); for a folder, a sub-folder
            name or "train" (the whole folder), with an optional slice;
            for arrays, "train" (all of them), for a `.npz` also "test"
            (its arrays `x_test`/`test_images` and `y_test`/`test_labels`),
            with an optional slice; for "shapes", "train" (5,000 images)
            or "test" (1,000). A slice of a folder or of arrays cuts a
            fixed shuffle (seed 0) of them, so that "train[:80%]" and
            "train[80%:]" are a deterministic split holding every class;
            any other split name is refused.
        data_dir: tfds data directory (where `tfds` looks for prepared data).

    Returns:
        A `DatasetInfo`.

    Raises:
        DataError: unknown dataset, missing folder or data_dir, unknown split.

    Example:

    >>> describe("shapes")  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    DatasetInfo(name='shapes', kind='embedded', num_classes=10,
                image_size=(32, 32), num_examples=5000, class_names=[...])
    """
    kind = source_kind(dataset)
    if kind == "embedded":
        return shapes.describe_shapes(split)
    if kind in ("numpy", "npz"):
        return arrays.describe_arrays(dataset, split)
    if kind == "folder":
        return folders.describe_folder(dataset, split)
    return tfds_datasets.describe_tfds(dataset, split, data_dir)


def encoded_reader(dataset):
    """How to read the raw elements of `raw_dataset` still encoded.

    For pipelines that decode only part of an image (a JPEG crop window):
    `read(raw_image)` gives the file's bytes and `decode(contents)` the
    whole uint8 (H, W, 3) image, for the formats that cannot be decoded in
    part.

    Args:
        dataset: see `describe`.

    Returns:
        `(read, decode)` graph functions for files and tfds datasets; None
        for arrays and the embedded set, whose raw elements are decoded
        images already.

    Example:

    >>> encoded_reader("shapes") is None
    True
    >>> read, decode = encoded_reader("./photos")
    """
    kind = source_kind(dataset)
    if kind == "folder":
        return folders.read_encoded_file, images.decode
    if kind == "tfds":
        return tf.identity, images.decode
    return None


def raw_dataset(dataset, split="train", data_dir=None, on_corrupt="error"):
    """Returns a split before decoding: what pipelines shuffle and shard.

    Shuffling and sharding file paths or encoded bytes is cheaper than
    shuffling decoded images; `decode` turns a raw element into the image.

    Args:
        dataset: see `describe`.
        split: see `describe`.
        data_dir: tfds data directory.
        on_corrupt: for image folders, "error" or "skip"; see `load`.

    Returns:
        `(raw, decode, info)`: `raw` an unbatched `tf.data.Dataset` of
        `(raw_image, int32 label)`; `decode(raw_image)` a graph function
        returning a uint8 (H, W, 3) image; `info` a `DatasetInfo` whose
        `num_examples` is always set (counted when tfds has no metadata).

    Raises:
        DataError: see `describe`.

    Example:

    >>> raw, decode, info = raw_dataset("shapes", "test[:4]")
    >>> decoded = raw.map(lambda image, label: decode(image))
    >>> info.num_examples, decoded.element_spec.shape
    (4, TensorShape([32, 32, 3]))
    """
    if on_corrupt not in ("error", "skip"):
        raise DataError(
            f"on_corrupt must be 'error' or 'skip', got {on_corrupt!r} — pass "
            "on_corrupt='skip' to skip unreadable image files."
        )
    kind = source_kind(dataset)
    if kind == "folder":
        info = folders.describe_folder(dataset, split, on_corrupt)
        raw, count = folders.folder_dataset(dataset, split, on_corrupt)
        return raw, folders.read_image_file, info._replace(num_examples=count)
    info = describe(dataset, split, data_dir)
    if kind == "tfds":
        raw = tfds_datasets.tfds_dataset(dataset, split, data_dir)
        if info.num_examples is None:
            info = info._replace(num_examples=int(raw.reduce(0, lambda n, _: n + 1)))
        return raw, images.decode, info
    if kind == "embedded":
        return shapes.shapes_dataset(split), tf.identity, info
    return arrays.array_dataset(dataset, split), tf.identity, info


def load(
    dataset,
    split="train",
    data_dir=None,
    image_size=None,
    on_corrupt="error",
    with_info=False,
):
    """Loads a dataset split as `(uint8 image, int32 label)` pairs.

    The one entry point for every source; the pipelines of pretraining and
    evaluation start from it.

    Args:
        dataset: a tfds name, a folder of images, a `.npz` file, NumPy
            arrays `images` or `(images, labels)`, or `"shapes"`; see
            `describe`.
        split: which split; see `describe`.
        data_dir: tfds data directory.
        image_size: None keeps each image's own size (possibly varying);
            an int resizes every image to (image_size, image_size).
        on_corrupt: for image folders, "error" (default) stops at an
            unreadable file (non-image files are named in the error; use
            `find_corrupt_images` to name the others); "skip" decodes every
            file once first and skips the bad ones, one warning line each.
        with_info: also return `describe(dataset, split, data_dir)`.

    Returns:
        An unbatched, unshuffled `tf.data.Dataset` of `(image, label)`:
        image uint8 (H, W, 3), label int32 (-1 when unlabelled); with
        `with_info`, the pair `(dataset, info)`.

    Raises:
        DataError: see `describe`; also an unknown `on_corrupt`.
        UserInputError: an `image_size` that is not an integer >= 1.

    Example:

    >>> ds, info = load("shapes", split="test[:8]", image_size=16, with_info=True)
    >>> image, label = next(iter(ds))
    >>> info.num_classes, info.num_examples, image.shape
    (10, 8, TensorShape([16, 16, 3]))
    """
    if image_size is not None:
        image_size = errors.check_positive_int("image_size", image_size)
    raw, decode, info = raw_dataset(dataset, split, data_dir, on_corrupt)

    def decode_and_resize(image, label):
        image = decode(image)
        if image_size is not None:
            image = images.resize(image, image_size)
        return image, label

    ds = raw.map(
        decode_and_resize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return (ds, info) if with_info else ds
