"""Tests of the XLA helpers: chunked compiled calls, the XLA context."""

import numpy as np
import tensorflow as tf

from keras_simclr import layers
from keras_simclr.layers.augmentation.xla_chunking import chunk_size, in_xla_context
from tests.layers.augmentation.layer_inputs import random_images


def test_chunked_calls_match_one_call(xla):
    """Outside XLA a batch runs a few images per compiled call (8 at
    64 px); static and dynamic batches, with the overlapping last chunk,
    give the numbers of one uncompiled call."""
    assert chunk_size(64, 64) == 8 and chunk_size(224, 224) == 1
    images = tf.constant(random_images(11, 70, 80, seed=8))
    augment = layers.SimCLRAugment(64, 64, blur=True, seed=3)
    params = augment.get_random_transformation(images, seed=[1, 2])
    static = augment.transform_images(images, params)
    dynamic = tf.function(
        augment.transform_images,
        input_signature=[
            tf.TensorSpec((None, 70, 80, 3), tf.uint8),
            tf.nest.map_structure(lambda t: tf.TensorSpec((None,), t.dtype), params),
        ],
    )(images, params)
    augment.jit_compile = False
    plain = augment.transform_images(images, params)
    np.testing.assert_allclose(static, plain, atol=2e-5)
    np.testing.assert_allclose(dynamic, plain, atol=2e-5)


def test_in_xla_context_and_the_tensorflow_api_it_reads():
    # tf.__internal__.get_enclosing_xla_context: TensorFlow's API for
    # Keras, no public equivalent (TF 2.21). This fails if it goes or
    # changes what it answers.
    import inspect

    get = tf.__internal__.get_enclosing_xla_context
    assert not inspect.signature(get).parameters
    assert get() is None and not in_xla_context()
    assert not tf.function(lambda: tf.constant(in_xla_context()))()
    assert tf.function(lambda: tf.constant(in_xla_context()), jit_compile=True)()
    # Also inside control flow and inner functions of an XLA computation.
    inner = tf.function(lambda: tf.constant(in_xla_context()))
    assert tf.function(
        lambda: tf.cond(tf.constant(True), inner, inner), jit_compile=True
    )()
