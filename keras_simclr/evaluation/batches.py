"""The batches a classifier trains and is tested on."""

import keras
import tensorflow as tf

from keras_simclr.evaluation.preprocessing import eval_preprocess_fn
from keras_simclr.layers import RandomResizedCrop

__all__ = ["predict_logits", "training_batches"]


def _augment_fn(size, seed):
    """Fine-tuning's augmentation: random resized crop and horizontal flip."""
    crop = RandomResizedCrop(*size, seed=seed)
    flip = keras.layers.RandomFlip("horizontal", seed=seed)
    return lambda image: flip(crop(image, training=True), training=True)


def training_batches(dataset, count, size, batch_size, augment, seed, cache=False):
    """Shuffled, (optionally) augmented, batched training images in [0, 1].

    The augmentation is fine-tuning's: random resized crop and horizontal
    flip, per image, no colour distortion; without it, the images get
    `eval_preprocess_fn`.

    Args:
        dataset: an unbatched dataset of `(image, label)`.
        count: its number of examples, stated so that Keras knows the
            epoch's length.
        size: (height, width) of the batches' images.
        batch_size: images per batch.
        augment: crop and flip at random.
        seed: seed of the shuffling and the augmentation.
        cache: cache the (unaugmented) examples after the first epoch.

    Returns:
        A dataset of `(images, labels)` batches.

    Example:

    >>> import numpy as np
    >>> data = tf.data.Dataset.from_tensor_slices((np.zeros((5, 8, 8, 3), np.uint8), [0] * 5))
    >>> batches = training_batches(data, 5, (4, 4), 2, augment=True, seed=0)
    >>> [tuple(images.shape) for images, _ in batches]
    [(2, 4, 4, 3), (2, 4, 4, 3), (1, 4, 4, 3)]
    """
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    if cache:
        dataset = dataset.cache()
    dataset = dataset.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    preprocess = _augment_fn(size, seed) if augment else eval_preprocess_fn(size)
    dataset = dataset.map(
        lambda image, label: (preprocess(image), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def predict_logits(model, dataset, count, size):
    """Outputs of `model` on the eval-preprocessed images of `dataset`.

    Args:
        model: a Keras model of float images in [0, 1] of `size`.
        dataset: an unbatched dataset of `(image, label)`.
        count: its number of examples.
        size: (height, width) to preprocess the images to.

    Returns:
        A NumPy array of the model's outputs, one row per image.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten()])
    >>> data = tf.data.Dataset.from_tensor_slices((np.zeros((3, 4, 4, 3), np.uint8), [0] * 3))
    >>> predict_logits(model, data, 3, (4, 4)).shape
    (3, 48)
    """
    preprocess = eval_preprocess_fn(size)
    batches = (
        dataset.apply(tf.data.experimental.assert_cardinality(count))
        .map(lambda image, label: preprocess(image))
        .batch(256)
        .prefetch(tf.data.AUTOTUNE)
    )
    return model.predict(batches, verbose=0)
