"""Tests of backend_ops: keras.ops, or TensorFlow's inside a TF graph."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_simclr.layers.augmentation import backend_ops

pytestmark = pytest.mark.backend_neutral


def test_ops_are_keras_ops_eagerly_and_tensorflow_in_a_tf_graph():
    on_tensorflow = keras.backend.backend() == "tensorflow"
    assert backend_ops.in_tensorflow() == on_tensorflow
    assert backend_ops.ops() is keras.ops  # eagerly (and under jax.jit)

    seen = []

    @tf.function
    def traced(x):
        assert backend_ops.in_tensorflow()
        o = backend_ops.ops()
        seen.append(o)
        # The names the augmentation uses, on TensorFlow tensors.
        y = o.where(x > 1.0, o.round(o.sqrt(x)), o.floor(x))
        y = o.clip(o.cast(y, "float32"), 0.0, 2.0) + o.min(x) * 0
        y = o.take_along_axis(y[None], o.convert_to_tensor([[1, 0]]), 1)[0]
        return o.transpose(o.flip(o.stack([y, y]), axis=1), (1, 0))

    out = traced(tf.constant([0.5, 4.0]))
    assert isinstance(out, tf.Tensor)
    np.testing.assert_array_equal(out, [[0.0, 0.0], [2.0, 2.0]])
    if not on_tensorflow:
        # Keras's TensorFlow backend, the private module Keras's own
        # preprocessing layers use in tf.data: this fails if it goes.
        from keras.src.backend import tensorflow as tensorflow_backend

        assert seen[0].where is tensorflow_backend.numpy.where
        assert seen[0].cast is tensorflow_backend.core.cast
        assert not hasattr(seen[0], "no_such_op")


def test_batch_gather_is_take_along_axis_per_image():
    x = np.arange(2 * 5 * 3, dtype="float32").reshape(2, 5, 3)
    index = np.array([[4, 0, 0], [1, 3, 2]], "int32")
    expected = np.take_along_axis(x, index[:, :, None], axis=1)
    np.testing.assert_array_equal(
        backend_ops.batch_gather(keras.ops.convert_to_tensor(x), index, 1), expected
    )
    expected = np.take_along_axis(x, np.array([[2, 0], [1, 1]])[:, None], axis=2)
    np.testing.assert_array_equal(
        backend_ops.batch_gather(x, np.array([[2, 0], [1, 1]], "int32"), 2), expected
    )
    in_graph = tf.function(lambda x, i: backend_ops.batch_gather(x, i, 1))
    np.testing.assert_array_equal(
        in_graph(x, index), np.take_along_axis(x, index[:, :, None], axis=1)
    )
