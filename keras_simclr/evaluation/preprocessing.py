"""SimCLR's evaluation preprocessing: a centre crop, resized."""

from keras_simclr.layers import CenterCrop
from keras_simclr.parts import as_image_size

__all__ = ["eval_preprocess_fn"]


def eval_preprocess_fn(image_size):
    """SimCLR's evaluation preprocessing, as a function of one image.

    For images whose shorter side is above 32 px, the centred box keeping
    87.5% of it (with the output's aspect ratio), resized to `image_size`
    (the reference's `preprocess_for_eval`, Chen et al. 2020); smaller
    images are only resized (unchanged when they already have that size).
    Pixels end as float32 in [0, 1], without mean/std normalisation. It is
    `keras_simclr.layers.CenterCrop`, the same crop `SimCLRAugment` makes
    at inference (`training=False`).

    Args:
        image_size: int or (height, width) of the output.

    Returns:
        A function mapping a (H, W, 3) (or batched) image, uint8 in
        [0, 255] or float in [0, 1], to float32 (height, width, 3) in
        [0, 1]; usable in `tf.data.Dataset.map`.

    Example:

    >>> import tensorflow as tf
    >>> preprocess = eval_preprocess_fn(224)
    >>> preprocess(tf.zeros((256, 320, 3), tf.uint8)).shape
    TensorShape([224, 224, 3])
    """
    height, width = as_image_size(image_size)
    return CenterCrop(height, width)
