"""Per-image preprocessing inside a `tf.data` pipeline, on either Keras backend.

`tf.data` runs its map functions as TensorFlow graphs. On TensorFlow the
preprocessing layers (`keras_simclr.layers.CenterCrop`, `RandomResizedCrop`,
`keras.layers.RandomFlip`) run inside that graph. On JAX a Keras layer
computes with JAX arrays, which a TensorFlow graph cannot hold, so each image
goes to Python (`tf.py_function`), where the layer runs eagerly on JAX, and
comes back as a float32 tensor of the stated size: one image at a time,
because the random layers keep their seed state in Python.
"""

import numpy as np
import tensorflow as tf

from keras_simclr import backends

__all__ = ["map_images"]


def map_images(dataset, preprocess, size, keep_labels=True):
    """`dataset` of `(image, label)` with `preprocess` applied to every image.

    Args:
        dataset: an unbatched dataset of `(image, label)`.
        preprocess: a function (e.g. a Keras layer) of one image to a
            float32 image of `size`.
        size: (height, width) of `preprocess`'s outputs.
        keep_labels: yield `(image, label)`; else only the images.

    Returns:
        The mapped dataset.

    Example:

    >>> import keras
    >>> data = tf.data.Dataset.from_tensor_slices((np.zeros((2, 4, 4, 3)), [0, 1]))
    >>> halve = lambda image: keras.ops.cast(image[:2, :2], "float32")
    >>> [tuple(image.shape) for image, _ in map_images(data, halve, (2, 2))]
    [(2, 2, 3), (2, 2, 3)]
    """
    if backends.is_jax():
        preprocess, calls = _on_host(preprocess, size), None
    else:
        calls = tf.data.AUTOTUNE
    if keep_labels:
        return dataset.map(
            lambda image, label: (preprocess(image), label), num_parallel_calls=calls
        )
    return dataset.map(lambda image, label: preprocess(image), num_parallel_calls=calls)


def _on_host(preprocess, size):
    """`preprocess` run eagerly in Python, as a TensorFlow graph function."""

    def run(image):
        return np.asarray(preprocess(image.numpy()), np.float32)

    def in_graph(image):
        output = tf.py_function(run, [image], tf.float32)
        output.set_shape(tuple(size) + (3,))
        return output

    return in_graph
