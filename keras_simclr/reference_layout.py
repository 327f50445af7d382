"""The reference's TF2 checkpoint layout: which attribute path holds which layer.

The reference implementation (google-research/simclr, `tf2/`) names every
variable by its Python attribute path; `encoder_layout` pairs those paths
with the layers of the matching `encoders.ResNet`, for
`keras_simclr.pretrained.load`.
"""

from keras_simclr import encoders

__all__ = ["RESNET_SCOPE", "encoder_layout"]

#: Where the reference's checkpoints hold the ResNet's variables.
RESNET_SCOPE = "model/resnet_model/"


def encoder_layout(encoder, depth, sk_ratio, cifar_stem):
    """Yields (reference attribute path, Keras layer) for every encoder layer.

    Args:
        encoder: an `encoders.ResNet` built with these arguments.
        depth: its depth.
        sk_ratio: its selective-kernel ratio (0 for none).
        cifar_stem: whether it has the CIFAR stem.

    Returns:
        A generator of `(path, layer)`: the reference's attribute path of
        the layer's variables (without the variable's own name) and the
        Keras layer holding them.

    Example:

    >>> encoder = keras_simclr.encoders.ResNet(18, cifar_stem=True, input_shape=(8, 8, 3))
    >>> path, layer = next(encoder_layout(encoder, 18, 0, True))
    >>> path, layer.name
    ('model/resnet_model/initial_conv_relu_max_pool/0/conv2d', 'stem_conv')
    """
    layer = encoder.get_layer
    stem = RESNET_SCOPE + "initial_conv_relu_max_pool/"
    if sk_ratio > 0 and not cifar_stem:
        names = (
            "stem_conv1",
            "stem_bn1",
            "stem_conv2",
            "stem_bn2",
            "stem_conv",
            None,
            "stem_bn",
        )
    else:
        names = ("stem_conv", None, "stem_bn")
    for i, name in enumerate(names):
        if name:
            yield stem + f"{i}/" + ("conv2d" if "conv" in name else "bn"), layer(name)
    kind, blocks_per_group = encoders._RESNET_LAYOUTS[depth]
    for g, num_blocks in enumerate(blocks_per_group):
        for b in range(num_blocks):
            name = f"group{g + 1}_block{b + 1}"
            scope = f"{RESNET_SCOPE}block_groups/{g}/layers/{b}/"
            if kind == "bottleneck":
                branch = scope + "conv_relu_dropblock_layers/"
                yield branch + "0/conv2d", layer(f"{name}_conv1")
                yield branch + "1/bn", layer(f"{name}_bn1")
                if sk_ratio > 0:
                    sk = layer(f"{name}_sk")
                    yield (
                        branch + "3/conv2d_fixed_padding/conv2d",
                        layer(f"{name}_conv2"),
                    )
                    yield branch + "3/batch_norm_relu/bn", layer(f"{name}_bn2")
                    yield branch + "3/conv2d_0", sk.squeeze
                    yield branch + "3/batch_norm_relu_1/bn", sk.squeeze_bn
                    yield branch + "3/conv2d_1", sk.expand
                    yield branch + "5/conv2d", layer(f"{name}_conv3")
                    yield branch + "6/bn", layer(f"{name}_bn3")
                else:
                    yield branch + "3/conv2d", layer(f"{name}_conv2")
                    yield branch + "4/bn", layer(f"{name}_bn2")
                    yield branch + "6/conv2d", layer(f"{name}_conv3")
                    yield branch + "7/bn", layer(f"{name}_bn3")
                shortcut = scope + "projection_layers/"
            else:
                branch = scope + "conv2d_bn_layers/"
                for i, part in enumerate(("conv1", "bn1", "conv2", "bn2")):
                    kind_path = "conv2d" if "conv" in part else "bn"
                    yield branch + f"{i}/{kind_path}", layer(f"{name}_{part}")
                shortcut = scope + "shortcut_layers/"
            if b == 0:
                # ResNet-D puts (padding and) pooling layers, which hold no
                # variables, before the convolution.
                first = 0 if sk_ratio == 0 else (1 if g == 0 else 2)
                yield shortcut + f"{first}/conv2d", layer(f"{name}_proj")
                yield shortcut + f"{first + 1}/bn", layer(f"{name}_proj_bn")
