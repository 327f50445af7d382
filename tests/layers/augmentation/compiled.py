"""`compiled(fn)`: `fn` compiled with XLA on the test's Keras backend.

jax.jit on JAX, tf.function(jit_compile=True) on TensorFlow: how a train
step runs the augmentation transforms on either backend.
"""

import keras


def compiled(fn):
    """`fn` (tensors, or nests of them, in and out) compiled with XLA."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    import tensorflow as tf

    return tf.function(fn, jit_compile=True, autograph=False)
