"""XLA helpers of the augmentation layers: context, chunks, skipped ops.

Outside XLA an augmentation layer calls its compiled transform a few images
at a time (`chunk_size` of them; `AugmentationLayer.run_compiled`), with the
per-image parameters packed in one matrix (`pack_params`); inside a
computation already compiled with XLA (`in_xla_context`) it compiles
nothing itself. `skip_unless` skips an op no image of a chunk needs.
All but `skip_unless` and `static_size` are TensorFlow's only: on JAX the
layers compile nothing themselves (the jitted step covers them).
"""

import tensorflow as tf

from keras_simclr.layers.augmentation.backend_ops import ops

# Images per compiled call: at most this many float32 values per image
# tensor (512 KiB) keeps a call's intermediates in a core's cache.
CHUNK_VALUES = 2**17


def in_xla_context():
    """True while tracing for XLA (tf.function(jit_compile=True), TPU).

    TensorFlow has no public API for this. `tf.__internal__` is the
    namespace TensorFlow exports for Keras (not a private module), and
    `get_enclosing_xla_context` is there in TF 2.21 (the XLA control-flow
    context `tf.function(jit_compile=True)` traces in, or None);
    tests/layers/augmentation/xla_chunking_test.py fails if it goes or
    stops answering.

    Returns:
        bool.

    Example:

    >>> in_xla_context()
    False
    >>> bool(tf.function(lambda: tf.constant(in_xla_context()),
    ...                  jit_compile=True)())
    True
    """
    return tf.__internal__.get_enclosing_xla_context() is not None


def chunk_size(height, width):
    """Images per call for (height, width) outputs, a power of two.

    The largest power of two n with n * height * width * 3 <= CHUNK_VALUES
    (at least 1).

    Args:
        height, width: the output size, ints.

    Returns:
        int.

    Example:

    >>> chunk_size(224, 224), chunk_size(32, 32)
    (1, 32)
    """
    fit = max(1, CHUNK_VALUES // (int(height) * int(width) * 3))
    return 2 ** (fit.bit_length() - 1)


def pack_params(params):
    """Per-image parameters as one (batch, n) float32 matrix, and its unpacker.

    Bools and small ints (all these parameters are) are exact in float32.

    Args:
        params: a nest of (batch,) tensors.

    Returns:
        `(packed, unpack)`: the matrix, and the function mapping a matrix
        of rows of it back to the nest (with the original dtypes);
        `unpack.signature` identifies the nest's structure and dtypes.

    Example:

    >>> params = {"on": tf.constant([True, False]), "x": tf.constant([.5, 2.])}
    >>> packed, unpack = pack_params(params)
    >>> packed.shape
    TensorShape([2, 2])
    >>> unpack(packed)["on"].numpy().tolist()
    [True, False]
    """
    flat = tf.nest.flatten(params)
    dtypes = [t.dtype for t in flat]
    packed = tf.stack([tf.cast(t, tf.float32) for t in flat], axis=1)

    def unpack(matrix):
        columns = tf.unstack(matrix, num=len(flat), axis=1)
        return tf.nest.pack_sequence_as(
            params, [tf.cast(c, d) for c, d in zip(columns, dtypes)]
        )

    unpack.signature = (
        str(tf.nest.map_structure(lambda _: 0, params)),
        tuple(d.name for d in dtypes),
    )
    return packed, unpack


def skip_unless(needed, fn, x):
    """`fn(x)` if any of `needed` (bools, one per image) is True, else `x`.

    An op no image of the batch uses is skipped. Small batches gain most: a
    pipeline mapping the layer over single images (rank-3 inputs, e.g.
    decoded JPEGs of varying sizes) skips the blur of an unblurred image as
    the reference's per-image `tf.cond` does. A `cond` of the current
    backend (`lax.cond` under `jax.jit`).

    Args:
        needed: bool tensor of shape (batch,).
        fn: maps `x` to a tensor of the same shape and dtype.
        x: a tensor.

    Returns:
        `fn(x)` or `x`.

    Example:

    >>> import numpy as np
    >>> out = skip_unless(np.array([False]), lambda x: x + 1, np.zeros([1], "f"))
    >>> float(out[0])
    0.0
    """
    o = ops()
    return o.cond(o.any(needed), lambda: fn(x), lambda: x)


def static_size(images):
    """Whether the spatial size of a batch is static.

    XLA compiles once per shape: with sizes varying image to image (e.g.
    decoded JPEGs mapped one by one) it would recompile for every image, so
    the layers compile only transforms of static size.

    Args:
        images: a rank-4 tensor.

    Returns:
        bool.

    Example:

    >>> import numpy as np
    >>> static_size(np.zeros([2, 8, 8, 3]))
    True
    """
    return images.shape[1] is not None and images.shape[2] is not None
