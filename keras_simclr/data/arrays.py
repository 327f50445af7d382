"""In-memory NumPy arrays and `.npz` files of arrays as a data source."""

import io

import numpy as np
import tensorflow as tf

from keras_simclr.data.data_error import DataError
from keras_simclr.data.dataset_info import DatasetInfo
from keras_simclr.data.splits import parse_split, shuffled_slice

__all__ = ["array_dataset", "describe_arrays"]

_NPZ_KEYS = {
    "train": (("images", "x", "image"), ("labels", "y", "label")),
    "test": (("test_images", "x_test"), ("test_labels", "y_test")),
}

_SPLIT_BY_SLICES = (
    "split the training arrays instead: split='train[:80%]' and "
    "eval_split='train[80%:]' (a fixed shuffle, as for image folders)"
)


def _array_split_name(dataset, kind, split):
    """The split name of arrays: 'train', or 'test' for a .npz with test arrays."""
    name = parse_split(split)[0]
    allowed = _NPZ_KEYS if kind == "npz" else ("train",)
    if name not in allowed:
        what = dataset if kind == "npz" else "in-memory arrays"
        raise DataError(
            f"{what} has splits {sorted(allowed)}, not '{name}' — {_SPLIT_BY_SLICES}."
        )
    return name


def _read_npz(path, split_name):
    if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
        raise DataError(f"no file {path} — check the path.")
    image_keys, label_keys = _NPZ_KEYS[split_name]
    with tf.io.gfile.GFile(path, "rb") as f:
        contents = io.BytesIO(f.read())
    with np.load(contents) as data:
        keys = set(data.files)
        image_key = next((k for k in image_keys if k in keys), None)
        if image_key is None and split_name == "test":
            raise DataError(
                f"{path} has no test arrays ('x_test' or 'test_images', with "
                f"'y_test' or 'test_labels') — add them, or {_SPLIT_BY_SLICES}."
            )
        if image_key is None:
            raise DataError(
                f"{path} has arrays {sorted(keys)}; it needs 'images' "
                "(or 'x') and optionally 'labels' (or 'y') — save them under "
                "those names, e.g. np.savez(path, images=x, labels=y)."
            )
        label_key = next((k for k in label_keys if k in keys), None)
        return data[image_key], data[label_key] if label_key else None


def _check_pixels(images):
    """Refuses float images outside [0, 1] and NaN/Inf pixels."""
    if not np.all(np.isfinite(images)):
        bad = int(
            np.flatnonzero(~np.isfinite(images).reshape(len(images), -1).all(1))[0]
        )
        raise DataError(
            f"images hold NaN or Inf pixels (image {bad} is the first) — drop "
            "or repair them, e.g. keep images[np.isfinite(images).all((1, 2, 3))]."
        )
    if images.size and (images.max() > 1 or images.min() < 0):
        raise DataError(
            f"float images must be in [0, 1], got values in [{images.min():g}, "
            f"{images.max():g}] — divide them by 255, or pass uint8 images."
        )


def _check_array_labels(labels):
    labels = np.asarray(labels).reshape(-1)
    if not (
        np.issubdtype(labels.dtype, np.integer)
        or np.issubdtype(labels.dtype, np.floating)
    ):
        raise DataError(
            f"labels must be integer class ids, got dtype {labels.dtype} — map "
            "class names to ids 0 .. num_classes - 1."
        )
    if np.issubdtype(labels.dtype, np.floating):
        fractional = labels[labels != np.round(labels)]
        if fractional.size:
            raise DataError(
                f"labels must be integer class ids, got {fractional[0]:g} — "
                "pass integer labels, e.g. labels.astype(np.int32)."
            )
    return labels.astype(np.int32)


def _arrays(dataset, kind, split_name="train"):
    """Returns (images, labels) NumPy arrays of a numpy or npz dataset."""
    if kind == "npz":
        images, labels = _read_npz(dataset, split_name)
    elif isinstance(dataset, (tuple, list)):
        if len(dataset) != 2:
            raise DataError(
                f"got a sequence of {len(dataset)} arrays, expected images or "
                "(images, labels) — pass the images alone, or the pair "
                "(images, labels)."
            )
        images, labels = dataset
    else:
        images, labels = dataset, None
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DataError(
            f"images must have shape (n, height, width, 3), got {images.shape} "
            "— pass a batch of RGB images; repeat a grayscale channel, e.g. "
            "np.repeat(images[..., None], 3, axis=-1)."
        )
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.floating):
            raise DataError(
                f"images must be uint8 or float in [0, 1], got {images.dtype} — "
                "convert them, e.g. images.astype(np.uint8)."
            )
        _check_pixels(images)
        images = np.round(images * 255).astype(np.uint8)
    if labels is None:
        labels = np.full(len(images), -1, np.int32)
    labels = _check_array_labels(labels)
    if len(labels) != len(images):
        raise DataError(
            f"{len(images)} images but {len(labels)} labels — pass one label per image."
        )
    return images, labels


def _array_num_classes(labels):
    labelled = labels[labels >= 0]
    return int(labelled.max()) + 1 if labelled.size else None


def _split_arrays(dataset, split):
    """(images, labels, indices of the split's slice) of arrays or a .npz."""
    kind = "npz" if isinstance(dataset, str) else "numpy"
    images, labels = _arrays(dataset, kind, _array_split_name(dataset, kind, split))
    _, start, stop = parse_split(split)
    return images, labels, shuffled_slice(len(images), start, stop)


def describe_arrays(dataset, split="train"):
    """What arrays or a `.npz` file hold, checked and counted.

    Args:
        dataset: NumPy arrays `images` or `(images, labels)`, or the path of
            a `.npz` file with arrays `images` (or `x`) and optional
            `labels` (or `y`), and for split "test" `x_test`/`test_images`
            and `y_test`/`test_labels`. Images are uint8 or float in
            [0, 1], shape (n, height, width, 3); labels integer class ids.
        split: "train" (all the arrays) or, for a `.npz`, "test", with an
            optional slice of a fixed shuffle ("train[:80%]").

    Returns:
        A `DatasetInfo` of kind "numpy".

    Raises:
        DataError: bad shapes, dtypes, pixel values, labels or split.

    Example:

    >>> x = np.zeros((6, 8, 8, 3), np.uint8)
    >>> info = describe_arrays((x, np.arange(6) % 3), "train[:50%]")
    >>> info.num_classes <= 3, info.image_size, info.num_examples
    (True, (8, 8), 3)
    """
    images, labels, indices = _split_arrays(dataset, split)
    labels = labels[indices]
    name = dataset if isinstance(dataset, str) else "numpy"
    return DatasetInfo(
        name,
        "numpy",
        _array_num_classes(labels),
        tuple(images.shape[1:3]),
        len(labels),
        None,
    )


def array_dataset(dataset, split="train"):
    """A split of arrays or a `.npz` file as decoded `(image, label)` pairs.

    Args:
        dataset: see `describe_arrays`.
        split: see `describe_arrays`.

    Returns:
        An unbatched `tf.data.Dataset` of (uint8 (H, W, 3), int32), label
        -1 for unlabelled arrays; float images are scaled to uint8.

    Raises:
        DataError: see `describe_arrays`.

    Example:

    >>> x = np.full((2, 4, 4, 3), 0.5, np.float32)
    >>> [(int(image[0, 0, 0]), int(label)) for image, label in array_dataset(x)]
    [(128, -1), (128, -1)]
    """
    images, labels, indices = _split_arrays(dataset, split)
    return tf.data.Dataset.from_tensor_slices((images[indices], labels[indices]))
