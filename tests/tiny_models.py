"""A tiny encoder (and SimCLR on it) for tests about SimCLR's machinery rather
than ResNets."""

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


def tiny_simclr(**kwargs):
    """A compiled SimCLR on `tiny_encoder(8)`: 2-layer head of 8, no augmentation.

    Args:
        **kwargs: more `ks.SimCLR` arguments (`num_classes`, ...).

    Returns:
        A `ks.SimCLR` compiled with SGD(0.1), temperature 0.5.
    """
    simclr = ks.SimCLR(
        tiny_encoder(8),
        ks.layers.ProjectionHead(2, output_dim=8),
        augment=keras.layers.Identity(),
        temperature=0.5,
        **kwargs,
    )
    simclr.compile(optimizer=keras.optimizers.SGD(0.1))
    return simclr
