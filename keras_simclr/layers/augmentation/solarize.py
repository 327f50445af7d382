"""Solarize: solarization with a probability per image (SimCLRv2, BYOL).

Chen et al. 2020b (SimCLRv2) and Grill et al. 2020 (BYOL): a pixel x at or
above the threshold becomes 1 - x.
"""

import keras

from keras_simclr import errors
from keras_simclr.layers.augmentation import image_inputs
from keras_simclr.layers.augmentation import random_draws as draws
from keras_simclr.layers.augmentation.backend_ops import ops
from keras_simclr.layers.augmentation.base_augmentation_layer import AugmentationLayer
from keras_simclr.layers.augmentation.color_ops import per_image
from keras_simclr.layers.augmentation.random_draws import check_probability


def sample_solarize(key, batch_size, probability):
    """Per-image solarization draws.

    Args:
        key: int32 key of shape (2,).
        batch_size: int or scalar int tensor.
        probability: probability that an image is solarized.

    Returns:
        `{"solarize": bool tensor of shape (batch,)}`.

    Example:

    >>> import numpy as np
    >>> key = draws.normalize_key(0)
    >>> np.asarray(sample_solarize(key, 3, 1.0)["solarize"]).tolist()
    [True, True, True]
    """
    return {
        "solarize": draws.bernoulli(key, draws.TAG_SOLARIZE, [batch_size], probability)
    }


def solarize_transform(images, params, threshold=0.5):
    """x -> x where x < threshold, else 1 - x, for the selected images.

    Args:
        images: float32 in [0, 1], rank 4, batch first (any layout after).
        params: from `sample_solarize`.
        threshold: in [0, 1].

    Returns:
        float32 tensor of the input's shape.

    Example:

    >>> import numpy as np
    >>> x = np.array([0.25, 0.75], "float32").reshape(2, 1, 1, 1)
    >>> y = solarize_transform(x, {"solarize": np.array([True, True])})
    >>> np.asarray(y).ravel().tolist()
    [0.25, 0.25]
    """
    o = ops()
    solarized = o.where(o.less(images, threshold), images, 1.0 - images)
    return o.where(per_image(params["solarize"]), solarized, images)


@keras.saving.register_keras_serializable(package="keras_simclr")
class Solarize(AugmentationLayer):
    """Solarization with a probability per image (SimCLRv2 / BYOL option).

    Pixels at or above `threshold` become 1 - x (BYOL's definition, for
    images in [0, 1]). Off by default (probability 0); BYOL uses 0.2 on one
    of its two views. With `training=False` the layer only converts to
    float32 in [0, 1].

    Args:
        probability: probability that an image is solarized.
        threshold: in [0, 1].
        seed: int or None.
        **kwargs: base layer arguments such as `name`.

    Returns:
        float32 tensor in [0, 1] of the input's shape.

    Example:

    >>> import numpy as np
    >>> layer = Solarize(probability=1.0)
    >>> float(layer(np.full((1, 2, 2, 3), 0.75, "float32"))[0, 0, 0, 0])
    0.25
    """

    def __init__(self, probability=0.0, threshold=0.5, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        check_probability("probability", probability)
        if not 0.0 <= float(threshold) <= 1.0:
            raise errors.UserInputError(
                f"threshold must be in [0, 1], got {threshold}."
            )
        self.probability = float(probability)
        self.threshold = float(threshold)

    def _sample(self, key, batch_size, height, width):
        return sample_solarize(key, batch_size, self.probability)

    def _apply(self, images, transformation):
        return solarize_transform(
            image_inputs.to_float32(images, clip=True), transformation, self.threshold
        )

    def get_config(self):
        config = super().get_config()
        config.update(probability=self.probability, threshold=self.threshold)
        return config
