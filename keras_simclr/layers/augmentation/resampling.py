"""Separable resampling with per-image boxes, exact and XLA-compilable.

Why not `tf.image.crop_and_resize`: it does not compile with XLA, and it
is TensorFlow's only. Written with `backend_ops.ops()` (`keras.ops`), one
implementation runs on TensorFlow, in tf.data and on JAX. Here a
crop-and-resize is separable: for each output row (column) a few source rows
(columns) and weights, the "taps" of a per-image interpolation matrix.
Applied as gathers (cheap on CPU) or, for small sources, as two batched
matmuls `Wy @ image @ Wx^T` (what accelerators like); both compile with XLA
and give the same numbers.
"""

import keras

from keras_simclr import errors
from keras_simclr.layers.augmentation.backend_ops import batch_gather, ops

# Sources up to this many pixels use the matmul form (dense interpolation
# matrices); larger ones gather their few taps.
_MATMUL_MAX_PIXELS = 64 * 64


def _cubic(x):
    """Keys' cubic convolution kernel, a = -0.5 (as tf.image.resize)."""
    o = ops()
    x = o.abs(x)
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return o.where(x < 1.0, near, o.where(x < 2.0, far, 0.0))


def interpolation_taps(start, size, out_size, interpolation="bilinear"):
    """Rows of per-image interpolation matrices, as (index, weight) taps.

    Output pixel i of image b samples the box [start, start + size) at
    start + (i + 0.5) * size / out_size - 0.5 (pixel centres), reading only
    pixels inside the box: the result equals
    `tf.image.resize(image[..., start:start + size, ...], out_size)`.
    Bilinear clamps at the box edge (as ResizeBilinear); bicubic drops the
    taps outside the box and renormalises (as ScaleAndTranslate).

    Args:
        start, size: float32 (batch,), whole pixels.
        out_size: int.
        interpolation: "bilinear" or "bicubic".

    Returns:
        `(index, weight)`: int32 and float32 tensors of shape
        (batch, out_size, taps), taps = 2 (bilinear) or 4 (bicubic).

    Example:

    >>> import numpy as np
    >>> index, weight = interpolation_taps(np.array([2.0], "float32"),
    ...                                    np.array([4.0], "float32"), 2)
    >>> to_numpy = keras.ops.convert_to_numpy
    >>> to_numpy(index).tolist(), to_numpy(weight).tolist()
    ([[[2, 3], [4, 5]]], [[[0.5, 0.5], [0.5, 0.5]]])
    """
    o = ops()
    i = o.arange(out_size, dtype="float32")[None]
    start = o.convert_to_tensor(start, "float32")[:, None]
    size = o.convert_to_tensor(size, "float32")[:, None]
    position = (i + 0.5) * (size / out_size) - 0.5  # relative to the box
    base = o.floor(position)
    if interpolation == "bilinear":
        t = position - base
        offsets = [0.0, 1.0]
        weights = [1.0 - t, t]
        index = [o.clip(base + off, 0.0, size - 1.0) for off in offsets]
    elif interpolation == "bicubic":
        offsets = [-1.0, 0.0, 1.0, 2.0]
        raw = [base + off for off in offsets]
        inside = [o.cast((r >= 0.0) & (r <= size - 1.0), "float32") for r in raw]
        weights = [_cubic(r - position) * m for r, m in zip(raw, inside)]
        total = weights[0] + weights[1] + weights[2] + weights[3]
        weights = [w / total for w in weights]
        index = [o.clip(r, 0.0, size - 1.0) for r in raw]
    else:
        raise errors.UserInputError(
            f"interpolation must be 'bilinear' or 'bicubic', got {interpolation!r}."
        )
    index = o.cast(o.stack(index, -1) + start[..., None], "int32")
    return index, o.stack(weights, -1)


def _gather_rows(x, index, weight):
    """(batch, rows, m) -> (batch, out, m): sum_k weight * x[b, index]."""
    o = ops()
    out = None
    for k in range(index.shape[-1]):
        picked = o.cast(batch_gather(x, index[:, :, k], 1), "float32")
        term = picked * weight[:, :, k, None]
        out = term if out is None else out + term
    return out


def _gather_columns(x, index, weight, channels, planar):
    """(batch, r, width * c) -> (batch, r, out * c) or (batch, r, c * out).

    Picks pixel columns of an interleaved row: element 3 * x + c. Ordered
    (c, out), the result is a row of planar channels, so the colour
    operations after it read each channel contiguously, with no transpose.
    """
    o = ops()
    c = o.arange(channels, dtype="int32")
    out = None
    for k in range(index.shape[-1]):
        i = index[:, :, k]
        if planar:
            flat = i[:, None, :] * channels + c[None, :, None]
            w = o.tile(weight[:, :, k], [1, channels])
        else:
            flat = i[:, :, None] * channels + c[None, None, :]
            w = o.repeat(weight[:, :, k], channels, axis=1)
        flat = o.reshape(flat, (-1, index.shape[1] * channels))
        picked = o.cast(batch_gather(x, flat, 2), "float32")
        term = picked * w[:, None, :]
        out = term if out is None else out + term
    return out


def _dense(index, weight, in_size):
    """The (batch, out, in) interpolation matrix of the taps."""
    o = ops()
    return o.sum(
        o.one_hot(index, in_size, dtype="float32") * weight[..., None], axis=-2
    )


def resample(images, taps_y, taps_x, scale=1.0, channels_axis=-1):
    """Separable resampling of a batch with per-image taps.

    Args:
        images: (batch, height, width, channels), uint8 or float.
        taps_y, taps_x: `(index, weight)` from `interpolation_taps`.
        scale: factor folded into the weights (1 / 255 for uint8).
        channels_axis: -1 for a (batch, out_height, out_width, channels)
            result, 2 for (batch, out_height, channels, out_width), the
            layout `SimCLRAugment` computes in.

    Returns:
        float32, laid out as `channels_axis` says.

    Example:

    >>> import numpy as np
    >>> images = np.arange(12, dtype="float32").reshape([1, 2, 2, 3])
    >>> taps = interpolation_taps(np.zeros([1], "float32"),
    ...                           np.array([2.0], "float32"), 1)
    >>> out = resample(images, taps, taps)  # the mean pixel
    >>> keras.ops.convert_to_numpy(out).tolist()
    [[[[4.5, 5.5, 6.5]]]]
    """
    o = ops()
    images = o.convert_to_tensor(images)
    (iy, wy), (ix, wx) = taps_y, taps_x
    wy = wy * scale
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    out_h, out_w = iy.shape[1], ix.shape[1]
    planar = channels_axis == 2
    if (
        height is not None
        and width is not None
        and (height * width <= _MATMUL_MAX_PIXELS)
    ):
        # Two batched matmuls with dense per-image matrices.
        x = o.cast(images, "float32")
        x = o.einsum("boh,bhwc->bowc", _dense(iy, wy, height), x)
        return o.einsum(
            "bpw,bowc->bocp" if planar else "bpw,bowc->bopc", _dense(ix, wx, width), x
        )
    # Gather taps: whole rows (contiguous) along y, single values along x;
    # first the pass that leaves less data.
    dynamic = o.shape(images)  # static ints, or tensors in a TF graph
    flat = o.reshape(images, (dynamic[0], dynamic[1], -1))
    if height is None or width is None or out_h * width <= height * out_w:
        x = _gather_rows(flat, iy, wy)
        x = _gather_columns(x, ix, wx, channels, planar)
    else:
        x = _gather_columns(flat, ix, wx, channels, planar)
        x = _gather_rows(x, iy, wy)
    shape = [out_h, channels, out_w] if planar else [out_h, out_w, channels]
    return o.reshape(x, [-1] + shape)


def crop_and_resize(
    images, boxes, out_height, out_width, interpolation="bilinear", channels_axis=-1
):
    """Crops each image to its box and resizes it; float32 in [0, 1].

    Args:
        images: (batch, height, width, 3), uint8 in [0, 255] or float in
            [0, 1].
        boxes: `(y0, x0, h, w)`, float32 (batch,) each.
        out_height, out_width: the output size, ints.
        interpolation: "bilinear" or "bicubic".
        channels_axis: -1 (NHWC result) or 2 (batch, height, 3, width).

    Returns:
        float32 in [0, 1].

    Example:

    >>> import numpy as np
    >>> images = np.full([1, 4, 4, 3], 255, "uint8")
    >>> boxes = (np.zeros([1], "float32"), np.zeros([1], "float32"),
    ...          np.full([1], 2.0, "float32"), np.full([1], 2.0, "float32"))
    >>> tuple(crop_and_resize(images, boxes, 3, 3).shape)
    (1, 3, 3, 3)
    """
    o = ops()
    images = o.convert_to_tensor(images)
    y0, x0, h, w = boxes
    dtype = keras.backend.standardize_dtype(images.dtype)
    scale = 1.0 / 255.0 if dtype == "uint8" else 1.0
    if dtype not in ("uint8", "float32"):
        images = o.cast(images, "float32")
    out = resample(
        images,
        interpolation_taps(y0, h, out_height, interpolation),
        interpolation_taps(x0, w, out_width, interpolation),
        scale,
        channels_axis,
    )
    return o.clip(out, 0.0, 1.0)  # bicubic overshoots
