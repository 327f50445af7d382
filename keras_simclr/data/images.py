"""Encoded and decoded images: the JPEG/PNG header check, decoding, resizing."""

import tensorflow as tf

__all__ = ["decode", "has_image_header", "resize"]

_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def has_image_header(contents):
    """Whether encoded bytes start like a JPEG or PNG file (graph op).

    Args:
        contents: scalar string tensor, a file's bytes.

    Returns:
        A scalar bool tensor.

    Example:

    >>> bool(has_image_header(tf.constant(b"<html>not found</html>")))
    False
    """
    return tf.logical_or(
        tf.strings.substr(contents, 0, 3) == _MAGIC[0],
        tf.strings.substr(contents, 0, 8) == _MAGIC[1],
    )


def decode(contents):
    """Decodes a JPEG, PNG, GIF or BMP file to a uint8 (H, W, 3) image.

    Args:
        contents: scalar string tensor, the encoded file.

    Returns:
        A uint8 tensor of static shape (None, None, 3).

    Example:

    >>> png = tf.io.encode_png(tf.zeros((4, 6, 3), tf.uint8))
    >>> decode(png).shape
    TensorShape([4, 6, 3])
    """
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


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
    >>> small.shape, small.dtype.name
    (TensorShape([32, 32, 3]), 'uint8')
    """
    resized = tf.image.resize(image, (image_size, image_size), antialias=True)
    resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
    same = tf.reduce_all(tf.shape(image)[:2] == image_size)
    output = tf.cond(same, lambda: image, lambda: resized)
    output.set_shape([image_size, image_size, 3])
    return output
