"""Shared machinery of keras_simclr's augmentation layers.

The layers themselves live in `crop.py`, `color.py`, `blur.py` and
`augment.py`; this module holds what they share, in one place:

- input checking and conversion (`prepare_images`, `to_float`);
- randomness (`draw_key`, `uniform`, `bernoulli`): every random number is a
  stateless draw from a key. A layer's key comes from a Keras `SeedGenerator`
  (a counter advanced once per call, so every call gives fresh views and a
  given `seed` reproduces them) with the replica id folded in, so replicas of a
  `tf.distribute` strategy draw different parameters for identical images.
  Floats are built from integer draws because TensorFlow's CPU kernels and XLA
  turn the same Philox bits into different floats; integer bits agree, so one
  seed gives the same views in `tf.data`, eagerly and under XLA;
- `AugmentationLayer`, the base class: validation, `training` handling,
  `get_random_transformation` / `transform_images` (random draws separated
  from the transform, as in Keras's image preprocessing layers), and
  execution of the transform: compiled with XLA and, outside XLA, called a
  few images at a time (`run_compiled`: cache-resident, parallel, and able to
  skip the ops an image does not need).

Layout note: `SimCLRAugment` computes colour and blur on (batch, height, 3,
width) tensors, which the crop writes directly; every channel is then read
contiguously, about twice as fast as NHWC under XLA on CPU.
"""

import keras
import tensorflow as tf

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
_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


# ----------------------------------------------------------------- inputs --


def prepare_images(images, layer_name):
    """Checks an image or batch and returns it as a rank-4 tensor.

    Args:
        images: (height, width, 3) or (batch, height, width, 3); uint8 in
            [0, 255] or float in [0, 1].
        layer_name: used in error messages.

    Returns:
        `(batch, unbatched)`: the rank-4 tensor (dtype unchanged, uint8 or a
        float type) and whether a batch axis was added.

    Raises:
        ValueError: wrong rank, channel count or dtype.
    """
    if not tf.is_tensor(images):
        images = tf.convert_to_tensor(images)
    rank = images.shape.rank
    if rank not in (3, 4):
        raise ValueError(
            f"{layer_name}: expected one image of shape (height, width, 3) or "
            f"a batch of shape (batch, height, width, 3); got a tensor of "
            f"shape {images.shape}. Add or remove a batch axis (e.g. "
            f"tf.expand_dims(image, 0)) or reshape.")
    channels = images.shape[-1]
    if channels is not None and channels != 3:
        hint = ""
        if channels == 1:
            hint = (" For a 1-channel (grayscale) image repeat it to RGB "
                    "first: tf.image.grayscale_to_rgb(images).")
        elif channels == 4:
            hint = " For RGBA drop the alpha channel: images[..., :3]."
        raise ValueError(
            f"{layer_name}: expected 3 (RGB) channels in the last axis, got "
            f"{channels} (input shape {images.shape}).{hint}")
    dtype = images.dtype.name
    if dtype != "uint8" and dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"{layer_name}: unsupported dtype {dtype}. Pass uint8 pixels in "
            f"[0, 255] or floats in [0, 1]: e.g. tf.cast(images, 'uint8') for "
            f"integers in [0, 255], or tf.cast(images, 'float32') / 255.")
    if channels is None:
        images = tf.ensure_shape(images, [None] * (rank - 1) + [3])
    unbatched = rank == 3
    if unbatched:
        images = tf.expand_dims(images, 0)
    return images, unbatched


def to_float(images):
    """uint8 [0, 255] -> float32 [0, 1]; floats -> float32, clipped."""
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) * (1.0 / 255.0)
    return tf.clip_by_value(tf.cast(images, tf.float32), 0.0, 1.0)


# ------------------------------------------------------------- randomness --


def replica_id():
    """The id of the current replica in its sync group (0 outside one).

    Under MultiWorkerMirroredStrategy and TPUStrategy the id is global, so
    replicas on different workers differ too.
    """
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context, e.g. inside strategy.scope()
        return tf.constant(0, tf.int32)
    return tf.cast(context.replica_id_in_sync_group, tf.int32)


def draw_key(generator):
    """Advances `generator` and returns this call's key, int32 of shape (2,).

    The replica id is folded in, so every replica draws different parameters
    even when the generator's state is mirrored (a layer built under
    `strategy.scope()` keeps one copy of the counter per replica, all advancing
    in step).
    """
    state = generator.next()
    key = tf.cast(tf.math.floormod(state, 2**31 - 1), tf.int32)
    return fold_in(key, replica_id())


def fold_in(key, data):
    return tf.random.experimental.stateless_fold_in(
        key, tf.cast(data, tf.int32), alg=_ALG)


def uniform(key, tag, shape, minval=0.0, maxval=1.0):
    """Uniform float32 in [minval, maxval), identical in TF and under XLA."""
    bits = tf.random.stateless_uniform(
        shape, fold_in(key, tag), minval=None, maxval=None, dtype=tf.uint32,
        alg=_ALG)
    unit = tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) * (2.0**-24)
    return minval + (maxval - minval) * unit


def bernoulli(key, tag, shape, probability):
    """Boolean tensor, True with `probability` (exactly never for 0)."""
    return uniform(key, tag, shape) < probability


def normalize_key(seed):
    """A user-given key (int or int tensor of shape (2,)) as int32 (2,)."""
    if isinstance(seed, int):
        return tf.constant([seed % (2**31 - 1), 0], tf.int32)
    seed = tf.convert_to_tensor(seed)
    return tf.cast(tf.math.floormod(tf.cast(seed, tf.int64), 2**31 - 1),
                   tf.int32)


# -------------------------------------------------------------------- XLA --


def in_xla_context():
    """True while tracing for XLA (tf.function(jit_compile=True), TPU)."""
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - private TF module moved
        return False
    graph = tf.compat.v1.get_default_graph()
    return bool(control_flow_util.GraphOrParentsInXlaContext(graph))


# ------------------------------------------------------------- chunking --

# Images per compiled call: at most this many float32 values per image
# tensor (512 KiB) keeps a call's intermediates in a core's cache.
CHUNK_VALUES = 2**17


def chunk_size(height, width):
    """Images per call for (height, width) outputs, a power of two: 1 at
    224 px, 32 at 32 px."""
    fit = max(1, CHUNK_VALUES // (int(height) * int(width) * 3))
    return 2 ** (fit.bit_length() - 1)


def _pack(params):
    """Per-image parameters (a nest of (batch,) tensors) as one (batch, n)
    float32 matrix, and the function that unpacks it. Bools and small ints
    (all these parameters are) are exact in float32."""
    flat = tf.nest.flatten(params)
    dtypes = [t.dtype for t in flat]
    packed = tf.stack([tf.cast(t, tf.float32) for t in flat], axis=1)

    def unpack(matrix):
        columns = tf.unstack(matrix, num=len(flat), axis=1)
        return tf.nest.pack_sequence_as(
            params, [tf.cast(c, d) for c, d in zip(columns, dtypes)])

    unpack.signature = (str(tf.nest.map_structure(lambda _: 0, params)),
                        tuple(d.name for d in dtypes))
    return packed, unpack


# ------------------------------------------------------------- skipping --


def skip_unless(needed, fn, x):
    """`fn(x)` if any of `needed` (bools, one per image) is True, else `x`.

    An op no image of the batch uses is skipped. Small batches gain most: a
    pipeline mapping the layer over single images (rank-3 inputs, e.g.
    decoded JPEGs of varying sizes) skips the blur of an unblurred image as
    the reference's per-image `tf.cond` does.
    """
    return tf.cond(tf.reduce_any(needed), lambda: fn(x), lambda: x)


# ------------------------------------------------------------- base layer --


class AugmentationLayer(keras.layers.Layer):
    """Base class: input checks, seeds, `training`, XLA compilation.

    Subclasses implement `_sample(key, batch_size, height, width)` (a dict of
    per-image parameters), `_apply(images, transformation)` (rank-4 in,
    float32 rank-4 out) and optionally `_inference(images)` and
    `compute_output_shape`.

    Attributes:
        jit_compile: bool, True by default: run the transform through
            `tf.function(jit_compile=True)` when not already under XLA. The
            results are the same either way (to float round-off); set it to
            False on a layer (or on the class) to use plain TensorFlow ops.
    """

    jit_compile = True

    def __init__(self, seed=None, **kwargs):
        # Images stay float32 whatever the global mixed-precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if seed is not None and not isinstance(seed, int):
            raise ValueError(f"seed must be an int or None, got {seed!r}.")
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        # Keep uint8 inputs as they are (Keras would cast them to floats
        # without rescaling) and accept NumPy arrays.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_masking = False

    # -- public API, mirroring keras.layers' image preprocessing layers --

    def get_random_transformation(self, images, training=True, seed=None):
        """Draws the per-image random parameters for `images`.

        Args:
            images: the batch (or image) the parameters are for; only its
                shape is used.
            training: if False, returns None (no randomness at inference).
            seed: None to advance the layer's own generator (the replica id
                is folded in), or an explicit key: an int or an int tensor of
                shape (2,), used as is.

        Returns:
            A dict of tensors with one entry per image, or None.
        """
        if not training:
            return None
        images, _ = prepare_images(images, self.name)
        key = draw_key(self.generator) if seed is None else normalize_key(seed)
        shape = tf.shape(images)
        return self._sample(key, shape[0], shape[1], shape[2])

    def transform_images(self, images, transformation, training=True):
        """Applies `transformation` (from `get_random_transformation`).

        Returns:
            float32 in [0, 1]; rank as the input.
        """
        images, unbatched = prepare_images(images, self.name)
        if not training or transformation is None:
            outputs = self._inference(images)
        else:
            outputs = self._apply(images, transformation)
        return outputs[0] if unbatched else outputs

    def call(self, images, training=True):
        images, unbatched = prepare_images(images, self.name)
        if training:
            shape = tf.shape(images)
            key = draw_key(self.generator)
            outputs = self._apply(
                images, self._sample(key, shape[0], shape[1], shape[2]))
        else:
            outputs = self._inference(images)
        return outputs[0] if unbatched else outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def run_compiled(self, fn, images, params, out_shape):
        """`fn(images, params)`, XLA-compiled, a few images per call.

        Outside XLA, a batch goes through the compiled function in chunks of
        `chunk_size` images (one at 224 px, 32 at 32 px): each call's
        intermediates stay in cache, where a whole batch of large images
        would stream through memory at every step (memory bandwidth, not
        arithmetic, limits these ops on a CPU); the calls run in parallel
        on TensorFlow's inter-op threads; and with one image per call the
        ops that image does not need (its blur, its unused jitter slots) are
        skipped (`skip_unless`). In this package's benchmark that is 2-3x
        faster than one call for a batch of 64 images of 224 px. The
        per-image parameters travel packed in one float32 matrix, so a chunk
        costs two slices and one call. Under XLA (a compiled train step) it
        is one call: XLA gains nothing from splitting inside one
        computation.

        Args:
            fn: maps (images, params) to float32 images of shape
                (batch,) + out_shape; `params` is a nest of (batch,) tensors.
            out_shape: (height, width, channels) of an output image, ints;
                None or with None entries when not static (then one call).
        """
        compiled = self.compiled(fn)
        if compiled is fn or out_shape is None or None in out_shape:
            return compiled(images, params)
        chunk = chunk_size(out_shape[0], out_shape[1])
        packed, unpack = _pack(params)
        run = self.compiled(fn, unpack)
        static_batch = images.shape[0]
        if static_batch is not None and static_batch <= chunk:
            return run(images, packed)
        batch = tf.shape(images)[0]

        def chunked():
            # A loop of fixed-size chunks (one compiled shape; a few calls
            # in flight at a time); the last chunk overlaps the one before it
            # and the overlap is kept once.
            count = (batch + chunk - 1) // chunk

            def one(i):
                start = tf.minimum(i * chunk, batch - chunk)
                return run(
                    tf.slice(images, [start, 0, 0, 0], [chunk, -1, -1, -1]),
                    tf.slice(packed, [start, 0], [chunk, -1]))

            out = tf.map_fn(one, tf.range(count), parallel_iterations=8,
                            fn_output_signature=tf.TensorSpec(
                                (chunk,) + tuple(out_shape), tf.float32))
            out = tf.reshape(out, [-1] + list(out_shape))
            head = (count - 1) * chunk
            return tf.concat([out[:head], out[head + count * chunk - batch:]],
                             axis=0)

        if static_batch is not None:
            return chunked()
        return tf.cond(batch <= chunk, lambda: run(images, packed), chunked)

    def compiled(self, fn, unpack=None):
        """`fn` compiled with XLA (cached on the layer), or `fn` itself.

        The image transforms are long chains of per-pixel arithmetic with a
        per-image choice at every step; XLA fuses them into a few loops where
        plain TensorFlow runs each op over the whole batch (several times
        slower on CPU). Nothing is compiled when `self.jit_compile` is False
        or when already tracing for XLA (the outer compilation covers it).
        `fn` takes tensors, or nests of them, only. With `unpack` (from
        `_pack`), the compiled function takes the packed parameters.
        """
        if not self.jit_compile or in_xla_context():
            return fn
        cache = self.__dict__.get("_xla_functions")
        if cache is None:
            cache = {}
            # Plain attribute: not tracked by Keras, not saved.
            object.__setattr__(self, "_xla_functions", cache)
        key = (fn.__name__, None if unpack is None else unpack.signature)
        if key not in cache:
            target = fn if unpack is None else (
                lambda images, packed: fn(images, unpack(packed)))
            cache[key] = tf.function(target, jit_compile=True,
                                     reduce_retracing=True, autograph=False)
        return cache[key]

    # -- to implement --

    def _sample(self, key, batch_size, height, width):
        raise NotImplementedError

    def _apply(self, images, transformation):
        raise NotImplementedError

    def _inference(self, images):
        return to_float(images)

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config
