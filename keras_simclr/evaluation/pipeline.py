"""Preprocessed batches from a `tf.data` pipeline, on either Keras backend.

`tf.data` runs its map functions as TensorFlow graphs. On TensorFlow the
preprocessing layers (`keras_simclr.layers.CenterCrop`, `RandomResizedCrop`,
`keras.layers.RandomFlip`) run inside that graph, image by image, before
batching. On JAX a Keras layer computes with JAX arrays, which a TensorFlow
graph cannot hold: the images go to Python (`tf.py_function`), where the
layer runs eagerly on JAX, and come back as a float32 tensor. A whole batch
at a time when the images have one static size (the layers draw their
random parameters per image, so a batch is a batch of single images), else
image by image; in order, because the random layers keep their seed state
in Python.
"""

import numpy as np
import tensorflow as tf

from keras_simclr import backends

__all__ = ["preprocessed_batches"]


def preprocessed_batches(dataset, preprocess, size, batch_size, keep_labels=True):
    """Batches of `dataset`'s images after `preprocess`, and their labels.

    Args:
        dataset: an unbatched dataset of `(image, label)`.
        preprocess: a function (e.g. a Keras layer) of an image, or of a
            batch of images, to float32 images of `size`.
        size: (height, width) of `preprocess`'s outputs.
        batch_size: images per batch.
        keep_labels: yield `(images, labels)`; else only the images.

    Returns:
        The batched dataset.

    Example:

    >>> import keras
    >>> data = tf.data.Dataset.from_tensor_slices((np.zeros((3, 4, 4, 3)), [0, 1, 2]))
    >>> corner = lambda images: keras.ops.cast(images[..., :2, :2, :], "float32")
    >>> batches = preprocessed_batches(data, corner, (2, 2), batch_size=2)
    >>> [(tuple(images.shape), labels.numpy().tolist()) for images, labels in batches]
    [((2, 2, 2, 3), [0, 1]), ((1, 2, 2, 3), [2])]
    """
    if not keep_labels:
        dataset = dataset.map(lambda image, label: (image, -1))
    if not backends.is_jax():
        batches = dataset.map(
            lambda image, label: (preprocess(image), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        ).batch(batch_size)
    elif None in dataset.element_spec[0].shape:  # images of several sizes
        batches = dataset.map(
            lambda image, label: (_on_host(preprocess, size, image), label)
        ).batch(batch_size)
    else:
        batches = dataset.batch(batch_size).map(
            lambda images, labels: (_on_host(preprocess, size, images), labels)
        )
    if keep_labels:
        return batches
    return batches.map(lambda images, labels: images)


def _on_host(preprocess, size, images):
    """`preprocess(images)`, run eagerly in Python, in a TensorFlow graph."""

    def run(images):
        return np.asarray(preprocess(images.numpy()), np.float32)

    output = tf.py_function(run, [images], tf.float32)
    output.set_shape(images.shape[:-3].concatenate(tuple(size) + (3,)))
    return output
