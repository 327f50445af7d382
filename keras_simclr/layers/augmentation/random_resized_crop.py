"""RandomResizedCrop: SimCLR's random crop (Chen et al. 2020, appendix A).

Why not `keras.layers.RandomCrop`, `RandomZoom` or `RandomTranslation`: none
of them compiles with XLA, and Keras has no random-resized-crop with
SimCLR's sampler (torchvision's `RandomResizedCrop`); `keras.layers.RandomCrop`
also crops a whole batch at one place. The crop itself is
`resampling.crop_and_resize`, per image. Sampler and crop are written with
`backend_ops.ops()`: the same code on TensorFlow, in tf.data and under
`jax.jit`.
"""

import math

import keras

from keras_simclr import errors
from keras_simclr.layers.augmentation import random_draws as draws
from keras_simclr.layers.augmentation.backend_ops import ops
from keras_simclr.layers.augmentation.base_augmentation_layer import AugmentationLayer
from keras_simclr.layers.augmentation.center_crop import center_boxes
from keras_simclr.layers.augmentation.resampling import crop_and_resize
from keras_simclr.layers.augmentation.xla_chunking import static_size

_ATTEMPTS = 100
# SimCLR's crop (Chen et al. 2020, appendix A; torchvision's defaults): the
# area fraction and the aspect-ratio range (width / height).
DEFAULT_CROP_SCALE = (0.08, 1.0)
DEFAULT_CROP_RATIO = (3 / 4, 4 / 3)


def sample_crop_boxes(
    key,
    batch_size,
    height,
    width,
    scale=DEFAULT_CROP_SCALE,
    ratio=DEFAULT_CROP_RATIO,
    attempts=_ATTEMPTS,
):
    """Samples one crop box per image, as torchvision's RandomResizedCrop.

    Area fraction uniform in `scale`, aspect ratio (width / height) log-uniform
    in `ratio`, sides rounded to whole pixels; the first of `attempts` draws
    that fits the image wins, else the whole image. The box's position is
    uniform over the positions where it fits.

    Args:
        key: a key of shape (2,) (`random_draws`).
        batch_size, height, width: ints or scalar int tensors (static ints
            on JAX).

        scale: (min, max) fraction of the image area.
        ratio: (min, max) aspect ratio (width / height), log-uniform.
        attempts: draws per image before falling back to the whole image.

    Returns:
        `(y0, x0, h, w)`, float32 tensors of shape (batch,), whole pixels.

    Example:

    >>> key = draws.normalize_key([1, 2])
    >>> y0, x0, h, w = sample_crop_boxes(key, 1000, 48, 64)
    >>> bool(keras.ops.all((y0 + h <= 48) & (x0 + w <= 64)))
    True
    """
    o = ops()
    height = o.cast(height, "float32")
    width = o.cast(width, "float32")
    shape = (batch_size, attempts)
    area = draws.uniform(key, draws.TAG_CROP_AREA, shape, scale[0], scale[1])
    area = area * height * width
    log_ratio = draws.uniform(
        key, draws.TAG_CROP_RATIO, shape, math.log(ratio[0]), math.log(ratio[1])
    )
    aspect = o.exp(log_ratio)
    w = o.round(o.sqrt(area * aspect))
    h = o.round(o.sqrt(area / aspect))
    fits = (w > 0) & (h > 0) & (w <= width) & (h <= height)
    first = o.min(o.where(fits, o.arange(attempts, dtype="int32")[None], attempts), 1)
    found = first < attempts
    first = o.minimum(first, attempts - 1)[:, None]
    h = o.where(found, o.take_along_axis(h, first, 1)[:, 0], height)
    w = o.where(found, o.take_along_axis(w, first, 1)[:, 0], width)
    y0 = o.floor(draws.uniform(key, draws.TAG_CROP_Y, (batch_size,)) * (height - h + 1))
    x0 = o.floor(draws.uniform(key, draws.TAG_CROP_X, (batch_size,)) * (width - w + 1))
    # u < 1 keeps the offset in range; the minimum guards float round-off.
    return o.minimum(y0, height - h), o.minimum(x0, width - w), h, w


@keras.saving.register_keras_serializable(package="keras_simclr")
class RandomResizedCrop(AugmentationLayer):
    """Crops a random box of each image and resizes it (SimCLR step 1).

    Per image: area fraction uniform in `scale`, aspect ratio (width / height
    of the box, in source pixels) log-uniform in `ratio`, up to 100 attempts,
    else the whole image (as torchvision's; Chen et al. 2020, appendix A);
    the box is then resized to (height, width). This is the paper's sampler:
    the drawn areas
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

    >>> import numpy as np

    >>> layer = RandomResizedCrop(32, 32, seed=1)
    >>> images = np.random.randint(0, 256, (4, 48, 64, 3), dtype="uint8")
    >>> tuple(layer(images).shape)
    (4, 32, 32, 3)
    """

    def __init__(
        self,
        height,
        width,
        scale=DEFAULT_CROP_SCALE,
        ratio=DEFAULT_CROP_RATIO,
        interpolation="bilinear",
        flip=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if int(height) < 1 or int(width) < 1:
            raise errors.UserInputError(
                f"height and width must be >= 1, got {height}, {width}."
            )
        scale = draws.check_range("scale", scale, high=1.0)
        ratio = draws.check_range("ratio", ratio)
        if interpolation not in ("bilinear", "bicubic"):
            raise errors.UserInputError(
                f"interpolation must be 'bilinear' or 'bicubic', got {interpolation!r}."
            )
        self.height = int(height)
        self.width = int(width)
        self.scale = scale
        self.ratio = ratio
        self.interpolation = interpolation
        self.flip = bool(flip)

    def _sample(self, key, batch_size, height, width):
        y0, x0, h, w = sample_crop_boxes(
            key, batch_size, height, width, self.scale, self.ratio
        )
        params = {"y0": y0, "x0": x0, "h": h, "w": w}
        if self.flip:
            params["flip"] = draws.bernoulli(key, draws.TAG_FLIP, (batch_size,), 0.5)
        return params

    def _apply(self, images, transformation):
        t = transformation
        crops = self._run(images, (t["y0"], t["x0"], t["h"], t["w"]))
        if not self.flip:
            return crops
        o = ops()
        flips = t["flip"][:, None, None, None]
        return o.where(flips, o.flip(crops, axis=2), crops)

    def _inference(self, images):
        shape = ops().shape(images)
        boxes = center_boxes(shape[0], shape[1], shape[2], self.height, self.width)
        return self._run(images, boxes)

    def _run(self, images, boxes):
        if not static_size(images):
            return self._crop(images, boxes)
        return self.run_compiled(
            self._crop, images, boxes, (self.height, self.width, 3)
        )

    def _crop(self, images, boxes):
        return crop_and_resize(
            images, boxes, self.height, self.width, self.interpolation
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, 3)

    def get_config(self):
        config = super().get_config()
        config.update(
            height=self.height,
            width=self.width,
            scale=list(self.scale),
            ratio=list(self.ratio),
            interpolation=self.interpolation,
            flip=self.flip,
        )
        return config
