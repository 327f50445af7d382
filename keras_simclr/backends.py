"""The Keras backends keras_simclr runs on, and the one check of them.

TensorFlow is the reference backend (its strategies give global negatives
and synchronized batch norm through cross-replica ops). On JAX, a
`keras.distribution.DataParallel` runs the step on the global batch, so the
loss sees every device's images and a plain batch norm is already global.
"""

import keras
import tensorflow as tf

from keras_simclr import errors

SUPPORTED_BACKENDS = ("tensorflow", "jax")


def check_backend():
    """Returns Keras's backend name if keras_simclr runs on it.

    Returns:
        "tensorflow" or "jax".

    Raises:
        UserInputError: any other backend (e.g. torch), in one line.

    Example:

    >>> check_backend() in SUPPORTED_BACKENDS
    True
    """
    name = keras.backend.backend()
    if name not in SUPPORTED_BACKENDS:
        raise errors.UserInputError(
            f"keras_simclr runs on the tensorflow and jax Keras backends, not "
            f"{name} - set KERAS_BACKEND=jax or KERAS_BACKEND=tensorflow before "
            "importing keras."
        )
    return name


def is_jax():
    """True when Keras runs on JAX.

    Returns:
        bool.

    Example:

    >>> is_jax() == (keras.backend.backend() == "jax")
    True
    """
    return keras.backend.backend() == "jax"


def replicas_in_sync():
    """How many replicas each hold a share of the global batch in a step.

    `tf.distribute`'s replica count on TensorFlow; 1 on JAX, where a
    `keras.distribution` runs the step on the whole global batch.

    Returns:
        int.

    Example:

    >>> replicas_in_sync()
    1
    """
    if is_jax():
        return 1
    return tf.distribute.get_strategy().num_replicas_in_sync
