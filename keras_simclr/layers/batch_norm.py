"""Global (cross-replica) batch normalization with SimCLR's settings."""

import keras

from keras_simclr import backends, errors
from keras_simclr.parts import copy_layer

# The reference's settings (google-research/simclr, BATCH_NORM_DECAY and
# BATCH_NORM_EPSILON): decay 0.9, epsilon 1e-5.
BATCH_NORM_MOMENTUM = 0.9
BATCH_NORM_EPSILON = 1e-5


def batch_norm(synchronized=True, zero_gamma=False, center=True, name=None, dtype=None):
    """Returns SimCLR's BatchNormalization: momentum 0.9, epsilon 1e-5.

    Synchronized by default: under `tf.distribute`, mean and variance are
    computed over the global batch, so that a replica cannot solve the
    contrastive task through statistics of its own images. On JAX the layer
    is a plain BatchNormalization (Keras refuses `synchronized=True` there):
    under `keras.distribution.DataParallel` the step runs on the global
    batch, whose statistics a plain batch norm already computes.

    Args:
        synchronized: compute statistics across all replicas (TensorFlow;
            on JAX they always are).
        zero_gamma: start the scale at 0 (last BN of a residual branch).
        center: learn an offset (the head's last BN has none).
        name: layer name.
        dtype: dtype policy; None uses the global one.

    Returns:
        A `keras.layers.BatchNormalization`.

    Example:

    >>> bn = batch_norm(zero_gamma=True)
    """
    return keras.layers.BatchNormalization(
        momentum=BATCH_NORM_MOMENTUM,
        epsilon=BATCH_NORM_EPSILON,
        center=center,
        gamma_initializer="zeros" if zero_gamma else "ones",
        synchronized=synchronized and not backends.is_jax(),
        name=name,
        dtype=dtype,
    )


def synchronize_batch_norm(model):
    """Returns a copy of `model` whose BatchNormalization layers are global.

    Works on any Functional or Sequential model, nested ones included (e.g.
    `keras.applications.ResNet50`); the weights are copied, so a pretrained
    network keeps what it learned. On JAX the copy's batch norms stay plain:
    under `keras.distribution.DataParallel` they are global already.

    Args:
        model: a Functional or Sequential `keras.Model`.

    Returns:
        A new model of the same architecture with `synchronized=True` on
        every `BatchNormalization`, holding the same weights.

    Raises:
        UserInputError: for a subclassed model, whose layers cannot be rebuilt
            from its graph; build it with
            `BatchNormalization(synchronized=True)` instead.

    Example:

    >>> base = keras.applications.ResNet50(weights=None, include_top=False)
    >>> encoder = synchronize_batch_norm(base)
    """
    if not isinstance(model, (keras.Sequential, keras.Model)) or not (
        isinstance(model, keras.Sequential) or _is_functional(model)
    ):
        raise errors.UserInputError(
            f"synchronize_batch_norm needs a Functional or Sequential model, "
            f"got {type(model).__name__}. For a subclassed model, create its "
            "layers with keras.layers.BatchNormalization(synchronized=True)."
        )

    return keras.models.clone_model(
        model, clone_function=_synchronized_copy, recursive=True
    )


def _synchronized_copy(layer):
    if isinstance(layer, keras.layers.BatchNormalization):
        return copy_layer(layer, synchronized=not backends.is_jax())
    return copy_layer(layer)


def _is_functional(model):
    return hasattr(model, "_nodes_by_depth") and hasattr(model, "inputs")
