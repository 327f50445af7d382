"""SimCLRAugment: SimCLR's whole augmentation chain, one view per call."""

import keras

from keras_simclr import errors
from keras_simclr.layers.augmentation import (
    color_distortion,
    gaussian_blur,
    image_inputs,
)
from keras_simclr.layers.augmentation import random_draws as draws
from keras_simclr.layers.augmentation import solarize as solarize_lib
from keras_simclr.layers.augmentation.backend_ops import ops
from keras_simclr.layers.augmentation.base_augmentation_layer import AugmentationLayer
from keras_simclr.layers.augmentation.center_crop import CenterCrop
from keras_simclr.layers.augmentation.color_distortion import (
    BRIGHTNESS,
    CONTRAST,
    DEFAULT_COLOR_JITTER_PROB,
    DEFAULT_GRAYSCALE_PROB,
    DEFAULT_JITTER,
    HUE,
    JITTER_NAMES,
    SATURATION,
)
from keras_simclr.layers.augmentation.gaussian_blur import DEFAULT_BLUR_PROB
from keras_simclr.layers.augmentation.random_resized_crop import (
    DEFAULT_CROP_RATIO,
    DEFAULT_CROP_SCALE,
    sample_crop_boxes,
)
from keras_simclr.layers.augmentation.resampling import crop_and_resize
from keras_simclr.layers.augmentation.xla_chunking import static_size

# Images up to this side (px) get SimCLR's CIFAR-10 settings: colour
# strength 0.5 and no blur (and, in a recipe, the 3x3 stem); larger ones
# ImageNet's (Chen et al. 2020, appendix B.9).
SMALL_IMAGE_MAX = 64


def preset_for_size(image_size):
    """The `SimCLRAugment.PRESETS` name SimCLR uses for `image_size`.

    Args:
        image_size: the larger side of the images, in pixels.

    Returns:
        "cifar10" up to `SMALL_IMAGE_MAX` px, "imagenet" above.

    Example:

    >>> preset_for_size(32), preset_for_size(96)
    ('cifar10', 'imagenet')
    """
    return "cifar10" if int(image_size) <= SMALL_IMAGE_MAX else "imagenet"


@keras.saving.register_keras_serializable(package="keras_simclr")
class SimCLRAugment(AugmentationLayer):
    """SimCLR's augmentation (Chen et al. 2020, appendix A): one view per call.

    Per image, independently: random resized crop to (height, width) (area
    fraction uniform in `crop_scale`, U[0.08, 1], aspect ratio log-uniform in
    `crop_ratio`, [3/4, 4/3], bilinear), horizontal flip with p = 0.5, colour
    distortion of strength `strength` (jitter with p = `color_jitter_prob`,
    0.8, in a random order, grayscale with p = `grayscale_prob`, 0.2),
    Gaussian blur with p = `blur_prob`, 0.5, (sigma U[0.1, 2], kernel from
    10% of the side) if `blur`, and solarization with probability
    `solarize`. Call it twice for SimCLR's two views; every call draws fresh
    parameters. The defaults are the paper's.

    Inputs: uint8 in [0, 255] or float in [0, 1], (batch, h, w, 3) or
    (h, w, 3), any size. Output: float32 in [0, 1] of shape
    (..., height, width, 3). With `training=False` the view is deterministic:
    `CenterCrop(height, width)`, the evaluation view (for sources whose
    shorter side is above 32 px, the centred box of the output's aspect
    ratio keeping 87.5% of the shorter side, resized; for smaller sources,
    the whole image resized). No colour change.

    The whole chain runs on TensorFlow and on JAX (eagerly, and inside a
    jitted step, its generator's state carried with the step's variables).
    On TensorFlow it compiles with XLA (`tf.function(jit_compile=True)`, on
    TPU and GPU too) and runs in `tf.data` (`dataset.batch(n).map(layer)`);
    outside XLA the layer compiles its transform itself and calls it a few
    images at a time (`AugmentationLayer.run_compiled`; set
    `layer.jit_compile = False` for plain TensorFlow ops, same numbers).
    Randomness is per image, and per replica or device (see
    `keras_simclr.layers.augmentation.random_draws`). Map it over batches or
    single images alike; for small images (CIFAR) batch first, as a call has
    a fixed cost.

    Presets: `SimCLRAugment.PRESETS["imagenet"]` (224 px, strength 1.0,
    blur) and `["cifar10"]` (32 px, strength 0.5, no blur), built with
    `SimCLRAugment.from_preset(name, **overrides)` or the shortcuts
    `SimCLRAugment.imagenet()` and `SimCLRAugment.cifar10()`.

    Args:
        height, width: output size in pixels.
        strength: colour jitter strength (1.0 ImageNet, 0.5 CIFAR-10), in
            [0, `color_distortion.MAX_STRENGTH`].
        blur: whether to apply the Gaussian blur at all; off for 32 px.
        flip: whether to apply the random horizontal flip.
        solarize: probability of solarization (0 = off; SimCLRv2 / BYOL
            option).
        seed: int or None.
        crop_scale: (low, high) range of the crop's area fraction, 0 < low
            <= high <= 1 (raise low for small images or for data whose
            objects fill the frame).
        crop_ratio: (low, high) range of the crop's aspect ratio (width /
            height), 0 < low <= high, sampled log-uniformly.
        color_jitter_prob: probability of the colour jitter.
        grayscale_prob: probability of the grayscale conversion.
        blur_prob: probability of the blur when `blur` is on.
        jitter_brightness, jitter_contrast, jitter_saturation, jitter_hue:
            the jitter components relative to `strength` (as lightly's
            `SimCLRTransform`): the amplitude a = strength * component gives
            brightness, contrast and saturation factors U[max(0, 1 - a),
            1 + a] and a hue shift U[-a, a]; each >= 0, the hue shift at
            most 0.5 (half the circle). Defaults: 0.8, 0.8, 0.8, 0.2.
        **kwargs: base layer arguments such as `name`.

    Returns:
        float32 tensor of shape (batch, height, width, 3) (or (height, width,
        3) for one image) in [0, 1].

    Example:

    >>> import numpy as np

    >>> augment = SimCLRAugment.cifar10(seed=1)
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> view_1, view_2 = augment(images), augment(images)
    >>> tuple(view_1.shape)
    (8, 32, 32, 3)
    >>> import tensorflow as tf
    >>> dataset = tf.data.Dataset.from_tensor_slices(images).batch(4)
    >>> dataset = dataset.map(augment)  # in tf.data
    >>> gentle = SimCLRAugment.cifar10(crop_scale=(0.2, 1.0), grayscale_prob=0.0)
    >>> gentle.crop_scale, gentle.grayscale_prob, gentle.jitter
    ((0.2, 1.0), 0.0, (0.8, 0.8, 0.8, 0.2))
    """

    PRESETS = {
        "imagenet": {"height": 224, "width": 224, "strength": 1.0, "blur": True},
        "cifar10": {"height": 32, "width": 32, "strength": 0.5, "blur": False},
    }

    def __init__(
        self,
        height,
        width,
        strength=1.0,
        blur=True,
        flip=True,
        solarize=0.0,
        seed=None,
        *,
        crop_scale=DEFAULT_CROP_SCALE,
        crop_ratio=DEFAULT_CROP_RATIO,
        color_jitter_prob=DEFAULT_COLOR_JITTER_PROB,
        grayscale_prob=DEFAULT_GRAYSCALE_PROB,
        blur_prob=DEFAULT_BLUR_PROB,
        jitter_brightness=DEFAULT_JITTER[BRIGHTNESS],
        jitter_contrast=DEFAULT_JITTER[CONTRAST],
        jitter_saturation=DEFAULT_JITTER[SATURATION],
        jitter_hue=DEFAULT_JITTER[HUE],
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        height = errors.check_positive_int("height", height)
        width = errors.check_positive_int("width", width)
        self.strength, self.jitter = color_distortion.check_jitter(
            strength,
            (jitter_brightness, jitter_contrast, jitter_saturation, jitter_hue),
        )
        self.solarize = draws.check_probability("solarize", solarize)
        self.crop_scale = draws.check_range("crop_scale", crop_scale, high=1.0)
        self.crop_ratio = draws.check_range("crop_ratio", crop_ratio)
        self.color_jitter_prob = draws.check_probability(
            "color_jitter_prob", color_jitter_prob
        )
        self.grayscale_prob = draws.check_probability("grayscale_prob", grayscale_prob)
        self.blur_prob = draws.check_probability("blur_prob", blur_prob)
        self.height = int(height)
        self.width = int(width)
        self.blur = bool(blur)
        self.flip = bool(flip)
        self.blur_radius = gaussian_blur.default_radius(self.height)
        # The flip is done in _after_crop (keras.layers.RandomFlip's numbers,
        # with this layer's draws); the RandomFlip that did it before stays,
        # unused, because its generator's state is among the variables of
        # saved SimCLRAugments (their files keep loading).
        self.flip_layer = None
        if self.flip:
            self.flip_layer = keras.layers.RandomFlip(
                "horizontal", data_format="channels_last", dtype="float32", name="flip"
            )
            self.flip_layer.build(None)

    @classmethod
    def from_preset(cls, name, **overrides):
        """Builds the `name` preset ("imagenet" or "cifar10") with overrides.

        Example:

        >>> SimCLRAugment.from_preset("cifar10", seed=0).strength
        0.5
        """
        if name not in cls.PRESETS:
            raise errors.UserInputError(
                f"Unknown preset {name!r}; choose from {sorted(cls.PRESETS)}."
            )
        return cls(**{**cls.PRESETS[name], **overrides})

    @classmethod
    def imagenet(cls, **overrides):
        """224 px, strength 1.0, blur (SimCLR's ImageNet recipe).

        Example:

        >>> SimCLRAugment.imagenet(seed=0).blur_radius
        11
        """
        return cls.from_preset("imagenet", **overrides)

    @classmethod
    def cifar10(cls, **overrides):
        """32 px, strength 0.5, no blur (SimCLR's CIFAR-10 recipe).

        Example:

        >>> SimCLRAugment.cifar10().blur
        False
        """
        return cls.from_preset("cifar10", **overrides)

    def _sample(self, key, batch_size, height, width):
        crop_key = draws.fold_in(key, draws.STAGE_CROP)
        y0, x0, h, w = sample_crop_boxes(
            crop_key, batch_size, height, width, self.crop_scale, self.crop_ratio
        )
        params = {"y0": y0, "x0": x0, "h": h, "w": w}
        if self.flip:
            params["flip"] = draws.bernoulli(
                crop_key, draws.TAG_FLIP, (batch_size,), 0.5
            )
        params["color"] = color_distortion.sample_color(
            draws.fold_in(key, draws.STAGE_COLOR),
            batch_size,
            self.strength,
            self.color_jitter_prob,
            self.grayscale_prob,
            self.jitter,
        )
        if self.blur:
            params["blur"] = gaussian_blur.sample_blur(
                draws.fold_in(key, draws.STAGE_BLUR), batch_size, self.blur_prob
            )
        if self.solarize > 0:
            params["solarize"] = solarize_lib.sample_solarize(
                draws.fold_in(key, draws.STAGE_SOLARIZE), batch_size, self.solarize
            )
        return params

    def call(self, images, training=True, crop=True):
        """One view of each image; `crop=False` for crops made already.

        Args:
            images: see the class.
            training: False for the evaluation view.
            crop: False when `images` are crops of (height, width) made
                before (by `keras_simclr.data.pretraining_dataset` from the
                full-resolution images): the view is then the rest of the
                chain, flip, colour, blur and solarize.

        Returns:
            float32 in [0, 1] of shape (..., height, width, 3).

        Example:

        >>> import numpy as np
        >>> augment = SimCLRAugment(8, 8, blur=False, seed=0)
        >>> crops = np.zeros([2, 8, 8, 3], "uint8")
        >>> tuple(augment(crops, crop=False).shape)
        (2, 8, 8, 3)
        """
        if crop:
            return super().call(images, training=training)
        return self.transform_images(
            images,
            self.get_random_transformation(images, training=training),
            training=training,
            crop=False,
        )

    def transform_images(self, images, transformation, training=True, crop=True):
        """Applies `transformation`; `crop=False` as in `call`.

        Args:
            images: see the class.
            transformation: from `get_random_transformation`.
            training: False for the evaluation view.
            crop: as in `call`.

        Returns:
            float32 in [0, 1]; rank as the input.

        Example:

        >>> import numpy as np
        >>> augment = SimCLRAugment(8, 8, seed=0)
        >>> images = np.zeros([2, 12, 12, 3], "uint8")
        >>> params = augment.get_random_transformation(images, seed=1)
        >>> tuple(augment.transform_images(images, params).shape)
        (2, 8, 8, 3)
        """
        if crop:
            return super().transform_images(images, transformation, training)
        images, unbatched = self.image_batch(images)
        if tuple(images.shape[1:3]) != (self.height, self.width):
            raise errors.UserInputError(
                f"{self.name}: crop=False takes crops of the output size "
                f"({self.height}, {self.width}), got images of shape "
                f"{images.shape}; pass crop=True to crop them here."
            )
        if not training or transformation is None:
            outputs = image_inputs.to_float32(images, clip=True)
        else:
            outputs = self.run_compiled(
                self._finish_crops, images, transformation, (self.height, self.width, 3)
            )
        return outputs[0] if unbatched else outputs

    def _finish_crops(self, crops, params):
        x = ops().transpose(image_inputs.to_float32(crops, clip=True), (0, 1, 3, 2))
        return self._after_crop(x, params)

    def _apply(self, images, transformation):
        out_shape = (self.height, self.width, 3)
        if static_size(images):
            return self.run_compiled(self._chain, images, transformation, out_shape)
        # Source size varies: crop without XLA (which would recompile for
        # every new size), then compile the rest (fixed output size).
        return self.run_compiled(
            self._after_crop,
            self._crop(images, transformation, 2),
            transformation,
            out_shape,
        )

    def _chain(self, images, params):
        return self._after_crop(self._crop(images, params, 2), params)

    def _crop(self, images, params, channels_axis=-1):
        boxes = (params["y0"], params["x0"], params["h"], params["w"])
        return crop_and_resize(
            images, boxes, self.height, self.width, channels_axis=channels_axis
        )

    def _after_crop(self, x, params):
        """Colour, blur, solarize on (batch, height, 3, width); flip; NHWC.

        The channels-in-the-middle layout lets every per-pixel op read each
        channel contiguously (faster under XLA on CPU than NHWC) and the
        crop writes it directly. The flip commutes with the colour
        ops and the (symmetric, reflect-padded) blur, so it comes last, on
        the NHWC result, as keras.layers.RandomFlip does it.
        """
        x = color_distortion.color_transform(x, params["color"], channels_axis=2)
        if self.blur:
            x = gaussian_blur.blur_transform(
                x, params["blur"], self.blur_radius, channels_axis=2
            )
        if self.solarize > 0:
            x = solarize_lib.solarize_transform(x, params["solarize"])
        o = ops()
        x = o.transpose(x, (0, 1, 3, 2))
        if self.flip:
            flips = params["flip"][:, None, None, None]
            x = o.where(flips, o.flip(x, axis=2), x)
        return x

    def _inference(self, images):
        # Not tracked by Keras (object.__setattr__): the layer's weights and
        # config stay as they were, and saved SimCLRAugments keep loading.
        center_crop = self.__dict__.get("_center_crop")
        if center_crop is None:
            center_crop = CenterCrop(
                self.height, self.width, name=f"{self.name}_center_crop"
            )
            object.__setattr__(self, "_center_crop", center_crop)
        center_crop.jit_compile = self.jit_compile
        return center_crop(images)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, 3)

    def get_config(self):
        config = super().get_config()
        config.update(
            height=self.height,
            width=self.width,
            strength=self.strength,
            blur=self.blur,
            flip=self.flip,
            solarize=self.solarize,
            crop_scale=list(self.crop_scale),
            crop_ratio=list(self.crop_ratio),
            color_jitter_prob=self.color_jitter_prob,
            grayscale_prob=self.grayscale_prob,
            blur_prob=self.blur_prob,
            **dict(zip(JITTER_NAMES, self.jitter)),
        )
        return config
