"""Random draws of the augmentation layers: keys, tags, uniform, Bernoulli.

Every random number is a stateless draw from a key. A layer's key comes from
a Keras `SeedGenerator` (a counter advanced once per call, so every call
gives fresh views and a given `seed` reproduces them). On TensorFlow the key
is int32 (2,), Philox draws, with the replica id folded in, so replicas of a
`tf.distribute` strategy draw different parameters for identical images.
Floats are built from integer draws because TensorFlow's CPU kernels and XLA
turn the same Philox bits into different floats; integer bits agree, so one
seed gives the same views in `tf.data`, eagerly and under XLA.

On JAX (`random_draws_jax`) the key is the generator's state itself, a raw
JAX key (uint32 (2,)), carried through a jitted step with the layer's
variables; `keras.distribution.DataParallel` runs the step on the global
batch, so every image, on every device, draws its own parameters. Inside a
`tf.data` map the draws are TensorFlow's on every backend
(`backend_ops.in_tensorflow`). The functions below take and return the
current backend's tensors.
"""

import math
import numbers

import numpy as np
import tensorflow as tf

from keras_simclr import errors
from keras_simclr.layers.augmentation.backend_ops import in_tensorflow

# One tag per kind of draw; a sub-key is `fold_in(key, tag)`. Fixed numbers,
# so adding a draw never changes the others.
TAG_CROP_AREA = 1
TAG_CROP_RATIO = 2
TAG_CROP_Y = 3
TAG_CROP_X = 4
TAG_FLIP = 5
TAG_JITTER = 10
TAG_BRIGHTNESS = 11
TAG_CONTRAST = 12
TAG_SATURATION = 13
TAG_HUE = 14
TAG_ORDER = 15
TAG_GRAY = 16
TAG_BLUR = 20
TAG_SIGMA = 21
TAG_SOLARIZE = 30
# SimCLRAugment gives each stage its own key: fold_in(key, stage).
STAGE_CROP, STAGE_COLOR, STAGE_BLUR, STAGE_SOLARIZE = 101, 102, 103, 104

_ALG = "philox"


def replica_id():
    """The id of the current replica in its sync group (0 outside one).

    Under MultiWorkerMirroredStrategy and TPUStrategy the id is global, so
    replicas on different workers differ too.

    Returns:
        int32 scalar tensor.

    Example:

    >>> int(replica_id())
    0
    """
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context, e.g. inside strategy.scope()
        return tf.constant(0, tf.int32)
    return tf.cast(context.replica_id_in_sync_group, tf.int32)


def draw_key(generator):
    """Advances `generator` and returns this call's key, of shape (2,).

    On TensorFlow an int32 key with the replica id folded in, so every
    replica draws different parameters even when the generator's state is
    mirrored (a layer built under `strategy.scope()` keeps one copy of the
    counter per replica, all advancing in step). On JAX the generator's
    state, a uint32 JAX key.

    Args:
        generator: a `keras.random.SeedGenerator`.

    Returns:
        tensor of shape (2,): int32 on TensorFlow, uint32 on JAX.

    Example:

    >>> import keras
    >>> generator = keras.random.SeedGenerator(1)
    >>> bool(tf.reduce_all(draw_key(generator) == draw_key(generator)))
    False
    """
    if not in_tensorflow():
        return _jax().draw_key(generator)
    state = generator.next()
    key = tf.cast(tf.math.floormod(state, 2**31 - 1), tf.int32)
    return fold_in(key, replica_id())


def fold_in(key, data):
    """The sub-key of `key` for `data` (an int), a key of shape (2,).

    Args:
        key: a key of shape (2,) (int32 on TensorFlow, uint32 on JAX).
        data: int or int scalar tensor, e.g. a tag.

    Returns:
        a key of `key`'s kind, a deterministic function of both.

    Example:

    >>> key = normalize_key(1)
    >>> bool(tf.reduce_all(fold_in(key, 5) == fold_in(key, 5)))
    True
    """
    if not in_tensorflow():
        return _jax().fold_in(key, data)
    return tf.random.experimental.stateless_fold_in(
        key, tf.cast(data, tf.int32), alg=_ALG
    )


def uniform(key, tag, shape, minval=0.0, maxval=1.0):
    """Uniform float32 in [minval, maxval), identical in TF and under XLA.

    The top 24 bits of a uint32 draw, times 2**-24: a float32 with every
    value a multiple of 2**-24, so the numbers do not depend on the kernel.

    Args:
        key: a key of shape (2,) (`draw_key`, `normalize_key`).
        tag: the kind of draw (one of the `TAG_*` numbers).
        shape: the output shape (static ints on JAX).
        minval, maxval: the range.

    Returns:
        float32 tensor of `shape`.

    Example:

    >>> u = uniform(normalize_key(0), TAG_SIGMA, [1000], 0.1, 2.0)
    >>> bool(tf.reduce_min(u) >= 0.1 and tf.reduce_max(u) < 2.0)
    True
    """
    if not in_tensorflow():
        bits = _jax().bits(fold_in(key, tag), shape)
        unit = (bits >> 8).astype("float32") * (2.0**-24)
        return minval + (maxval - minval) * unit
    bits = tf.random.stateless_uniform(
        shape, fold_in(key, tag), minval=None, maxval=None, dtype=tf.uint32, alg=_ALG
    )
    unit = tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) * (2.0**-24)
    return minval + (maxval - minval) * unit


def bernoulli(key, tag, shape, probability):
    """Boolean tensor, True with `probability` (exactly never for 0).

    Args:
        key, tag, shape: as `uniform`.
        probability: in [0, 1].

    Returns:
        bool tensor of `shape`.

    Example:

    >>> bool(tf.reduce_any(bernoulli(normalize_key(0), TAG_FLIP, [100], 0.0)))
    False
    """
    return uniform(key, tag, shape) < probability


def normalize_key(seed):
    """A user-given key (int or int tensor of shape (2,)) as a key (2,).

    Args:
        seed: a Python int, or an integer tensor of shape (2,).

    Returns:
        tensor of shape (2,), each entry in [0, 2**31 - 1): int32 on
        TensorFlow, uint32 (a JAX key) on JAX.

    Example:

    >>> normalize_key(7).numpy().tolist()
    [7, 0]
    """
    if not in_tensorflow():
        return _jax().normalize_key(seed)
    if isinstance(seed, int):
        return tf.constant([seed % (2**31 - 1), 0], tf.int32)
    seed = tf.convert_to_tensor(seed)
    return tf.cast(tf.math.floormod(tf.cast(seed, tf.int64), 2**31 - 1), tf.int32)


def _jax():
    """`random_draws_jax`, imported on first use (JAX is an extra)."""
    from keras_simclr.layers.augmentation import random_draws_jax

    return random_draws_jax


def is_real(value):
    """Whether `value` is a real number: not a bool, not a string.

    Args:
        value: what the user passed.

    Returns:
        bool (True for Python and NumPy ints and floats, NaN included).

    Example:

    >>> is_real(0.5), is_real(np.float32(2)), is_real(True), is_real("1")
    (True, True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_probability(value):
    """Whether `value` is a probability: a real number in [0, 1].

    Args:
        value: what the user passed.

    Returns:
        bool.

    Example:

    >>> is_probability(0.5), is_probability(1.5), is_probability("0.5")
    (True, False, False)
    """
    return is_real(value) and 0.0 <= float(value) <= 1.0


def check_probability(name, value):
    """Returns a probability as a float; refuses one outside [0, 1].

    Args:
        name: the argument's name, for the message.
        value: the probability given.

    Returns:
        `float(value)`.

    Raises:
        UserInputError: `value` is not a number in [0, 1].

    Example:

    >>> check_probability("probability", 0.5)
    0.5
    >>> check_probability("blur_prob", 2)
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: blur_prob must be in [0, 1], got 2.
    """
    if not is_probability(value):
        raise errors.UserInputError(f"{name} must be in [0, 1], got {value!r}.")
    return float(value)


def is_range(value, high=math.inf):
    """Whether `value` is a (low, high) pair with 0 < low <= high <= `high`.

    Both ends must be finite real numbers: the range of a uniform draw, such
    as a crop's area fraction or aspect ratio.

    Args:
        value: what the user passed (a tuple or list of two numbers).
        high: the largest upper end allowed.

    Returns:
        bool.

    Example:

    >>> is_range((0.08, 1.0), high=1.0), is_range((0.5, 0.2)), is_range(0.5)
    (True, False, False)
    """
    if isinstance(value, (str, bytes)):
        return False
    try:
        pair = tuple(value)
    except TypeError:
        return False
    return (
        len(pair) == 2
        and all(is_real(v) and math.isfinite(v) for v in pair)
        and 0.0 < pair[0] <= pair[1] <= high
    )


def check_range(name, value, high=math.inf):
    """Returns a (low, high) range as two floats; refuses anything else.

    Args:
        name: the argument's name, for the message.
        value: the range given (see `is_range`).
        high: the largest upper end allowed.

    Returns:
        `(float(low), float(high))`.

    Raises:
        UserInputError: `value` is not a pair of finite numbers with
            0 < low <= high <= `high`.

    Example:

    >>> check_range("crop_scale", [0.2, 1], high=1.0)
    (0.2, 1.0)
    >>> try:
    ...     check_range("crop_scale", (0.0, 1.0), high=1.0)
    ... except errors.UserInputError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    crop_scale must be a (low, high) pair of finite numbers with
    0 < low <= high <= 1, got (0.0, 1.0).
    """
    if not is_range(value, high):
        bound = "" if high == math.inf else f" <= {high:g}"
        raise errors.UserInputError(
            f"{name} must be a (low, high) pair of finite numbers with "
            f"0 < low <= high{bound}, got {value!r}."
        )
    return tuple(float(v) for v in value)
