"""The base class of keras_simclr's augmentation layers.

`AugmentationLayer` does what every augmentation layer shares: input checks
and the uint8 -> float conversion (`image_inputs`), one random key per call
(`random_draws`), `training` handling, the split of random draws
(`get_random_transformation`) from the transform (`transform_images`), as
in Keras's image preprocessing layers, and the execution of the transform.

Draws and transforms run on TensorFlow and on JAX (`backend_ops`,
`random_draws`). On TensorFlow (and in tf.data on any backend) the transform
is compiled with XLA and, outside XLA, called a few images at a time
(`run_compiled`, with `xla_chunking`'s helpers); on JAX it runs as is: the
train step around it is already jitted.
"""

import keras
import tensorflow as tf

from keras_simclr import errors
from keras_simclr.layers.augmentation import image_inputs, random_draws
from keras_simclr.layers.augmentation.backend_ops import in_tensorflow, ops
from keras_simclr.layers.augmentation.xla_chunking import (
    chunk_size,
    in_xla_context,
    pack_params,
)


class AugmentationLayer(keras.layers.Layer):
    """Base class: input checks, seeds, `training`, XLA compilation.

    Subclasses implement `_sample(key, batch_size, height, width)` (a dict of
    per-image parameters), `_apply(images, transformation)` (rank-4 in,
    float32 rank-4 out) and optionally `_inference(images)` and
    `compute_output_shape`.

    Attributes:
        jit_compile: bool, True by default: on TensorFlow, run the transform
            through `tf.function(jit_compile=True)` when not already under
            XLA. The results are the same either way (to float round-off);
            set it to False on a layer (or on the class) to use plain
            TensorFlow ops. No effect on JAX (`jax.jit` compiles the step).

    Args:
        seed: int or None.
        **kwargs: base layer arguments such as `name`.

    Example:

    >>> import numpy as np

    >>> class Invert(AugmentationLayer):
    ...     def _sample(self, key, batch_size, height, width):
    ...         return {}
    ...     def _apply(self, images, transformation):
    ...         return 1.0 - image_inputs.to_float32(images, clip=True)
    >>> out = Invert()(np.full((1, 1, 1, 3), 255, "uint8"))
    >>> keras.ops.convert_to_numpy(out).ravel()
    array([0., 0., 0.], dtype=float32)
    """

    jit_compile = True

    def __init__(self, seed=None, **kwargs):
        # Images stay float32 whatever the global mixed-precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if seed is not None and not isinstance(seed, int):
            raise errors.UserInputError(f"seed must be an int or None, got {seed!r}.")
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self.supports_masking = False

    def __call__(self, *args, **kwargs):
        if keras.backend.backend() == "tensorflow" or not in_tensorflow():
            return super().__call__(*args, **kwargs)
        # A tf.data map on another backend: Keras would convert TensorFlow's
        # symbolic tensors to that backend's arrays (as its own
        # preprocessing layers, which skip that conversion in tf.data).
        saved = self._convert_input_args, self._allow_non_tensor_positional_args
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._convert_input_args, self._allow_non_tensor_positional_args = saved

    # -- public API, mirroring keras.layers' image preprocessing layers --

    def get_random_transformation(self, images, training=True, seed=None):
        """Draws the per-image random parameters for `images`.

        Args:
            images: the batch (or image) the parameters are for; only its
                shape is used.
            training: if False, returns None (no randomness at inference).
            seed: None to advance the layer's own generator (on TensorFlow
                the replica id is folded in), or an explicit key: an int or
                an int tensor of shape (2,), used as is.

        Returns:
            A dict of tensors with one entry per image, or None.

        Example:

        >>> from keras_simclr.layers import Solarize
        >>> import numpy as np
        >>> layer = Solarize(probability=1.0)
        >>> params = layer.get_random_transformation(np.zeros([2, 4, 4, 3]))
        >>> keras.ops.convert_to_numpy(params["solarize"]).tolist()
        [True, True]
        """
        if not training:
            return None
        images, _ = self.image_batch(images)
        key = (
            random_draws.draw_key(self.seed_generator())
            if seed is None
            else random_draws.normalize_key(seed)
        )
        return self._sample(key, *ops().shape(images)[:3])

    def transform_images(self, images, transformation, training=True):
        """Applies `transformation` (from `get_random_transformation`).

        Args:
            images: one image or a batch, uint8 or float.
            transformation: the parameters drawn for these images.
            training: if False, the inference view (no randomness).

        Returns:
            float32 in [0, 1]; rank as the input.

        Example:

        >>> from keras_simclr.layers import Solarize
        >>> import numpy as np
        >>> layer = Solarize(probability=1.0)
        >>> x = np.full([1, 2, 2, 3], 0.75, "float32")
        >>> params = layer.get_random_transformation(x)
        >>> float(layer.transform_images(x, params)[0, 0, 0, 0])
        0.25
        """
        images, unbatched = self.image_batch(images)
        if not training or transformation is None:
            outputs = self._inference(images)
        else:
            outputs = self._apply(images, transformation)
        return outputs[0] if unbatched else outputs

    def call(self, images, training=True):
        images, unbatched = self.image_batch(images)
        if training:
            key = random_draws.draw_key(self.seed_generator())
            outputs = self._apply(images, self._sample(key, *ops().shape(images)[:3]))
        else:
            outputs = self._inference(images)
        return outputs[0] if unbatched else outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def seed_generator(self):
        """The generator of this call's key: the layer's `generator`, or,
        inside a tf.data map on another backend than TensorFlow, a
        TensorFlow twin of it (same seed; created on first use, not tracked).

        The layer's own generator lives on the Keras backend: read in a
        TensorFlow graph, a JAX state would be a constant, the same key at
        every batch (Keras's preprocessing layers do the same).
        """
        if keras.backend.backend() == "tensorflow" or not in_tensorflow():
            return self.generator
        twin = self.__dict__.get("_tensorflow_generator")
        if twin is None:
            from keras.src.backend import tensorflow as tensorflow_backend

            with tf.init_scope():
                twin = keras.random.SeedGenerator(self.seed, backend=tensorflow_backend)
            object.__setattr__(self, "_tensorflow_generator", twin)
        return twin

    def image_batch(self, images):
        """`image_inputs.as_image_batch`, naming this layer in errors."""
        return image_inputs.as_image_batch(images, f"the images of {self.name}")

    def run_compiled(self, fn, images, params, out_shape):
        """`fn(images, params)`, XLA-compiled, a few images per call.

        Outside XLA, a batch goes through the compiled function in chunks of
        `chunk_size` images (one at 224 px, 32 at 32 px): each call's
        intermediates stay in cache, where a whole batch of large images
        would stream through memory at every step (memory bandwidth, not
        arithmetic, limits these ops on a CPU); the calls run in parallel
        on TensorFlow's inter-op threads; and with one image per call the
        ops that image does not need (its blur, its unused jitter slots) are
        skipped (`skip_unless`). The
        per-image parameters travel packed in one float32 matrix, so a chunk
        costs two slices and one call. Under XLA (a compiled train step) it
        is one call: XLA gains nothing from splitting inside one
        computation. On JAX (outside tf.data) it is one call.

        Args:
            fn: maps (images, params) to float32 images of shape
                (batch,) + out_shape; `params` is a nest of (batch,) tensors.
            images: rank-4 tensor.
            params: the per-image parameters `fn` takes.
            out_shape: (height, width, channels) of an output image, ints;
                None or with None entries when not static (then one call).

        Returns:
            `fn(images, params)`.
        """
        compiled = self.compiled(fn)
        if compiled is fn or out_shape is None or None in out_shape:
            return compiled(images, params)
        chunk = chunk_size(out_shape[0], out_shape[1])
        packed, unpack = pack_params(params)
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
                    tf.slice(packed, [start, 0], [chunk, -1]),
                )

            out = tf.map_fn(
                one,
                tf.range(count),
                parallel_iterations=8,
                fn_output_signature=tf.TensorSpec(
                    (chunk,) + tuple(out_shape), tf.float32
                ),
            )
            out = tf.reshape(out, [-1] + list(out_shape))
            head = (count - 1) * chunk
            return tf.concat([out[:head], out[head + count * chunk - batch :]], axis=0)

        if static_batch is not None:
            return chunked()
        return tf.cond(batch <= chunk, lambda: run(images, packed), chunked)

    def compiled(self, fn, unpack=None):
        """`fn` compiled with XLA (cached on the layer), or `fn` itself.

        The image transforms are long chains of per-pixel arithmetic with a
        per-image choice at every step; XLA fuses them into a few loops where
        plain TensorFlow runs each op over the whole batch. Nothing is
        compiled when `self.jit_compile` is False or when already tracing for
        XLA (the outer compilation covers it), nor on JAX outside tf.data.
        `fn` takes tensors, or nests of them, only. With `unpack` (from
        `pack_params`), the compiled function takes the packed parameters.
        """
        if not self.jit_compile or not in_tensorflow() or in_xla_context():
            return fn
        cache = self.__dict__.get("_xla_functions")
        if cache is None:
            cache = {}
            # Plain attribute: not tracked by Keras, not saved.
            object.__setattr__(self, "_xla_functions", cache)
        key = (fn.__name__, None if unpack is None else unpack.signature)
        if key not in cache:
            target = (
                fn
                if unpack is None
                else (lambda images, packed: fn(images, unpack(packed)))
            )
            cache[key] = tf.function(
                target, jit_compile=True, reduce_retracing=True, autograph=False
            )
        return cache[key]

    # -- to implement --

    def _sample(self, key, batch_size, height, width):
        raise NotImplementedError

    def _apply(self, images, transformation):
        raise NotImplementedError

    def _inference(self, images):
        return image_inputs.to_float32(images, clip=True)

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config
