"""Colour-space maths of ColorDistortion: luma and the HSV round trip.

Written with `backend_ops.ops()` (`keras.ops`), so one implementation runs on
TensorFlow and on JAX (eagerly, under `jax.jit`, in tf.data), with tf.image's numbers to
float round-off: `luma` as tf.image.rgb_to_grayscale, `adjust_hsv` as
tf.image.adjust_saturation followed by tf.image.adjust_hue, per image.
"""

from keras_simclr.layers.augmentation.backend_ops import ops

# As tf.image.rgb_to_grayscale.
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def per_image(values):
    """(batch,) values shaped (batch, 1, 1, 1), to broadcast over images.

    Args:
        values: a (batch,) tensor.

    Returns:
        The same values, rank 4.

    Example:

    >>> import numpy as np
    >>> tuple(per_image(np.zeros(2, "float32")).shape)
    (2, 1, 1, 1)
    """
    return ops().reshape(values, (-1, 1, 1, 1))


def luma(images, channels_axis=-1):
    """Luma (tf.image.rgb_to_grayscale's weights), keeping the channel axis.

    Args:
        images: float32 rank 4, RGB along `channels_axis`.
        channels_axis: the channels' axis, -1 or 2.

    Returns:
        float32 of the input's shape with 1 channel.

    Example:

    >>> import numpy as np
    >>> y = luma(np.ones([1, 1, 1, 3], "float32"))
    >>> tuple(y.shape), round(float(y[0, 0, 0, 0]), 4)
    ((1, 1, 1, 1), 0.9999)
    """
    o = ops()
    axis = 3 if channels_axis == -1 else channels_axis
    r, g, b = o.unstack(images, num=3, axis=axis)
    w = GRAY_WEIGHTS
    return o.expand_dims(w[0] * r + w[1] * g + w[2] * b, axis)


def grayscale(images):
    """Luma as tf.image.rgb_to_grayscale, keeping 3 channels (NHWC).

    Args:
        images: float32 (batch, height, width, 3).

    Returns:
        float32 of the input's shape, the three channels equal.

    Example:

    >>> import numpy as np
    >>> y = grayscale(np.ones([1, 1, 1, 3], "float32"))
    >>> [round(float(v), 4) for v in y[0, 0, 0]]
    [0.9999, 0.9999, 0.9999]
    """
    return ops().repeat(luma(images), 3, axis=-1)


def adjust_hsv(images, saturation, hue, channels_axis=-1):
    """Scales the saturation and shifts the hue of each image, in HSV.

    tf.image.adjust_saturation then tf.image.adjust_hue (they commute: S
    scaled and clipped to [0, 1], H shifted around the circle, V kept),
    written out: with V = max, C = max - min and the hue h in sextants,
    channel n in (R, G, B) = (5, 3, 1) is V - C' * clip(min(k, 4 - k), 0, 1)
    with k = (n + h') mod 6, h' = h + 6 * shift and C' = min(factor * C, V).
    Same numbers as the tf.image round trip (to 1e-6), without its modulo
    (a slow library call under XLA on CPU) or its six-way select.

    Args:
        images: float32 in [0, 1], rank 4, RGB along `channels_axis`.
        saturation: float32 (batch,): the saturation factors (1: unchanged).
        hue: float32 (batch,): the hue shifts, in turns (0: unchanged).
        channels_axis: -1 or 2.

    Returns:
        float32 in [0, 1] of the input's shape.

    Example:

    >>> import numpy as np
    >>> red = np.array([1.0, 0.0, 0.0], "float32").reshape(1, 1, 1, 3)
    >>> green = adjust_hsv(red, np.ones(1, "float32"), np.full(1, 1 / 3, "float32"))
    >>> np.round(np.asarray(green).ravel(), 4).tolist()
    [0.0, 1.0, 0.0]
    """
    o = ops()
    axis = 3 if channels_axis == -1 else channels_axis
    r, g, b = o.unstack(images, num=3, axis=axis)
    v = o.maximum(r, o.maximum(g, b))
    chroma = v - o.minimum(r, o.minimum(g, b))
    inverse = 1.0 / o.maximum(chroma, 1e-30)
    # Ties resolved as tf.image.rgb_to_hsv: red, then green, then blue.
    h = o.where(
        o.equal(v, r),
        (g - b) * inverse,
        o.where(o.equal(v, g), (b - r) * inverse + 2.0, (r - g) * inverse + 4.0),
    )
    h = h + 6.0 * o.reshape(hue, (-1, 1, 1))
    chroma = o.minimum(o.reshape(saturation, (-1, 1, 1)) * chroma, v)
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = n + h
        k = k - 6.0 * o.floor(k * (1.0 / 6.0))
        channels.append(v - chroma * o.clip(o.minimum(k, 4.0 - k), 0.0, 1.0))
    return o.clip(o.stack(channels, axis=axis), 0.0, 1.0)
