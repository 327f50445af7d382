"""Where images come from: tfds, image folders, NumPy arrays, the embedded set.

Every source is turned into the same thing: an unbatched `tf.data.Dataset` of
`(image, label)` with `image` a uint8 `(H, W, 3)` tensor and `label` an int32
scalar, -1 for an unlabelled image. `load` returns it; `describe` says what a
dataset holds without reading it.
"""

import collections
import io
import os
import re

import numpy as np
import tensorflow as tf

from keras_simclr import errors

__all__ = [
    "DatasetInfo",
    "EMBEDDED",
    "describe",
    "encoded_reader",
    "find_corrupt_images",
    "load",
    "make_shapes",
    "raw_dataset",
    "resize",
]

#: Name of the embedded dataset (generated in memory, no download).
EMBEDDED = "shapes"

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

DatasetInfo = collections.namedtuple(
    "DatasetInfo",
    ["name", "kind", "num_classes", "image_size", "num_examples", "class_names"],
)
DatasetInfo.__doc__ = """What a dataset split holds, as returned by `describe`.

Attributes:
    name: the dataset as given (tfds name, folder path, "shapes", "numpy").
    kind: "tfds", "folder", "numpy" or "embedded".
    num_classes: number of classes, or None for an unlabelled split.
    image_size: (height, width) when every image has that size, else None.
    num_examples: number of images in the split, or None when unknown.
    class_names: list of class names (folder names for folders), or None.
"""


class DataError(errors.UserInputError):
    """A user error about the data: bad name, missing folder, corrupt file.

    The message says what is wrong and how to fix it; the command line prints
    it as one line.
    """


# ---------------------------------------------------------------------------
# The embedded dataset.

_SHAPES_CLASSES = (
    "disk",
    "square",
    "triangle",
    "ring",
    "plus",
    "diamond",
    "x",
    "hstripes",
    "vstripes",
    "checker",
)
_SHAPES_SPLITS = {"train": (5000, 0), "test": (1000, 1)}


def _shape_masks(labels, rng, size):
    """Returns (n, size, size) float masks of each label's shape, soft edges."""
    n = len(labels)
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = np.meshgrid(grid, grid, indexing="ij")
    cx = rng.uniform(0.3, 0.7, (n, 1, 1)).astype(np.float32)
    cy = rng.uniform(0.3, 0.7, (n, 1, 1)).astype(np.float32)
    radius = rng.uniform(0.2, 0.32, (n, 1, 1)).astype(np.float32)
    u = (x - cx) / radius
    v = (y - cy) / radius
    d = np.sqrt(u**2 + v**2)
    period = rng.uniform(0.12, 0.22, (n, 1, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    wave_x = np.sin(2 * np.pi * x / period + phase)
    wave_y = np.sin(2 * np.pi * y / period + phase)
    candidates = {
        "disk": d < 1.0,
        "square": np.maximum(abs(u), abs(v)) < 0.85,
        "triangle": (v < 0.8) & (abs(u) < (v + 0.9) * 0.55),
        "ring": (d < 1.0) & (d > 0.6),
        "plus": ((abs(u) < 0.3) | (abs(v) < 0.3)) & (np.maximum(abs(u), abs(v)) < 1.0),
        "diamond": abs(u) + abs(v) < 1.1,
        "x": ((abs(u - v) < 0.4) | (abs(u + v) < 0.4)) & (d < 1.15),
        "hstripes": wave_y > 0,
        "vstripes": wave_x > 0,
        "checker": wave_x * wave_y > 0,
    }
    masks = np.zeros((n, size, size), np.float32)
    for index, name in enumerate(_SHAPES_CLASSES):
        chosen = labels == index
        masks[chosen] = candidates[name][chosen]
    return masks


def make_shapes(num_examples=5000, image_size=32, seed=0):
    """Generates the embedded labelled dataset: 10 classes of shapes and textures.

    Each image shows one of 10 patterns (disk, square, triangle, ring, plus,
    diamond, x, horizontal stripes, vertical stripes, checkerboard), the class,
    drawn at a random place and scale in a random foreground colour on a
    random background colour, with pixel noise. Colour, position and scale
    carry no class information, so a linear probe on a random encoder
    (which mostly sees colour) does poorly and SimCLR's colour-invariant,
    crop-invariant features do much better. Deterministic: the same
    arguments give the same arrays on every machine.

    Args:
        num_examples: number of images; classes are balanced (label = i % 10
            before shuffling).
        image_size: side of the square images, in pixels (>= 8).
        seed: integer seed of the generator.

    Returns:
        `(images, labels)`: uint8 array (num_examples, image_size,
        image_size, 3) and int32 array (num_examples,).

    Example:

    >>> images, labels = make_shapes(100, image_size=32)
    >>> images.shape, labels[:3]
    ((100, 32, 32, 3), array([...], dtype=int32))
    """
    if image_size < 8:
        raise DataError(f"image_size must be >= 8 for the shapes dataset, got {image_size}.")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num_examples) % len(_SHAPES_CLASSES))
    labels = labels.astype(np.int32)
    masks = _shape_masks(labels, rng, image_size)[..., None]
    foreground = rng.uniform(0, 1, (num_examples, 1, 1, 3)).astype(np.float32)
    background = rng.uniform(0, 1, (num_examples, 1, 1, 3)).astype(np.float32)
    # Keep the pattern visible: push colours that are too close apart.
    too_close = np.abs(foreground - background).sum(-1, keepdims=True) < 0.6
    background = np.where(too_close, 1.0 - foreground, background)
    images = masks * foreground + (1 - masks) * background
    images += rng.normal(0, 0.04, images.shape).astype(np.float32)
    images = np.clip(np.round(images * 255), 0, 255).astype(np.uint8)
    return images, labels


def _embedded_split(split):
    if split not in _SHAPES_SPLITS:
        raise DataError(
            f"the '{EMBEDDED}' dataset has splits {sorted(_SHAPES_SPLITS)}, "
            f"not '{split}' — pass --split=train or --split=test."
        )
    return _SHAPES_SPLITS[split]


# ---------------------------------------------------------------------------
# Split slicing for folders, arrays and the embedded set: "train[:10%]".

_SLICE = re.compile(r"^(?P<name>[^\[]*)(\[(?P<start>-?\d*%?):(?P<stop>-?\d*%?)\])?$")


def _parse_split(split):
    """'train[10%:50%]' -> ('train', '10%', '50%')."""
    match = _SLICE.match(split or "")
    if not match:
        raise DataError(
            f"cannot read split '{split}' — use a name with an optional "
            "slice, e.g. 'train', 'train[:80%]' or 'train[1000:]'."
        )
    return match.group("name"), match.group("start"), match.group("stop")


def _slice_bound(text, total):
    if not text:
        return None
    if text.endswith("%"):
        return int(round(total * int(text[:-1]) / 100))
    return int(text)


def _apply_slice(count, start, stop):
    """Returns the index range of a slice of `count` items."""
    return range(count)[slice(_slice_bound(start, count), _slice_bound(stop, count))]


def _sliced_order(count, start, stop):
    """Indices of a slice of a fixed shuffle of `count` items (all, in order,
    without a slice), so that "train[:80%]" and "train[80%:]" both hold
    every class of a class-sorted list."""
    if not (start or stop):
        return np.arange(count)
    return np.random.default_rng(0).permutation(count)[_apply_slice(count, start, stop)]


# ---------------------------------------------------------------------------
# Image folders.


def _list_images(folder):
    return sorted(
        name
        for name in tf.io.gfile.listdir(folder)
        if name.lower().endswith(IMAGE_EXTENSIONS)
        and not tf.io.gfile.isdir(os.path.join(folder, name))
    )


def _scan_folder(root):
    """Returns (paths, labels, class_names) of an image folder.

    Class sub-folders give labels in sorted-name order; images directly in
    `root` (and no class sub-folders) give an unlabelled set.
    """
    subfolders = sorted(
        name.rstrip("/")
        for name in tf.io.gfile.listdir(root)
        if tf.io.gfile.isdir(os.path.join(root, name)) and not name.startswith(".")
    )
    loose = _list_images(root)
    classes = [name for name in subfolders if _list_images(os.path.join(root, name))]
    if classes and loose:
        raise DataError(
            f"{root} has both images ({loose[0]}, ...) and class sub-folders "
            f"({classes[0]}/, ...) — move the loose images into a class folder, "
            "or point --dataset at a folder holding only one kind."
        )
    if loose:
        return [os.path.join(root, name) for name in loose], [-1] * len(loose), None
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = _list_images(os.path.join(root, name))
        paths += [os.path.join(root, name, f) for f in files]
        labels += [label] * len(files)
    if not paths:
        raise DataError(
            f"no .jpg/.jpeg/.png images in {root} or its sub-folders — check "
            "the path, or convert the images to JPEG or PNG."
        )
    return paths, labels, classes


def _folder_split(root, split):
    """Returns (paths, labels, class_names) of `split` of an image folder.

    `root/<split>/` is used when it exists; otherwise split "train" is the
    whole folder. A slice ("train[:80%]") cuts a fixed shuffle of it.
    """
    name, start, stop = _parse_split(split)
    folder = os.path.join(root, name)
    if not tf.io.gfile.isdir(folder):
        if name != "train":
            raise DataError(
                f"image folder {root} has no '{name}' split (no sub-folder "
                f"{folder}) — use a slice of the whole folder instead, e.g. "
                "--split='train[:80%]' and --eval_split='train[80%:]'."
            )
        folder = root
    paths, labels, classes = _scan_folder(folder)
    if start or stop:
        order = _sliced_order(len(paths), start, stop)
        paths = [paths[i] for i in order]
        labels = [labels[i] for i in order]
    return paths, labels, classes


_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _check_header(contents):
    """True when `contents` starts like a JPEG or PNG file (graph op)."""
    return tf.logical_or(
        tf.strings.substr(contents, 0, 3) == _MAGIC[0],
        tf.strings.substr(contents, 0, 8) == _MAGIC[1],
    )


def _decode(contents):
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def find_corrupt_images(paths):
    """Returns the files among `paths` that TensorFlow cannot decode.

    Decodes every file once, in parallel; use it to name the culprit after
    a decode error, or before training on a folder of unknown quality.

    Args:
        paths: list of image file paths.

    Returns:
        The sorted list of paths that fail to read or decode.

    Example:

    >>> bad = find_corrupt_images(glob.glob("photos/*/*.jpg"))
    """
    if not paths:
        return []
    indices = tf.data.Dataset.from_tensor_slices(
        (tf.range(len(paths)), tf.constant(list(paths)))
    )

    def decodes(index, path):
        # Return something computed from the image, or the decode is pruned.
        return index, tf.size(_decode(tf.io.read_file(path)))

    decoded = indices.map(decodes, num_parallel_calls=tf.data.AUTOTUNE)
    decoded = decoded.ignore_errors()
    good = {int(i) for i, _ in decoded.as_numpy_iterator()}
    return sorted(p for i, p in enumerate(paths) if i not in good)


def _skip_corrupt(paths, labels):
    """Drops the files TensorFlow cannot decode, one warning line each."""
    bad = set(find_corrupt_images(paths))
    for path in sorted(bad):
        print(f"keras-simclr: warning: skipping corrupt image {path}", flush=True)
    kept = [i for i, path in enumerate(paths) if path not in bad]
    if not kept:
        raise DataError("every image of the folder is corrupt — check the files.")
    return [paths[i] for i in kept], [labels[i] for i in kept]


def _read_encoded_file(path):
    """Reads one image file, still encoded (graph op); names non-image files."""
    contents = tf.io.read_file(path)
    # Files that are not images at all (empty, HTML error pages saved as
    # .jpg, ...) fail here with their name; TensorFlow's own decode error
    # does not name the file (`find_corrupt_images` names the rest).
    check = tf.debugging.Assert(
        _check_header(contents),
        ["keras-simclr: corrupt or non-JPEG/PNG image file:", path],
    )
    with tf.control_dependencies([check]):
        return tf.identity(contents)


def _read_image_file(path):
    """Reads and decodes one image file (graph op); names non-image files."""
    return _decode(_read_encoded_file(path))


# ---------------------------------------------------------------------------
# tfds.


def _tfds_builder(name, data_dir):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises its own DatasetNotFoundError.
        if "not found" in str(error).lower():
            raise DataError(
                f"unknown dataset '{name}' — use a tfds name (e.g. cifar10, "
                f"stl10, imagenet2012), a folder of images, a .npz file, or "
                f"'{EMBEDDED}' (embedded, no download)."
            ) from None
        raise


def _tfds_features(builder):
    """Returns (image_key, label_key or None, num_classes, class_names)."""
    import tensorflow_datasets as tfds

    features = builder.info.features
    images = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
    if not images:
        raise DataError(
            f"tfds dataset '{builder.name}' has no image feature — pick an "
            "image dataset."
        )
    image_key = "image" if "image" in images else images[0]
    labels = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
    if not labels:
        return image_key, None, None, None
    label_key = "label" if "label" in labels else labels[0]
    label = features[label_key]
    return image_key, label_key, label.num_classes, list(label.names)


def _tfds_split_size(builder, split):
    try:
        return builder.info.splits[split].num_examples
    except Exception:  # Unknown split, or no split metadata (mock data).
        return None


# ---------------------------------------------------------------------------
# Dispatch.


def _kind(dataset):
    if isinstance(dataset, (tuple, list, np.ndarray)):
        return "numpy"
    if not isinstance(dataset, str) or not dataset:
        raise DataError(
            f"dataset must be a name, a folder, a .npz file or arrays, got {dataset!r}."
        )
    if dataset == EMBEDDED:
        return "embedded"
    if dataset.endswith(".npz"):
        return "npz"
    if os.sep in dataset or dataset.startswith((".", "~")) or tf.io.gfile.isdir(dataset):
        return "folder"
    return "tfds"


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
    name = _parse_split(split)[0]
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
                "(or 'x') and optionally 'labels' (or 'y')."
            )
        label_key = next((k for k in label_keys if k in keys), None)
        return data[image_key], data[label_key] if label_key else None


def _check_pixels(images):
    """Refuses float images outside [0, 1] and NaN/Inf pixels."""
    if not np.all(np.isfinite(images)):
        bad = int(np.flatnonzero(~np.isfinite(images).reshape(len(images), -1).all(1))[0])
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
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
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
                "arrays must be given as images or (images, labels), got "
                f"a sequence of {len(dataset)}."
            )
        images, labels = dataset
    else:
        images, labels = dataset, None
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DataError(
            f"images must have shape (n, height, width, 3), got {images.shape}."
        )
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.floating):
            raise DataError(f"images must be uint8 or float in [0, 1], got {images.dtype}.")
        _check_pixels(images)
        images = np.round(images * 255).astype(np.uint8)
    if labels is None:
        labels = np.full(len(images), -1, np.int32)
    labels = _check_array_labels(labels)
    if len(labels) != len(images):
        raise DataError(f"{len(images)} images but {len(labels)} labels.")
    return images, labels


def _array_num_classes(labels):
    labelled = labels[labels >= 0]
    return int(labelled.max()) + 1 if labelled.size else None


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

    >>> describe("shapes")
    DatasetInfo(name='shapes', kind='embedded', num_classes=10,
                image_size=(32, 32), num_examples=5000, class_names=[...])
    """
    kind = _kind(dataset)
    name = dataset if isinstance(dataset, str) else "numpy"
    if kind == "embedded":
        count, _ = _embedded_split(_parse_split(split)[0])
        _, start, stop = _parse_split(split)
        count = len(_apply_slice(count, start, stop))
        return DatasetInfo(name, kind, 10, (32, 32), count, list(_SHAPES_CLASSES))
    if kind in ("numpy", "npz"):
        images, labels = _arrays(dataset, kind, _array_split_name(dataset, kind, split))
        _, start, stop = _parse_split(split)
        labels = labels[_sliced_order(len(labels), start, stop)]
        return DatasetInfo(
            name, "numpy", _array_num_classes(labels), tuple(images.shape[1:3]),
            len(labels), None,
        )
    if kind == "folder":
        root = os.path.expanduser(dataset)
        if not tf.io.gfile.isdir(root):
            raise DataError(f"no folder {dataset} — check the --dataset path.")
        paths, labels, classes = _folder_split(root, split)
        return DatasetInfo(
            dataset, kind, len(classes) if classes else None, None, len(paths), classes,
        )
    _check_data_dir(data_dir)
    builder = _tfds_builder(dataset, data_dir)
    _, label_key, num_classes, class_names = _tfds_features(builder)
    image_key = _tfds_features(builder)[0]
    shape = builder.info.features[image_key].shape
    size = tuple(shape[:2]) if None not in shape[:2] else None
    if _is_unlabelled_split(split):
        num_classes = class_names = None
    return DatasetInfo(
        dataset, kind, num_classes, size, _tfds_split_size(builder, split), class_names,
    )


def _is_unlabelled_split(split):
    return _parse_split(split)[0] == "unlabelled"


def _check_data_dir(data_dir):
    if data_dir is not None and not tf.io.gfile.isdir(os.path.expanduser(data_dir)):
        raise DataError(
            f"data_dir {data_dir} does not exist — create it, or fix the path "
            "(tfds downloads and prepares datasets there)."
        )


def resize(image, image_size):
    """Resizes a uint8 (H, W, 3) image to (image_size, image_size), as uint8.

    The whole image is resized (its aspect ratio is not kept); images of
    that size already pass through unchanged.

    Args:
        image: uint8 tensor (H, W, 3).
        image_size: side of the output, in pixels.

    Returns:
        A uint8 tensor (image_size, image_size, 3).

    Example:

    >>> small = resize(tf.zeros((96, 96, 3), tf.uint8), 32)
    """
    resized = tf.image.resize(image, (image_size, image_size), antialias=True)
    resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
    same = tf.reduce_all(tf.shape(image)[:2] == image_size)
    output = tf.cond(same, lambda: image, lambda: resized)
    output.set_shape([image_size, image_size, 3])
    return output


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

    >>> read, decode = encoded_reader("path/to/photos")
    """
    kind = _kind(dataset)
    if kind == "folder":
        return _read_encoded_file, _decode
    if kind == "tfds":
        return tf.identity, _decode
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

    >>> raw, decode, info = raw_dataset("path/to/photos")
    >>> images = raw.map(lambda path, label: decode(path))
    """
    if on_corrupt not in ("error", "skip"):
        raise DataError(f"on_corrupt must be 'error' or 'skip', got {on_corrupt!r}.")
    info = describe(dataset, split, data_dir)
    kind = _kind(dataset)
    if kind == "folder":
        paths, labels, _ = _folder_split(os.path.expanduser(dataset), split)
        if on_corrupt == "skip":
            paths, labels = _skip_corrupt(paths, labels)
            info = info._replace(num_examples=len(paths))
        raw = tf.data.Dataset.from_tensor_slices(
            (tf.constant(paths), tf.constant(labels, tf.int32))
        )
        return raw, _read_image_file, info
    if kind == "tfds":
        raw = _raw_tfds(dataset, split, data_dir)
        if info.num_examples is None:
            info = info._replace(num_examples=int(raw.reduce(0, lambda n, _: n + 1)))
        return raw, _decode, info
    if kind == "embedded":
        name, start, stop = _parse_split(split)
        count, seed = _embedded_split(name)
        images, labels = make_shapes(count, seed=seed)
        indices = list(_apply_slice(len(images), start, stop))
    else:
        images, labels = _arrays(dataset, kind, _array_split_name(dataset, kind, split))
        _, start, stop = _parse_split(split)
        indices = _sliced_order(len(images), start, stop)
    raw = tf.data.Dataset.from_tensor_slices((images[indices], labels[indices]))
    return raw, tf.identity, info


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

    >>> ds, info = load("cifar10", split="test", image_size=32, with_info=True)
    >>> info.num_classes
    10
    """
    if image_size is not None:
        image_size = errors.check_positive_int("image_size", image_size)
    raw, decode, info = raw_dataset(dataset, split, data_dir, on_corrupt)

    def decode_and_resize(image, label):
        image = decode(image)
        if image_size is not None:
            image = resize(image, image_size)
        return image, label

    ds = raw.map(decode_and_resize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return (ds, info) if with_info else ds


def _raw_tfds(name, split, data_dir):
    """A tfds split as (encoded image bytes, int32 label), files in order."""
    import tensorflow_datasets as tfds

    builder = _tfds_builder(name, data_dir)
    image_key, label_key, _, _ = _tfds_features(builder)
    unlabelled = _is_unlabelled_split(split)
    try:
        ds = tfds.load(
            name,
            split=split,
            data_dir=data_dir,
            shuffle_files=False,
            decoders={image_key: tfds.decode.SkipDecoding()},
            read_config=tfds.ReadConfig(interleave_cycle_length=1),
        )
    except Exception as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "split" in message.lower() and "unknown" in message.lower():
            raise DataError(f"{message} — pick one of the dataset's splits.") from None
        raise

    def convert(example):
        if label_key is None or unlabelled:
            label = tf.constant(-1, tf.int32)
        else:
            # stl10's unlabelled images carry -1 already.
            label = tf.maximum(tf.cast(example[label_key], tf.int32), -1)
        return example[image_key], label

    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
