"""The Keras backends keras_simclr runs on, and the one check of them.

TensorFlow is the reference backend (its strategies give global negatives
and synchronized batch norm through cross-replica ops). On JAX, a
`keras.distribution.DataParallel` runs the step on the global batch, so the
loss sees every device's images and a plain batch norm is already global.
"""

import keras

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
