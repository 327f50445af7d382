"""The mixing half of SimCLRv2's selective-kernel (SK) convolution."""

import keras

from keras_simclr import errors
from keras_simclr.layers.batch_norm import batch_norm


@keras.saving.register_keras_serializable(package="keras_simclr")
class SelectiveKernelMix(keras.layers.Layer):
    """Mixes two convolution streams with learned, per-channel softmax weights.

    SimCLRv2's selective kernel (reference `SK_Conv2D`) is one 3x3
    convolution of 2 x filters, BN + ReLU, then this layer: the input's
    channels are two streams a (first half) and b (second half); their sum
    is averaged over space, goes through a 1x1 convolution of width
    `max(int(filters * sk_ratio), min_width)` + BN + ReLU and a 1x1
    convolution to 2 x filters, whose halves are softmaxed against each
    other per channel and weigh a and b. Both streams are undilated 3x3, as
    in the reference (the SK paper's second stream is dilated).

    Args:
        sk_ratio: width of the squeeze convolution relative to `filters`.
        min_width: smallest width of the squeeze convolution (32).
        synchronized: global batch statistics under `tf.distribute`.
        **kwargs: base `Layer` arguments (name, dtype, ...).

    Input shape:
        (batch, height, width, 2 * filters): the two streams, concatenated.

    Output shape:
        (batch, height, width, filters)

    Example:

    >>> mix = SelectiveKernelMix(sk_ratio=0.0625)
    >>> mix(keras.random.normal((2, 8, 8, 128))).shape
    TensorShape([2, 8, 8, 64])
    """

    def __init__(self, sk_ratio=0.0625, min_width=32, synchronized=True, **kwargs):
        super().__init__(**kwargs)
        if not sk_ratio > 0:
            raise errors.UserInputError(f"sk_ratio must be > 0, got {sk_ratio}.")
        self.sk_ratio = sk_ratio
        self.min_width = min_width
        self.synchronized = synchronized

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels % 2:
            raise errors.UserInputError(
                f"SelectiveKernelMix needs an even, known number of channels "
                f"(two streams), got input shape {input_shape}."
            )
        filters = channels // 2
        initializer = keras.initializers.VarianceScaling()
        self.squeeze = keras.layers.Conv2D(
            max(int(filters * self.sk_ratio), self.min_width),
            1,
            use_bias=False,
            kernel_initializer=initializer,
            name="squeeze",
            dtype=self.dtype_policy,
        )
        self.squeeze_bn = batch_norm(
            self.synchronized, name="squeeze_bn", dtype=self.dtype_policy
        )
        self.expand = keras.layers.Conv2D(
            channels,
            1,
            use_bias=False,
            kernel_initializer=initializer,
            name="expand",
            dtype=self.dtype_policy,
        )
        pooled = (input_shape[0], 1, 1, filters)
        self.squeeze.build(pooled)
        squeezed = self.squeeze.compute_output_shape(pooled)
        self.squeeze_bn.build(squeezed)
        self.expand.build(squeezed)

    def call(self, inputs, training=None):
        a, b = keras.ops.split(inputs, 2, axis=-1)
        pooled = keras.ops.mean(a + b, axis=(1, 2), keepdims=True)
        squeezed = keras.ops.relu(
            self.squeeze_bn(self.squeeze(pooled), training=training)
        )
        logits = keras.ops.stack(
            keras.ops.split(self.expand(squeezed), 2, axis=-1), axis=0
        )
        weights = keras.ops.softmax(logits, axis=0)
        return a * weights[0] + b * weights[1]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] // 2,)

    def get_config(self):
        config = super().get_config()
        config.update(
            sk_ratio=self.sk_ratio,
            min_width=self.min_width,
            synchronized=self.synchronized,
        )
        return config
