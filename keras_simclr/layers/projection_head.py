"""SimCLR's projection head g: h -> z (v1: 2 layers, v2: 3 layers)."""

import keras

from keras_simclr import errors
from keras_simclr.layers.batch_norm import batch_norm


@keras.saving.register_keras_serializable(package="keras_simclr")
class ProjectionHead(keras.layers.Layer):
    """The MLP that maps a representation h to the projection z of the loss.

    `num_layers` Dense layers without bias (kernel ~ N(0, 0.01^2)), each
    followed by BatchNormalization; ReLU after all but the last, and the
    last BN has no offset, as in the reference code (google-research/simclr). SimCLRv1
    used 2 layers; v2 and the reference TF2 code use 3, and fine-tune from
    the output of one of its middle layers (`hidden_outputs`).

    Args:
        num_layers: number of Dense + BN layers (>= 1).
        hidden_dim: width of all but the last layer; None uses the width of
            h (512 for ResNet-18, 2048 x width for ResNet-50).
        output_dim: width of z (128 in the paper).
        synchronized: global batch statistics under `tf.distribute`.
        **kwargs: base `Layer` arguments (name, dtype, ...).

    Input shape:
        (batch, d)

    Output shape:
        (batch, output_dim)

    Example:

    >>> head = ProjectionHead(num_layers=3, output_dim=128)
    >>> z = head(keras.random.normal((4, 512)))
    >>> h, a1, a2, z = head.hidden_outputs(keras.random.normal((4, 512)))
    """

    def __init__(
        self,
        num_layers=3,
        hidden_dim=None,
        output_dim=128,
        synchronized=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        num_layers = errors.check_positive_int("num_layers", num_layers)
        output_dim = errors.check_positive_int("output_dim", output_dim)
        if hidden_dim is not None:
            hidden_dim = errors.check_positive_int("hidden_dim", hidden_dim)
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        self.synchronized = synchronized
        self.dense_layers = []
        self.bn_layers = []

    def layer_widths(self, input_dim):
        """Returns the widths of [h, a_1, ..., a_L] for an input of `input_dim`.

        Args:
            input_dim: width of h.

        Returns:
            A list of num_layers + 1 ints, aligned with `hidden_outputs`.
        """
        hidden_dim = self.hidden_dim or input_dim
        return [input_dim] + [hidden_dim] * (self.num_layers - 1) + [self.output_dim]

    def build(self, input_shape):
        widths = self.layer_widths(input_shape[-1])
        shape = input_shape
        for i in range(self.num_layers):
            last = i == self.num_layers - 1
            dense = keras.layers.Dense(
                widths[i + 1],
                use_bias=False,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                name=f"dense_{i}",
                dtype=self.dtype_policy,
            )
            bn = batch_norm(
                synchronized=self.synchronized,
                center=not last,
                name=f"bn_{i}",
                dtype=self.dtype_policy,
            )
            dense.build(shape)
            shape = dense.compute_output_shape(shape)
            bn.build(shape)
            self.dense_layers.append(dense)
            self.bn_layers.append(bn)

    def hidden_outputs(self, inputs, training=None):
        """Returns [h, a_1, ..., a_L]: the input and every layer's output.

        Element k is what SimCLRv2 fine-tunes from when it keeps the first k
        layers of the head (k = 0 is the encoder's output h); the last is z.

        Args:
            inputs: (batch, d) representations h.
            training: BN in training mode.

        Returns:
            A list of num_layers + 1 tensors.
        """
        if not self.built:
            self.build(tuple(inputs.shape))
        outputs = [inputs]
        x = inputs
        for i, (dense, bn) in enumerate(zip(self.dense_layers, self.bn_layers)):
            x = bn(dense(x), training=training)
            if i < self.num_layers - 1:
                x = keras.ops.relu(x)
            outputs.append(x)
        return outputs

    def call(self, inputs, training=None):
        return self.hidden_outputs(inputs, training=training)[-1]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_layers=self.num_layers,
            hidden_dim=self.hidden_dim,
            output_dim=self.output_dim,
            synchronized=self.synchronized,
        )
        return config
