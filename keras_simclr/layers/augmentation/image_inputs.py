"""Image inputs: the one check of an image batch and the one uint8 -> float.

`check_images` is what every entry point of keras_simclr that takes images
(the SimCLR model's steps, the augmentation layers) runs first;
`to_float32` is the one conversion of pixels to float32 in [0, 1].
"""

import keras
import tensorflow as tf

from keras_simclr import errors
from keras_simclr.layers.augmentation.backend_ops import in_tensorflow, ops


def check_image_shape(shape, what="images", single_image_ok=False):
    """Refuses shapes that are not (batch, height, width, 3).

    Args:
        shape: a shape (tuple, list or `TensorShape`).
        what: the name of the images in the message.
        single_image_ok: also accept one image, (height, width, 3).

    Raises:
        UserInputError: another rank, or not 3 channels.

    Example:

    >>> check_image_shape((None, 32, 32, 3))
    >>> check_image_shape((32, 32, 3), single_image_ok=True)
    """
    shape = tf.TensorShape(shape)
    if shape.rank != 4 and not (single_image_ok and shape.rank == 3):
        expected = "a batch of shape (batch, height, width, 3)"
        if single_image_ok:
            expected = "one image of shape (height, width, 3) or " + expected
        raise errors.UserInputError(
            f"{what} must be {expected}, got shape {shape} — batch single "
            "images with tf.expand_dims(x, 0) or dataset.batch(...)."
        )
    if shape[-1] is not None and shape[-1] != 3:
        raise errors.UserInputError(
            f"{what} must have 3 channels (RGB), got {shape[-1]} — convert "
            "grayscale with tf.image.grayscale_to_rgb and drop alpha with "
            "x[..., :3]."
        )


def check_images(images, what="images", single_image_ok=False):
    """Returns `images` as a tensor if they are a uint8 or float image batch.

    Args:
        images: a batch of images (tensor, array or `RaggedTensor`).
        what: the name of the images in the message.
        single_image_ok: also accept one image, (height, width, 3).

    Returns:
        A dense tensor of the current backend, dtype unchanged.

    Raises:
        UserInputError: a ragged batch, another dtype, a bad shape.

    Example:

    >>> import numpy as np

    >>> keras.backend.standardize_dtype(
    ...     check_images(np.zeros((8, 32, 32, 3), np.uint8)).dtype)
    'uint8'
    """
    if isinstance(images, tf.RaggedTensor):
        raise errors.UserInputError(
            f"{what} form a ragged batch (images of different sizes) — resize "
            "them to one size before batching, e.g. with "
            "keras_simclr.data.load(..., image_size=32)."
        )
    images = (
        tf.convert_to_tensor(images)
        if in_tensorflow()
        else keras.ops.convert_to_tensor(images)
    )
    dtype = keras.backend.standardize_dtype(images.dtype)
    if dtype != "uint8" and "float" not in dtype:
        raise errors.UserInputError(
            f"{what} have an unsupported dtype {dtype}, expected "
            "uint8 in [0, 255] or float in [0, 1] — cast them, e.g. "
            "tf.cast(x, tf.uint8) for integers in [0, 255]."
        )
    check_image_shape(images.shape, what, single_image_ok)
    return images


def as_image_batch(images, what="images"):
    """Checks one image or a batch and returns it as a rank-4 tensor.

    Args:
        images: (height, width, 3) or (batch, height, width, 3); uint8 in
            [0, 255] or float in [0, 1].
        what: the name of the images in error messages.

    Returns:
        `(batch, unbatched)`: the rank-4 tensor (dtype unchanged) with a
        static channel count of 3, and whether a batch axis was added.

    Raises:
        UserInputError: as `check_images`.

    Example:

    >>> import numpy as np

    >>> batch, unbatched = as_image_batch(np.zeros((4, 4, 3), np.uint8))
    >>> tuple(batch.shape), unbatched
    ((1, 4, 4, 3), True)
    """
    images = check_images(images, what, single_image_ok=True)
    rank = len(images.shape)
    if images.shape[-1] is None:  # only in a TensorFlow graph
        images = tf.ensure_shape(images, [None] * (rank - 1) + [3])
    unbatched = rank == 3
    if unbatched:
        images = ops().expand_dims(images, 0)
    return images, unbatched


def to_float32(images, clip=False):
    """Pixels as float32 in [0, 1]: uint8 x -> x / 255, floats cast.

    Args:
        images: uint8 in [0, 255] or float in [0, 1].
        clip: also clip float pixels to [0, 1]. The augmentation layers do
            (every op after them assumes [0, 1]); the model and the exported
            encoder do not, so that a view a hair outside [0, 1] (float
            round-off, which the model's batch checks tolerate) reaches the
            encoder as given.

    Returns:
        float32 tensor of the input's shape.

    Example:

    >>> import numpy as np
    >>> to_numpy = keras.ops.convert_to_numpy
    >>> to_numpy(to_float32(np.array([0, 51, 255], np.uint8))).tolist()
    [0.0, 0.20000000298023224, 1.0]
    >>> to_numpy(to_float32(np.array([-0.5, 1.5]), clip=True)).tolist()
    [0.0, 1.0]
    """
    o = ops()
    images = o.convert_to_tensor(images)
    if keras.backend.standardize_dtype(images.dtype) == "uint8":
        return o.cast(images, "float32") / 255.0
    images = o.cast(images, "float32")
    return o.clip(images, 0.0, 1.0) if clip else images
