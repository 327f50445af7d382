"""ResNet encoders f: image -> representation h, as in SimCLR's reference."""

import keras

from keras_simclr import errors
from keras_simclr.layers.batch_norm import batch_norm
from keras_simclr.layers.selective_kernel import SelectiveKernelMix

# (block kind, blocks per group) for each supported depth.
_RESNET_LAYOUTS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}
RESNET_DEPTHS = tuple(sorted(_RESNET_LAYOUTS))


class _ResNetBuilder:
    """Adds ResNet layers to a functional graph with one set of settings."""

    def __init__(self, synchronized, sk_ratio):
        self.synchronized = synchronized
        self.sk_ratio = sk_ratio
        # The reference's tf.keras.initializers.VarianceScaling(): scale 1,
        # fan_in, truncated normal.
        self.initializer = keras.initializers.VarianceScaling()

    def conv(self, x, filters, kernel_size, strides, name):
        # The reference's conv2d_fixed_padding: strided convolutions pad
        # explicitly so the output does not depend on the input's parity.
        if strides > 1:
            pad_total = kernel_size - 1
            pad = (pad_total // 2, pad_total - pad_total // 2)
            x = keras.layers.ZeroPadding2D((pad, pad), name=f"{name}_pad")(x)
        return keras.layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="valid" if strides > 1 else "same",
            use_bias=False,
            kernel_initializer=self.initializer,
            name=name,
        )(x)

    def bn(self, x, relu, name, zero_gamma=False):
        x = batch_norm(self.synchronized, zero_gamma=zero_gamma, name=name)(x)
        return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x

    def shortcut(self, x, filters, strides, name):
        if self.sk_ratio > 0:
            # ResNet-D: average-pool, then a stride-1 1x1 convolution.
            if strides > 1:
                x = keras.layers.ZeroPadding2D(
                    ((0, 1), (0, 1)), name=f"{name}_proj_pad"
                )(x)
            x = keras.layers.AveragePooling2D(
                2,
                strides,
                padding="same" if strides == 1 else "valid",
                name=f"{name}_proj_pool",
            )(x)
            strides = 1
        x = self.conv(x, filters, 1, strides, f"{name}_proj")
        return self.bn(x, relu=False, name=f"{name}_proj_bn")

    def stem(self, x, filters, cifar_stem):
        if cifar_stem:
            x = self.conv(x, filters, 3, 1, "stem_conv")
            return self.bn(x, relu=True, name="stem_bn")
        if self.sk_ratio > 0:
            # ResNet-D's deep stem: three 3x3 convolutions for the 7x7.
            x = self.conv(x, filters // 2, 3, 2, "stem_conv1")
            x = self.bn(x, relu=True, name="stem_bn1")
            x = self.conv(x, filters // 2, 3, 1, "stem_conv2")
            x = self.bn(x, relu=True, name="stem_bn2")
            x = self.conv(x, filters, 3, 1, "stem_conv")
        else:
            x = self.conv(x, filters, 7, 2, "stem_conv")
        x = self.bn(x, relu=True, name="stem_bn")
        return keras.layers.MaxPooling2D(3, 2, padding="same", name="stem_pool")(x)

    def basic_block(self, x, filters, strides, project, name):
        shortcut = self.shortcut(x, filters, strides, name) if project else x
        x = self.conv(x, filters, 3, strides, f"{name}_conv1")
        x = self.bn(x, relu=True, name=f"{name}_bn1")
        x = self.conv(x, filters, 3, 1, f"{name}_conv2")
        x = self.bn(x, relu=False, name=f"{name}_bn2", zero_gamma=True)
        x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
        return keras.layers.ReLU(name=f"{name}_out")(x)

    def bottleneck_block(self, x, filters, strides, project, name):
        shortcut = self.shortcut(x, 4 * filters, strides, name) if project else x
        x = self.conv(x, filters, 1, 1, f"{name}_conv1")
        x = self.bn(x, relu=True, name=f"{name}_bn1")
        # v1.5: the stride sits on the 3x3 convolution.
        if self.sk_ratio > 0:
            # Selective kernel: two 3x3 streams as one convolution, mixed.
            x = self.conv(x, 2 * filters, 3, strides, f"{name}_conv2")
            x = self.bn(x, relu=True, name=f"{name}_bn2")
            x = SelectiveKernelMix(
                self.sk_ratio, synchronized=self.synchronized, name=f"{name}_sk"
            )(x)
        else:
            x = self.conv(x, filters, 3, strides, f"{name}_conv2")
            x = self.bn(x, relu=True, name=f"{name}_bn2")
        x = self.conv(x, 4 * filters, 1, 1, f"{name}_conv3")
        x = self.bn(x, relu=False, name=f"{name}_bn3", zero_gamma=True)
        x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
        return keras.layers.ReLU(name=f"{name}_out")(x)


def ResNet(
    depth=50,
    width_multiplier=1,
    cifar_stem=False,
    input_shape=(None, None, 3),
    synchronized_batch_norm=True,
    sk_ratio=0.0,
    name=None,
):
    """SimCLR's ResNet encoder: images in [0, 1] -> pooled representation h.

    ResNet v1.5 as in the reference code (google-research/simclr,
    `tf2/resnet.py`; He et al. 2016 with the v1.5 changes): stride on the 3x3
    convolution of bottleneck blocks, no convolution bias, variance-scaling
    (fan_in) initialisation, BN momentum 0.9 and epsilon 1e-5 (global under
    `tf.distribute` by default), the last BN of every residual branch starts
    with gamma = 0, and the first block of every group, the first group
    included, has a projection shortcut. The output is h after global average
    pooling: 512 x width for depths 18/34, 2048 x width from 50 up. The
    CIFAR-10 variant of ResNet-18 has 11,173,056 trainable parameters, as in
    the reference.

    With `sk_ratio > 0` it is SimCLRv2's selective-kernel ResNet, as the
    reference builds it: the 3x3 convolution of every bottleneck block
    becomes a selective kernel (`layers.SelectiveKernelMix`), projection
    shortcuts average-pool before a stride-1 1x1 convolution (ResNet-D) and
    the 7x7 stem becomes three 3x3 convolutions (32, 32, 64 channels x
    width). Trainable parameters at 224 px, as the reference's: ResNet-50
    1x 23,508,032 without SK, 35,215,584 with; ResNet-101 2x SK
    257,132,224; ResNet-152 3x SK 794,704,160.

    Args:
        depth: 18, 34, 50, 101, 152 or 200.
        width_multiplier: channel multiplier (1 to 4 in the paper).
        cifar_stem: 3x3 stride-1 first convolution and no max-pool, for
            32 x 32 images; otherwise 7x7 stride 2 and a 3x3 max-pool.
        input_shape: (height, width, 3); None sizes accept any image size.
        synchronized_batch_norm: global batch statistics under
            `tf.distribute`.
        sk_ratio: selective kernels with this squeeze ratio (SimCLRv2 uses
            0.0625); 0 for the plain ResNet. Basic blocks (depths 18, 34)
            get the ResNet-D shortcut and stem but no selective kernel, as
            in the reference.
        name: model name; default `resnet{depth}` (plus `_{w}x` if w > 1,
            `_sk` with selective kernels).

    Returns:
        A functional `keras.Model` mapping (batch, H, W, 3) float images in
        [0, 1] to (batch, d) representations.

    Example:

    >>> encoder = ResNet(depth=18, cifar_stem=True, input_shape=(32, 32, 3))
    >>> encoder.output_shape
    (None, 512)
    >>> encoder.name
    'resnet18'
    >>> f"{sum(int(np.prod(w.shape)) for w in encoder.trainable_weights):,}"
    '11,173,056'
    >>> h = encoder(np.zeros((2, 32, 32, 3), "float32"))
    >>> h.shape
    TensorShape([2, 512])
    """
    if depth not in _RESNET_LAYOUTS:
        raise errors.UserInputError(
            f"depth must be one of {sorted(_RESNET_LAYOUTS)}, got {depth}."
        )
    if width_multiplier < 1 or int(width_multiplier) != width_multiplier:
        raise errors.UserInputError(
            f"width_multiplier must be a positive integer, got {width_multiplier}."
        )
    if not isinstance(sk_ratio, (int, float)) or not 0 <= sk_ratio < 1:
        raise errors.UserInputError(
            f"sk_ratio must be a number in [0, 1), got {sk_ratio!r}. "
            "SimCLRv2's selective-kernel ResNets use 0.0625; 0 disables them."
        )
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise errors.UserInputError(
            f"input_shape must be (height, width, 3), got {input_shape}."
        )
    kind, blocks_per_group = _RESNET_LAYOUTS[depth]
    width = int(width_multiplier)
    builder = _ResNetBuilder(synchronized_batch_norm, float(sk_ratio))
    block = builder.basic_block if kind == "basic" else builder.bottleneck_block

    images = keras.Input(shape=input_shape, name="images")
    x = builder.stem(images, 64 * width, cifar_stem)
    for group, num_blocks in enumerate(blocks_per_group):
        filters = 64 * width * 2**group
        for i in range(num_blocks):
            strides = 2 if (i == 0 and group > 0) else 1
            x = block(x, filters, strides, i == 0, f"group{group + 1}_block{i + 1}")
    h = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    default_name = (
        f"resnet{depth}"
        + (f"_{width}x" if width > 1 else "")
        + ("_sk" if sk_ratio > 0 else "")
    )
    return keras.Model(images, h, name=name or default_name)
