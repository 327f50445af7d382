"""A tiny encoder for tests about SimCLR's machinery rather than ResNets."""

import keras

import keras_simclr as ks


def tiny_encoder(size=8, filters=8, name="tiny", synchronized=True):
    """Conv -> BN -> ReLU -> global average pool.

    Args:
        size: image height and width.
        filters: width of h.
        name: model name.
        synchronized: BN statistics over all replicas (the default) or per
            replica.

    Returns:
        A functional `keras.Model` from (batch, size, size, 3) to (batch, filters).
    """
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(filters, 3, use_bias=False)(inputs)
    x = ks.layers.batch_norm(synchronized)(x)
    x = keras.layers.ReLU()(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name=name)
