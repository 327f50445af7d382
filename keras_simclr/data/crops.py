"""Random resized crops taken on the host, from the full-resolution image.

The random crop of SimCLR's augmentation (Chen et al. 2020, appendix A),
for sources whose images are not already the output size (image folders,
ImageNet, STL-10 at another size): each box is drawn on
the image's own size by the library's sampler
(`layers.augmentation.random_resized_crop.sample_crop_boxes`, with the
augment layer's `crop_scale` and `crop_ratio`: by default area U[0.08, 1]
of the image, aspect ratio log-uniform in [3/4, 4/3] in the image's
pixels) and the crop is resized to the output size. A view so
keeps every source pixel its box covers, where resizing the whole image
first would squash its aspect ratio and throw most of its pixels away.

For JPEG files only the window holding the boxes is decoded
(`tf.io.decode_and_crop_jpeg`), once for all the views of an image, and at
1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, a proper low-pass) when every
box is at least that many times the output size: a 12-megapixel photo is
then decoded at 1.5 megapixels or less, at no loss of resolution. Other
formats are decoded whole.
"""

import functools

import tensorflow as tf

__all__ = ["CROP_KEYS", "crop_decoded", "crop_encoded", "decode_scale"]

#: Keys of a batch of crops, one per view, as `SimCLR.fit` takes them.
CROP_KEYS = ("crop1", "crop2")

_SCALES = (1, 2, 4, 8)  # the DCT scalings libjpeg decodes at
# Decoded pixels kept around the window: the last column of a cropped JPEG
# decode differs from a whole decode (chroma upsampling lacks its right
# neighbour); one more column makes them equal.
_MARGIN = 1


def decode_scale(heights, widths, image_size):
    """The JPEG decode scale for boxes: 1, 2, 4 or 8 (int32 scalar).

    The largest scale s at which every box still measures at least
    `image_size` pixels on both sides, so decoding at 1/s loses nothing the
    output could show.

    Args:
        heights, widths: float32 (count,), box sides in source pixels.
        image_size: side of the square output.

    Returns:
        int32 scalar.

    Example:

    >>> int(decode_scale(tf.constant([2000.0]), tf.constant([1500.0]), 224))
    4
    """
    smallest = tf.reduce_min(tf.minimum(heights, widths)) / float(image_size)
    scale = tf.constant(1, tf.int32)
    for candidate in _SCALES[1:]:
        scale = tf.where(smallest >= candidate, candidate, scale)
    return scale


def _to_uint8(pixels):
    return tf.cast(tf.clip_by_value(tf.round(pixels), 0.0, 255.0), tf.uint8)


def _resize_window(window, image_size):
    """Resizes a whole crop window (uint8, any size) to the output, as uint8.

    Bilinear with half-pixel centres, clamped at the window's edge: the
    samples of `layers.augmentation.resampling.crop_and_resize` (the
    on-device crop). Windows at least twice the output on both sides, which
    a JPEG would decode at reduced scale, are antialiased instead (PNG and
    other formats).
    """
    shape = tf.shape(window)
    large = tf.reduce_all(shape[:2] >= 2 * image_size)
    size = (image_size, image_size)
    resized = tf.cond(
        large,
        lambda: tf.image.resize(window, size, antialias=True),
        lambda: tf.image.resize(window, size),
    )
    return _to_uint8(resized)


def _int_boxes(boxes):
    return [tf.cast(t, tf.int32) for t in boxes]


def crop_decoded(image, boxes, image_size):
    """Crops of a decoded image, each resized to (image_size, image_size).

    Args:
        image: uint8 (H, W, 3).
        boxes: `(y0, x0, h, w)` float32 (count,) each, whole pixels inside
            the image (from `sample_crop_boxes`).
        image_size: side of the square output.

    Returns:
        uint8 (count, image_size, image_size, 3).

    Example:

    >>> from keras_simclr.layers.augmentation.random_resized_crop import sample_crop_boxes
    >>> image = tf.zeros((375, 500, 3), tf.uint8)
    >>> boxes = sample_crop_boxes(tf.constant([1, 2]), 2, 375, 500)
    >>> crop_decoded(image, boxes, 224).shape
    TensorShape([2, 224, 224, 3])
    """
    y0, x0, h, w = _int_boxes(boxes)
    return tf.stack(
        [
            _resize_window(
                image[y0[v] : y0[v] + h[v], x0[v] : x0[v] + w[v]], image_size
            )
            for v in range(boxes[0].shape[0])
        ]
    )


def _scaled_samples(start, size, scale, window_start, window_size, image_size):
    """Normalised coordinates of the first and last output samples in a
    window decoded at 1/scale, for `tf.image.crop_and_resize`.

    Output pixel i samples source position start + (i + 0.5) * size / n -
    0.5 (half-pixel centres, as `_resize_window`); decoded pixel j at
    1/scale covers source pixels [j * scale, (j + 1) * scale), centred at
    (j + 0.5) * scale - 0.5.
    """
    n = float(image_size)
    at = functools.partial(
        _window_coordinate, start, size, scale, window_start, window_size, n
    )
    return at(0.0), at(n - 1.0)


def _window_coordinate(start, size, scale, window_start, window_size, n, i):
    """Where output pixel i of n samples the window, normalised to [0, 1]."""
    source = start + (i + 0.5) * size / n - 0.5
    return ((source + 0.5) / scale - 0.5 - window_start) / (window_size - 1.0)


def crop_encoded(contents, boxes_fn, image_size, decode):
    """Crops of an encoded image, each resized to (image_size, image_size).

    JPEG: decodes only the window holding every box (plus a pixel), once,
    at the scale `decode_scale` allows; other formats: `decode(contents)`,
    then `crop_decoded`. At scale 1 the crops equal those of the whole
    decoded image.

    Args:
        contents: scalar string tensor, the encoded file.
        boxes_fn: maps the image's (height, width) (int32 scalars) to boxes
            `(y0, x0, h, w)`, float32 (count,) each.
        image_size: side of the square output.
        decode: maps `contents` to a uint8 (H, W, 3) image, for non-JPEG
            files.

    Returns:
        uint8 (count, image_size, image_size, 3).

    Example:

    >>> from keras_simclr.layers.augmentation.random_resized_crop import sample_crop_boxes
    >>> photo = tf.io.encode_jpeg(tf.zeros((300, 400, 3), tf.uint8))
    >>> boxes_fn = lambda h, w: sample_crop_boxes(tf.constant([1, 2]), 2, h, w)
    >>> crop_encoded(photo, boxes_fn, 32, tf.io.decode_image).shape
    TensorShape([2, 32, 32, 3])
    """
    crops = tf.cond(
        tf.io.is_jpeg(contents),
        functools.partial(_crop_jpeg_file, contents, boxes_fn, image_size),
        functools.partial(_crop_other_file, contents, boxes_fn, image_size, decode),
    )
    return tf.ensure_shape(crops, [None, image_size, image_size, 3])


def _crop_jpeg_file(contents, boxes_fn, image_size):
    shape = tf.image.extract_jpeg_shape(contents)
    boxes = boxes_fn(shape[0], shape[1])
    return _crop_jpeg(contents, shape[0], shape[1], boxes, image_size)


def _crop_other_file(contents, boxes_fn, image_size, decode):
    image = tf.ensure_shape(decode(contents), [None, None, 3])
    shape = tf.shape(image)
    return crop_decoded(image, boxes_fn(shape[0], shape[1]), image_size)


def _crop_jpeg(contents, height, width, boxes, image_size):
    scale = decode_scale(boxes[2], boxes[3], image_size)
    # decode_and_crop_jpeg takes its scale as an attribute: one branch each.
    branches = [
        functools.partial(_crop_jpeg_at, contents, height, width, boxes, image_size, s)
        for s in _SCALES
    ]
    index = tf.cast(tf.math.log(tf.cast(scale, tf.float32)) / 0.6931472 + 0.5, tf.int32)
    return tf.switch_case(index, branches)


def _crop_jpeg_at(contents, height, width, boxes, image_size, scale):
    """The crops, decoding the window at 1/scale (a Python int)."""
    y0, x0, h, w = boxes
    # The window, in pixels of the image decoded at 1/scale (whose sides are
    # the full ones divided by scale, rounded up, as libjpeg's).
    top = tf.maximum(tf.cast(tf.reduce_min(y0), tf.int32) // scale - _MARGIN, 0)
    left = tf.maximum(tf.cast(tf.reduce_min(x0), tf.int32) // scale - _MARGIN, 0)
    bottom = tf.minimum(
        -(-tf.cast(tf.reduce_max(y0 + h), tf.int32) // scale) + _MARGIN,
        -(-height // scale),
    )
    right = tf.minimum(
        -(-tf.cast(tf.reduce_max(x0 + w), tf.int32) // scale) + _MARGIN,
        -(-width // scale),
    )
    window = tf.io.decode_and_crop_jpeg(
        contents,
        tf.stack([top, left, bottom - top, right - left]),
        channels=3,
        ratio=scale,
    )
    if scale == 1:
        shifted = (y0 - tf.cast(top, tf.float32), x0 - tf.cast(left, tf.float32), h, w)
        return crop_decoded(window, shifted, image_size)
    # Sub-pixel boxes in the reduced image: crop_and_resize samples exactly
    # where the full-resolution crop would (every sample lies inside the
    # window, since each box spans >= image_size * scale pixels).
    y_first, y_last = _scaled_samples(
        y0,
        h,
        scale,
        tf.cast(top, tf.float32),
        tf.cast(bottom - top, tf.float32),
        image_size,
    )
    x_first, x_last = _scaled_samples(
        x0,
        w,
        scale,
        tf.cast(left, tf.float32),
        tf.cast(right - left, tf.float32),
        image_size,
    )
    resized = tf.image.crop_and_resize(
        window[tf.newaxis],
        tf.stack([y_first, x_first, y_last, x_last], 1),
        tf.zeros(tf.shape(y0), tf.int32),
        (image_size, image_size),
    )
    return _to_uint8(resized)
