"""The random draws of the augmentation layers on JAX (`random_draws`' keys).

A key is a raw JAX PRNG key, uint32 of shape (2,): what a Keras
`SeedGenerator`'s state is on JAX, so a layer's key is its generator's state
(`draw_key`). Under Keras's JAX trainer that state is a non-trainable
variable carried through the jitted step (a `StatelessScope`): no
Python-side RNG, no host callback. No replica id is folded in: under
`keras.distribution.DataParallel` the step sees the global batch, so each
image (hence each device's shard) already draws its own parameters.
"""

import jax
import jax.numpy as jnp


def draw_key(generator):
    """Advances `generator` and returns this call's key, uint32 (2,).

    Example:

    >>> import keras
    >>> generator = keras.random.SeedGenerator(1)
    >>> bool((draw_key(generator) == draw_key(generator)).all())
    False
    """
    return jnp.asarray(generator.next(), jnp.uint32)


def fold_in(key, data):
    """The sub-key of `key` for `data` (an int or int scalar), uint32 (2,).

    Example:

    >>> key = normalize_key(1)
    >>> bool((fold_in(key, 5) == fold_in(key, 5)).all())
    True
    """
    return jax.random.fold_in(key, jnp.asarray(data, jnp.uint32))


def bits(key, shape):
    """uint32 random bits of `shape` (static ints) from `key`.

    Example:

    >>> bits(normalize_key(0), (3,)).dtype
    dtype('uint32')
    """
    return jax.random.bits(key, tuple(int(n) for n in shape), jnp.uint32)


def normalize_key(seed):
    """A user-given key (int or int array of shape (2,)) as uint32 (2,).

    Each entry is taken modulo 2**31 - 1, as on TensorFlow.

    Example:

    >>> normalize_key(7).tolist()
    [7, 0]
    """
    if isinstance(seed, int):
        seed = [seed % (2**31 - 1), 0]
    seed = jnp.asarray(seed)
    if jnp.issubdtype(seed.dtype, jnp.signedinteger):
        seed = jnp.mod(seed, 2**31 - 1)
    else:
        seed = jnp.mod(seed.astype(jnp.uint32), jnp.uint32(2**31 - 1))
    return seed.astype(jnp.uint32)
