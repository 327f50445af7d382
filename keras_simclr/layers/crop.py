"""Random resized crop (SPEC section 4, step 1), exact and XLA-compilable.

Why not `tf.image.crop_and_resize`, `keras.layers.RandomZoom` or
`RandomTranslation`: none of them compiles with XLA, and Keras has no
random-resized-crop with SimCLR's sampler. Here a crop-and-resize is separable:
for each output row (column) a few source rows (columns) and weights, the
"taps" of a per-image interpolation matrix. Applied as gathers (cheap on CPU)
or, for small sources, as two batched matmuls `Wy @ image @ Wx^T` (what
accelerators like); both compile with XLA and give the same numbers.
"""

import math

import keras
import tensorflow as tf

from keras_simclr.layers import augmentation as aug

_ATTEMPTS = 100
# Sources up to this many pixels use the matmul form (dense interpolation
# matrices); larger ones gather their few taps.
_MATMUL_MAX_PIXELS = 64 * 64


def sample_crop_boxes(key, batch_size, height, width, scale=(0.08, 1.0),
                      ratio=(3 / 4, 4 / 3), attempts=_ATTEMPTS):
    """Samples one crop box per image, as torchvision's RandomResizedCrop.

    Area fraction uniform in `scale`, aspect ratio (width / height) log-uniform
    in `ratio`, sides rounded to whole pixels; the first of `attempts` draws
    that fits the image wins, else the whole image. The box's position is
    uniform over the positions where it fits.

    Args:
        key: int32 key of shape (2,).
        batch_size, height, width: ints or scalar int tensors.

    Returns:
        `(y0, x0, h, w)`, float32 tensors of shape (batch,), whole pixels.
    """
    height = tf.cast(height, tf.float32)
    width = tf.cast(width, tf.float32)
    shape = tf.stack([batch_size, attempts])
    area = aug.uniform(key, aug.TAG_CROP_AREA, shape, scale[0], scale[1])
    area = area * height * width
    log_ratio = aug.uniform(key, aug.TAG_CROP_RATIO, shape,
                            math.log(ratio[0]), math.log(ratio[1]))
    aspect = tf.exp(log_ratio)
    w = tf.round(tf.sqrt(area * aspect))
    h = tf.round(tf.sqrt(area / aspect))
    fits = (w > 0) & (h > 0) & (w <= width) & (h <= height)
    first = tf.reduce_min(
        tf.where(fits, tf.range(attempts)[tf.newaxis], attempts), axis=1)
    found = first < attempts
    first = tf.minimum(first, attempts - 1)
    h = tf.where(found, tf.gather(h, first, batch_dims=1), height)
    w = tf.where(found, tf.gather(w, first, batch_dims=1), width)
    y0 = tf.floor(aug.uniform(key, aug.TAG_CROP_Y, [batch_size])
                  * (height - h + 1))
    x0 = tf.floor(aug.uniform(key, aug.TAG_CROP_X, [batch_size])
                  * (width - w + 1))
    # u < 1 keeps the offset in range; the minimum guards float round-off.
    return tf.minimum(y0, height - h), tf.minimum(x0, width - w), h, w


def center_boxes(batch_size, height, width, out_height, out_width,
                 proportion=1.0):
    """The centred box of the output's aspect ratio, scaled by `proportion`.

    As the SimCLR reference's evaluation crop: the largest box with aspect
    out_width / out_height that fits, times `proportion` (0.875 for
    evaluation), rounded to whole pixels and centred.

    Returns:
        `(y0, x0, h, w)`, float32 tensors of shape (batch,).
    """
    height = tf.cast(height, tf.float32)
    width = tf.cast(width, tf.float32)
    aspect = out_width / out_height
    wider = width / height > aspect
    h = tf.where(wider, tf.round(proportion * height),
                 tf.round(proportion * width / aspect))
    w = tf.where(wider, tf.round(proportion * height * aspect),
                 tf.round(proportion * width))
    h = tf.clip_by_value(h, 1.0, height)
    w = tf.clip_by_value(w, 1.0, width)
    y0 = tf.floor((height - h + 1) / 2)
    x0 = tf.floor((width - w + 1) / 2)
    ones = tf.ones([batch_size], tf.float32)
    return y0 * ones, x0 * ones, h * ones, w * ones


def _cubic(x):
    """Keys' cubic convolution kernel, a = -0.5 (as tf.image.resize)."""
    x = tf.abs(x)
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return tf.where(x < 1.0, near, tf.where(x < 2.0, far, 0.0))


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
    """
    i = tf.range(out_size, dtype=tf.float32)[tf.newaxis]
    start = start[:, tf.newaxis]
    size = size[:, tf.newaxis]
    position = (i + 0.5) * (size / out_size) - 0.5  # relative to the box
    base = tf.floor(position)
    if interpolation == "bilinear":
        t = position - base
        offsets = [0.0, 1.0]
        weights = [1.0 - t, t]
        index = [tf.clip_by_value(base + o, 0.0, size - 1.0) for o in offsets]
    elif interpolation == "bicubic":
        offsets = [-1.0, 0.0, 1.0, 2.0]
        raw = [base + o for o in offsets]
        inside = [tf.cast((r >= 0.0) & (r <= size - 1.0), tf.float32)
                  for r in raw]
        weights = [_cubic(r - position) * m for r, m in zip(raw, inside)]
        total = tf.add_n(weights)
        weights = [w / total for w in weights]
        index = [tf.clip_by_value(r, 0.0, size - 1.0) for r in raw]
    else:
        raise ValueError(
            f"interpolation must be 'bilinear' or 'bicubic', got "
            f"{interpolation!r}.")
    index = tf.cast(tf.stack(index, -1) + start[..., tf.newaxis], tf.int32)
    return index, tf.stack(weights, -1)


def _gather_rows(x, index, weight):
    """(batch, rows, m) -> (batch, out, m): sum_k weight * x[b, index]."""
    out = None
    for k in range(index.shape[-1]):
        picked = tf.cast(
            tf.gather(x, index[:, :, k], axis=1, batch_dims=1), tf.float32)
        term = picked * weight[:, :, k, tf.newaxis]
        out = term if out is None else out + term
    return out


def _gather_columns(x, index, weight, channels, planar):
    """(batch, r, width * c) -> (batch, r, out * c) or (batch, r, c * out).

    Picks pixel columns of an interleaved row: element 3 * x + c. Ordered
    (c, out), the result is a row of planar channels, so the colour
    operations after it read each channel contiguously, with no transpose.
    """
    c = tf.range(channels)
    out = None
    for k in range(index.shape[-1]):
        i = index[:, :, k]
        if planar:
            flat = i[:, tf.newaxis, :] * channels + c[None, :, None]
            w = tf.tile(weight[:, :, k], [1, channels])
        else:
            flat = i[:, :, tf.newaxis] * channels + c[None, None, :]
            w = tf.repeat(weight[:, :, k], channels, axis=1)
        flat = tf.reshape(flat, [tf.shape(i)[0], -1])
        picked = tf.cast(tf.gather(x, flat, axis=2, batch_dims=1), tf.float32)
        term = picked * w[:, tf.newaxis, :]
        out = term if out is None else out + term
    return out


def _dense(index, weight, in_size):
    """The (batch, out, in) interpolation matrix of the taps."""
    return tf.reduce_sum(
        tf.one_hot(index, in_size, dtype=tf.float32) * weight[..., None],
        axis=-2)


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
    """
    (iy, wy), (ix, wx) = taps_y, taps_x
    wy = wy * scale
    height, width, channels = images.shape[1], images.shape[2], \
        images.shape[3]
    out_h, out_w = iy.shape[1], ix.shape[1]
    planar = channels_axis == 2
    if height is not None and width is not None and (
            height * width <= _MATMUL_MAX_PIXELS):
        # Two batched matmuls with dense per-image matrices.
        x = tf.cast(images, tf.float32)
        x = tf.einsum("boh,bhwc->bowc", _dense(iy, wy, height), x)
        return tf.einsum("bpw,bowc->bocp" if planar else "bpw,bowc->bopc",
                         _dense(ix, wx, width), x)
    # Gather taps: whole rows (contiguous) along y, single values along x;
    # first the pass that leaves less data.
    batch = tf.shape(images)[0]
    flat = tf.reshape(images, [batch, tf.shape(images)[1], -1])
    if height is None or width is None or out_h * width <= height * out_w:
        x = _gather_rows(flat, iy, wy)
        x = _gather_columns(x, ix, wx, channels, planar)
    else:
        x = _gather_columns(flat, ix, wx, channels, planar)
        x = _gather_rows(x, iy, wy)
    shape = [out_h, channels, out_w] if planar else [out_h, out_w, channels]
    return tf.reshape(x, [batch] + shape)


def crop_and_resize(images, boxes, out_height, out_width,
                    interpolation="bilinear", channels_axis=-1):
    """Crops each image to its box and resizes it; float32 in [0, 1].

    Args:
        images: (batch, height, width, 3), uint8 in [0, 255] or float in
            [0, 1].
        boxes: `(y0, x0, h, w)`, float32 (batch,) each.
        channels_axis: -1 (NHWC result) or 2 (batch, height, 3, width).
    """
    y0, x0, h, w = boxes
    scale = 1.0 / 255.0 if images.dtype == tf.uint8 else 1.0
    if images.dtype not in (tf.uint8, tf.float32):
        images = tf.cast(images, tf.float32)
    out = resample(images,
                   interpolation_taps(y0, h, out_height, interpolation),
                   interpolation_taps(x0, w, out_width, interpolation),
                   scale, channels_axis)
    return tf.clip_by_value(out, 0.0, 1.0)  # bicubic overshoots


@keras.saving.register_keras_serializable(package="keras_simclr")
class RandomResizedCrop(aug.AugmentationLayer):
    """Crops a random box of each image and resizes it (SimCLR step 1).

    Per image: area fraction uniform in `scale`, aspect ratio (width / height
    of the box, in source pixels) log-uniform in `ratio`, up to 100 attempts,
    else the whole image (SPEC section 4, as torchvision); the box is then
    resized to (height, width). This is the paper's sampler: the drawn areas
    average 0.54 for the default scale, but a large area fits only with a
    ratio near the image's, so the boxes kept average 0.478 of a square image
    (0.432 of a 4:3 one); the reference code's
    `sample_distorted_bounding_box` averages about 0.42.

    Inputs are uint8 in [0, 255] or float in [0, 1], one image or a batch, any
    size; outputs are float32 in [0, 1] of shape (..., height, width, 3).
    With `training=False` the layer returns the largest centred box with the
    output's aspect ratio, resized (no randomness, no flip).

    With `flip=True` each crop is also flipped horizontally with p = 0.5:
    fine-tuning's and distillation's whole augmentation in one layer, drawn
    per image and per replica like every draw of this package (Keras's
    `RandomFlip` would draw the same flips on every replica).

    Args:
        height, width: output size in pixels.
        scale: (min, max) fraction of the image area.
        ratio: (min, max) aspect ratio of the box, sampled log-uniformly.
        interpolation: "bilinear" or "bicubic" (the reference's choice; a bit
            slower).
        flip: also flip each crop horizontally with probability 0.5.
        seed: int or None.
        **kwargs: base layer arguments such as `name`.

    Returns:
        float32 tensor of shape (batch, height, width, 3), or (height, width,
        3) for a single image.

    Example:

    >>> layer = RandomResizedCrop(32, 32, seed=1)
    >>> images = np.random.randint(0, 256, (4, 48, 64, 3), dtype="uint8")
    >>> layer(images).shape
    TensorShape([4, 32, 32, 3])
    """

    def __init__(self, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                 interpolation="bilinear", flip=False, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if int(height) < 1 or int(width) < 1:
            raise ValueError(f"height and width must be >= 1, got "
                             f"{height}, {width}.")
        scale = tuple(float(s) for s in scale)
        ratio = tuple(float(r) for r in ratio)
        if not 0.0 < scale[0] <= scale[1] <= 1.0:
            raise ValueError(f"scale must satisfy 0 < min <= max <= 1, got "
                             f"{scale}.")
        if not 0.0 < ratio[0] <= ratio[1]:
            raise ValueError(
                f"ratio must satisfy 0 < min <= max, got {ratio}.")
        if interpolation not in ("bilinear", "bicubic"):
            raise ValueError(f"interpolation must be 'bilinear' or 'bicubic', "
                             f"got {interpolation!r}.")
        self.height = int(height)
        self.width = int(width)
        self.scale = scale
        self.ratio = ratio
        self.interpolation = interpolation
        self.flip = bool(flip)

    def _sample(self, key, batch_size, height, width):
        y0, x0, h, w = sample_crop_boxes(key, batch_size, height, width,
                                         self.scale, self.ratio)
        params = {"y0": y0, "x0": x0, "h": h, "w": w}
        if self.flip:
            params["flip"] = aug.bernoulli(key, aug.TAG_FLIP, [batch_size], 0.5)
        return params

    def _apply(self, images, transformation):
        t = transformation
        crops = self._run(images, (t["y0"], t["x0"], t["h"], t["w"]))
        if not self.flip:
            return crops
        flips = t["flip"][:, tf.newaxis, tf.newaxis, tf.newaxis]
        return tf.where(flips, tf.reverse(crops, axis=[2]), crops)

    def _inference(self, images):
        shape = tf.shape(images)
        boxes = center_boxes(shape[0], shape[1], shape[2], self.height,
                             self.width)
        return self._run(images, boxes)

    def _run(self, images, boxes):
        if not _static(images):
            return self._crop(images, boxes)
        return self.run_compiled(self._crop, images, boxes,
                                 (self.height, self.width, 3))

    def _crop(self, images, boxes):
        return crop_and_resize(images, boxes, self.height, self.width,
                               self.interpolation)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, 3)

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width,
                      scale=list(self.scale), ratio=list(self.ratio),
                      interpolation=self.interpolation, flip=self.flip)
        return config


def _static(images):
    """Whether the spatial size is static (XLA compiles once per shape: with
    sizes varying image to image, e.g. decoded JPEGs mapped one by one, it
    would recompile for every image)."""
    return images.shape[1] is not None and images.shape[2] is not None
