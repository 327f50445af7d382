"""CenterCrop: the deterministic evaluation view of SimCLR's images.

As the SimCLR reference's evaluation preprocessing: for a source whose
shorter side is above 32 px, the centred box with the output's aspect ratio
keeping 87.5% of the shorter side, resized (bilinear) to the output size;
for smaller sources, the whole image resized.
"""

import keras

from keras_simclr import errors
from keras_simclr.layers.augmentation.backend_ops import ops
from keras_simclr.layers.augmentation.base_augmentation_layer import AugmentationLayer
from keras_simclr.layers.augmentation.resampling import crop_and_resize
from keras_simclr.layers.augmentation.xla_chunking import static_size

CROP_PROPORTION = 0.875  # of the largest centred box ...
MIN_SIDE_TO_CROP = 32  # ... for sources whose shorter side is larger.


def center_boxes(batch_size, height, width, out_height, out_width, proportion=1.0):
    """The centred box of the output's aspect ratio, scaled by `proportion`.

    As the SimCLR reference's evaluation crop: the largest box with aspect
    out_width / out_height that fits, times `proportion` (0.875 for
    evaluation), rounded to whole pixels and centred.

    Args:
        batch_size: int or scalar int tensor, the number of boxes.
        height, width: the source size, ints or scalar int tensors.
        out_height, out_width: the output size, ints.
        proportion: fraction of the largest box kept, in (0, 1].

    Returns:
        `(y0, x0, h, w)`, float32 tensors of shape (batch,).

    Example:

    >>> [float(v[0]) for v in center_boxes(1, 48, 64, 32, 32, 0.875)]
    [3.0, 11.0, 42.0, 42.0]
    """
    o = ops()
    height = o.cast(height, "float32")
    width = o.cast(width, "float32")
    aspect = out_width / out_height
    wider = width / height > aspect
    h = o.where(
        wider, o.round(proportion * height), o.round(proportion * width / aspect)
    )
    w = o.where(
        wider, o.round(proportion * height * aspect), o.round(proportion * width)
    )
    h = o.clip(h, 1.0, height)
    w = o.clip(w, 1.0, width)
    y0 = o.floor((height - h + 1) / 2)
    x0 = o.floor((width - w + 1) / 2)
    ones = o.ones((batch_size,), "float32")
    return y0 * ones, x0 * ones, h * ones, w * ones


@keras.saving.register_keras_serializable(package="keras_simclr")
class CenterCrop(AugmentationLayer):
    """The evaluation view: a centred crop, resized; no randomness.

    For sources whose shorter side is above 32 px, the centred box of the
    output's aspect ratio (height : width) keeping 87.5% of the largest
    such box that fits, rounded to whole pixels; for sources of 32 px or
    less, the whole image. The box is resized to (height, width) with
    bilinear interpolation (an image that already has the output size and
    is not cropped comes out unchanged). No colour change. The same with
    `training=True` or False.

    Inputs: uint8 in [0, 255] or float in [0, 1], (batch, h, w, 3) or
    (h, w, 3), any size; compiled with XLA as the other augmentation layers
    (`jit_compile`).

    Args:
        height, width: output size in pixels.
        **kwargs: base layer arguments such as `name`.

    Returns:
        float32 tensor in [0, 1] of shape (batch, height, width, 3), or
        (height, width, 3) for a single image.

    Example:

    >>> import numpy as np

    >>> crop = CenterCrop(32, 32)
    >>> images = np.random.randint(0, 256, (2, 48, 64, 3), dtype="uint8")
    >>> tuple(crop(images).shape)
    (2, 32, 32, 3)
    >>> small = np.random.rand(32, 32, 3).astype("float32")
    >>> bool(np.array_equal(crop(small), small))
    True
    """

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        self.height = errors.check_positive_int("height", height)
        self.width = errors.check_positive_int("width", width)

    def call(self, images, training=None):
        images, unbatched = self.image_batch(images)
        outputs = self._inference(images)
        return outputs[0] if unbatched else outputs

    def _sample(self, key, batch_size, height, width):
        return {}

    def _apply(self, images, transformation):
        return self._inference(images)

    def _inference(self, images):
        o = ops()
        batch, height, width = o.shape(images)[:3]
        centre = center_boxes(
            batch, height, width, self.height, self.width, CROP_PROPORTION
        )
        ones = o.ones((batch,), "float32")
        whole = (
            0.0 * ones,
            0.0 * ones,
            o.cast(height, "float32") * ones,
            o.cast(width, "float32") * ones,
        )
        large = o.minimum(height, width) > MIN_SIDE_TO_CROP
        boxes = tuple(o.where(large, c, f) for c, f in zip(centre, whole))
        params = dict(zip(("y0", "x0", "h", "w"), boxes))
        if static_size(images):
            return self.run_compiled(
                self._crop, images, params, (self.height, self.width, 3)
            )
        return self._crop(images, params)

    def _crop(self, images, params):
        boxes = (params["y0"], params["x0"], params["h"], params["w"])
        return crop_and_resize(images, boxes, self.height, self.width)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, 3)

    def get_config(self):
        config = super().get_config()
        config.pop("seed")  # nothing random
        config.update(height=self.height, width=self.width)
        return config
