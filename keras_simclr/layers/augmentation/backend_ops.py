"""The ops the augmentation computes with, on every backend and in tf.data.

The transforms and samplers are written once, with `ops()`: `keras.ops`,
which runs on TensorFlow and on JAX (eagerly and under `jax.jit`). One case
needs more: Keras on JAX and a function traced in a TensorFlow graph, such
as a `tf.data` map (the input pipeline is tf.data on every backend). There
`keras.ops` would hand TensorFlow's symbolic tensors to JAX, so `ops()` is
the same functions on Keras's TensorFlow backend, the module Keras's own
preprocessing layers use in tf.data (`keras.src.backend.tensorflow`; Keras
exports no public name for it; tests/layers/augmentation/backend_ops_test.py
fails if it goes). `in_tensorflow()` says which of the two runs, for the
random draws (`random_draws`) and `batch_gather`, the one op Keras lacks.
"""

import keras
import tensorflow as tf

from keras_simclr.backends import is_jax


def in_tensorflow():
    """Whether the augmentation computes with TensorFlow here.

    True when Keras runs on TensorFlow, and on JAX while TensorFlow traces a
    graph (a `tf.data` map, a `tf.function`); False on JAX otherwise
    (eagerly, under `jax.jit`).

    Returns:
        bool.

    Example:

    >>> in_tensorflow() == (not is_jax())
    True
    """
    return not is_jax() or not tf.executing_eagerly()


class _TensorFlowOps:
    """`keras.ops`' names, served by Keras's TensorFlow backend."""

    def __getattr__(self, name):
        from keras.src.backend import tensorflow as backend

        for module in (backend.numpy, backend.core, backend.math, backend.nn):
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"Keras's TensorFlow backend has no op {name!r}.")


_TENSORFLOW_OPS = _TensorFlowOps()


def ops():
    """The ops namespace to compute with here (see the module docstring).

    Returns:
        `keras.ops`, or the same names on Keras's TensorFlow backend inside a
        TensorFlow graph on another backend.

    Example:

    >>> float(ops().sqrt(4.0))
    2.0
    """
    if keras.backend.backend() == "tensorflow" or not in_tensorflow():
        return keras.ops
    return _TENSORFLOW_OPS


def batch_gather(x, index, axis):
    """`x[b, ..., index[b, i], ...]` along `axis`, with per-image indices.

    `tf.gather(x, index, axis=axis, batch_dims=1)`: `index` has shape
    (batch, n) and picks entries of `x`'s axis `axis` (>= 1) for each image,
    with every axis after it taken whole.

    Args:
        x: tensor of rank >= 2, batch first.
        index: int tensor of shape (batch, n), in range.
        axis: int >= 1.

    Returns:
        `x`'s shape with axis `axis` of size n.

    Example:

    >>> x = keras.ops.reshape(keras.ops.arange(6), (2, 3))
    >>> index = keras.ops.convert_to_tensor([[2, 0], [1, 1]])
    >>> keras.ops.convert_to_numpy(batch_gather(x, index, 1)).tolist()
    [[2, 0], [4, 4]]
    """
    if in_tensorflow():
        return tf.gather(x, index, axis=axis, batch_dims=1)
    shape = [index.shape[0]] + [1] * (len(x.shape) - 1)
    shape[axis] = index.shape[1]
    return keras.ops.take_along_axis(x, keras.ops.reshape(index, shape), axis=axis)
