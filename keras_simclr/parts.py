"""The parts of a pretrained model that downstream tasks use.

Evaluation, fine-tuning, distillation and export all start from "a SimCLR
model or a bare encoder": `split_model` takes either apart, and
`input_image_size` reads the size the encoder accepts. `copy_layer` makes
an independent copy of a part (fine-tuning trains copies, never the
pretrained model), and `all_layers` walks every layer nested in a model.
"""

import keras
import numpy as np

__all__ = [
    "all_layers",
    "as_image_size",
    "copy_layer",
    "input_image_size",
    "split_model",
]


def split_model(model):
    """Returns the encoder and projection head of a SimCLR model.

    A SimCLR model (anything with an `encoder` layer) gives its `encoder`
    and its `projection_head` (None when it has none); any other Keras
    layer is taken as a bare encoder, without head.

    Args:
        model: a `keras_simclr.SimCLR` model or a Keras layer.

    Returns:
        `(encoder, head)`: the encoder layer and the head layer or None;
        `(None, None)` when `model` is not a Keras layer at all (the caller
        says what it expected).

    Example:

    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten()])
    >>> split_model(encoder) == (encoder, None)
    True
    >>> split_model("not a model")
    (None, None)
    """
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, keras.layers.Layer):
        return encoder, getattr(model, "projection_head", None)
    if isinstance(model, keras.layers.Layer):
        return model, None
    return None, None


def input_image_size(layer):
    """The (height, width) a layer's functional input has.

    Args:
        layer: a Keras layer; a Functional or Sequential model built on a
            `keras.Input` has a static input shape, other layers have none.

    Returns:
        `(height, width)`, with None for each dimension left free (both
        None for a layer without functional inputs).

    Example:

    >>> encoder = keras.Sequential([keras.Input((24, 32, 3)), keras.layers.Flatten()])
    >>> input_image_size(encoder)
    (24, 32)
    >>> input_image_size(keras.layers.Flatten())
    (None, None)
    """
    inputs = getattr(layer, "inputs", None)
    if not inputs:
        return (None, None)
    return tuple(inputs[0].shape[1:3])


def as_image_size(image_size):
    """An image size argument as a (height, width) pair of ints.

    Args:
        image_size: an int (square images), a (height, width) pair, or None.

    Returns:
        `(height, width)`, or None for None.

    Example:

    >>> as_image_size(32)
    (32, 32)
    >>> as_image_size((24, np.int64(32)))
    (24, 32)
    """
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)):
        return (int(image_size), int(image_size))
    height, width = image_size
    return (int(height), int(width))


def copy_layer(layer, input_shape=None, **config):
    """An independent copy of a layer, with its weights.

    The copy is rebuilt from the layer's serialized config (with `config`'s
    entries replaced), so it shares no variable with `layer`; a built
    layer's weights are copied into it.

    Args:
        layer: a serializable Keras layer or model.
        input_shape: the shape to build the copy with when deserializing
            does not build it; None uses the shape `layer` was built with.
        **config: config entries to change, e.g. `synchronized=True` for a
            `BatchNormalization`.

    Returns:
        The new layer.

    Example:

    >>> dense = keras.layers.Dense(2)
    >>> dense.build((None, 3))
    >>> copy = copy_layer(dense, name="copy")
    >>> copy.name, copy.kernel is dense.kernel
    ('copy', False)
    >>> bool(np.array_equal(copy.kernel.numpy(), dense.kernel.numpy()))
    True
    """
    serialized = keras.saving.serialize_keras_object(layer)
    serialized["config"].update(config)
    copy = keras.saving.deserialize_keras_object(serialized)
    if layer.built:
        if not copy.built:
            if input_shape is None:
                copy.build_from_config(layer.get_build_config())
            else:
                copy.build(input_shape)
        copy.set_weights(layer.get_weights())
    return copy


def all_layers(layer):
    """`layer` and every layer nested in it, depth first, in tracking order.

    Keras 3 (3.15) has no public recursive walk over a layer's sub-layers:
    `Model.layers` is one level deep and only exists on models, and Keras
    layers are not `tf.Module`s (no `submodules`). This uses the private
    `Layer._flatten_layers`; the names of the random generators saved in
    checkpoints depend on its order. tests/parts_test.py fails if it
    changes.

    Args:
        layer: a Keras layer or model.

    Returns:
        A list of layers, `layer` first.

    Example:

    >>> inner = keras.Sequential([keras.layers.Dense(2, name="d")], name="inner")
    >>> outer = keras.Sequential([inner, keras.layers.ReLU(name="r")], name="outer")
    >>> [l.name for l in all_layers(outer)]
    ['outer', 'inner', 'd', 'r']
    """
    return list(layer._flatten_layers(include_self=True, recursive=True))
