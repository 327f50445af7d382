"""The embedded dataset, "shapes": 10 classes of shapes and textures, no download."""

import numpy as np
import tensorflow as tf

from keras_simclr.data.data_error import DataError
from keras_simclr.data.dataset_info import DatasetInfo
from keras_simclr.data.splits import parse_split, slice_indices

__all__ = ["EMBEDDED", "describe_shapes", "make_shapes", "shapes_dataset"]

#: Name of the embedded dataset (generated in memory, no download).
EMBEDDED = "shapes"

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
        raise DataError(
            f"image_size must be >= 8 for the shapes dataset, got {image_size} — "
            "pass image_size=8 or more."
        )
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


def _split_size_and_seed(split_name):
    if split_name not in _SHAPES_SPLITS:
        raise DataError(
            f"the '{EMBEDDED}' dataset has splits {sorted(_SHAPES_SPLITS)}, "
            f"not '{split_name}' — pass split='train' or split='test'."
        )
    return _SHAPES_SPLITS[split_name]


def describe_shapes(split):
    """What a split of the embedded dataset holds, without generating it.

    Args:
        split: "train" (5,000 images) or "test" (1,000), with an optional
            slice ("test[:10%]").

    Returns:
        A `DatasetInfo` of kind "embedded".

    Raises:
        DataError: another split name.

    Example:

    >>> describe_shapes("test[:10%]").num_examples
    100
    """
    name, start, stop = parse_split(split)
    count, _ = _split_size_and_seed(name)
    count = len(slice_indices(count, start, stop))
    return DatasetInfo(EMBEDDED, "embedded", 10, (32, 32), count, list(_SHAPES_CLASSES))


def shapes_dataset(split):
    """A split of the embedded dataset as decoded `(image, label)` pairs.

    Args:
        split: see `describe_shapes`.

    Returns:
        An unbatched `tf.data.Dataset` of (uint8 (32, 32, 3), int32).

    Example:

    >>> image, label = next(iter(shapes_dataset("test[:2]")))
    >>> image.shape, label.dtype.name
    (TensorShape([32, 32, 3]), 'int32')
    """
    name, start, stop = parse_split(split)
    count, seed = _split_size_and_seed(name)
    images, labels = make_shapes(count, seed=seed)
    indices = list(slice_indices(len(images), start, stop))
    return tf.data.Dataset.from_tensor_slices((images[indices], labels[indices]))
