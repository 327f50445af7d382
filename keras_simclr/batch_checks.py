"""Checks of the batches SimCLR trains on: shapes, dtypes, pixels, labels.

Shapes and dtypes are checked in Python when the step is traced (free, by
`layers.augmentation.image_inputs.check_images`);
pixel values and labels by `errors.graph_check`s in the step, a few
reductions of the batch, which `SimCLR.fit` turns into one-line errors.
"""

import tensorflow as tf

from keras_simclr import errors
from keras_simclr.layers.augmentation.image_inputs import check_images


def _image_value_checks(images, what, where):
    """Graph checks of float pixels: finite and in [0, 1] (uint8 needs none)."""
    if images.dtype == tf.uint8:
        return []
    pixels = tf.cast(images, tf.float32)
    # Slack for rounding: views computed in float16 or by a resize that
    # overshoots by a hair are still [0, 1] images.
    low, high = tf.reduce_min(pixels), tf.reduce_max(pixels)
    finite = tf.math.is_finite(tf.reduce_sum(pixels))
    return [
        errors.graph_check(
            finite,
            f"{what} of ",
            *where,
            " hold NaN or Inf pixels - "
            "find them with np.isfinite and drop or repair those images.",
        ),
        errors.graph_check(
            ~finite | (high <= 1.0 + 1e-3),
            f"float {what} must be in 0..1, got a maximum of ",
            high,
            f" in the {what} of ",
            *where,
            " - divide them by 255, or pass uint8 images.",
        ),
        errors.graph_check(
            ~finite | (low >= -1e-3),
            f"float {what} must be in 0..1, got a minimum of ",
            low,
            f" in the {what} of ",
            *where,
            " - pass pixels in 0..1 (SimCLR normalises nothing), or uint8.",
        ),
    ]


def _label_checks(labels, batch, num_classes):
    """Static and graph checks of the probe's labels: integer ids < num_classes."""
    labels = tf.convert_to_tensor(labels)
    if not (labels.dtype.is_integer or labels.dtype.is_floating):
        raise errors.UserInputError(
            f"labels must be integer class ids, got dtype {labels.dtype.name}. "
            "Map class names to ids 0 .. num_classes - 1."
        )
    checks = []
    if labels.shape.rank == 2 and labels.shape[-1] != 1:
        return checks  # One-hot: argmax is always a valid class.
    ids = tf.reshape(labels, [-1])
    if labels.dtype.is_floating:
        checks.append(
            errors.graph_check(
                tf.reduce_all(tf.equal(ids, tf.round(ids))),
                "labels must be integer class ids, got a non-integer float label - "
                "pass integer labels, e.g. labels.astype(np.int32).",
            )
        )
        ids = tf.cast(ids, tf.int32)
    if ids.shape[0] is not None and batch.shape[0] is not None:
        if ids.shape[0] != batch.shape[0]:
            raise errors.UserInputError(
                f"labels must hold one id per image, got {ids.shape[0]} labels "
                f"for {batch.shape[0]} images."
            )
    else:
        count, images = tf.shape(ids)[0], tf.shape(batch)[0]
        checks.append(
            errors.graph_check(
                tf.equal(count, images),
                "labels must hold one id per image, got ",
                count,
                " labels for ",
                images,
                " images.",
            )
        )
    largest = tf.reduce_max(tf.concat([tf.cast(ids, tf.int64), [-1]], 0))
    checks.append(
        errors.graph_check(
            largest < num_classes,
            f"labels must be < num_classes={num_classes} for the probe, got label ",
            largest,
            " - pass num_classes=largest label + 1 to SimCLR, or fix the labels.",
        )
    )
    return checks


def checked_batch(batch, num_classes, where):
    """Checks one batch of the step; returns it, computed after the checks.

    Shapes and dtypes are checked now (free); pixel values and labels by
    graph checks, a few reductions per batch, that every op reading the
    returned tensors waits for. (The checks guard the inputs rather than
    the step, so that variables created in the step, by a lazy build, do
    not depend on them: XLA could not lift them out of the function.)

    Args:
        batch: a `batch_formats.Batch`.
        num_classes: the probe's classes, or None (labels unchecked).
        where: strings and scalar tensors naming the batch in messages,
            e.g. ("training step ", optimizer.iterations).

    Returns:
        A `Batch` of the same format, of tensors.

    Raises:
        UserInputError: bad shapes or dtypes of images or labels.

    Example:

    >>> import numpy as np
    >>> from keras_simclr.batch_formats import Batch
    >>> batch = checked_batch(Batch(np.zeros((4, 8, 8, 3), np.float32),
    ...                             labels=np.array([0, 1, 2, 3])),
    ...                       10, ("training step 0",))
    >>> batch.images.shape, batch.labels.shape
    (TensorShape([4, 8, 8, 3]), TensorShape([4]))
    """
    names, labels = batch.names, batch.labels
    views = [check_images(view, name) for view, name in zip(batch.parts, names)]
    checks = []
    for view, name in zip(views, names):
        checks += _image_value_checks(view, name, where)
    if labels is not None and num_classes:
        labels = tf.convert_to_tensor(labels)
        checks += _label_checks(labels, views[0], num_classes)
    if not checks:
        return batch.with_parts(views, labels)
    with tf.control_dependencies(checks):
        views = [tf.identity(view) for view in views]
        if labels is not None:
            labels = tf.identity(labels)
    return batch.with_parts(views, labels)


def check_replica_batches(images, strategy):
    """Refuses a distributed batch whose replicas hold unequal image counts.

    Keras builds a model by averaging its first batch over the replicas,
    which fails on unequal batches with a trace about `AddN`.

    Args:
        images: the images of one batch of a distributed dataset.
        strategy: the strategy that distributed it.

    Raises:
        UserInputError: the replicas' batches differ in size (the message
            names the batch and the multiple to use), or bad images.

    Example:

    >>> strategy = tf.distribute.get_strategy()
    >>> check_replica_batches(tf.zeros((4, 8, 8, 3)), strategy)  # one device
    """
    if not isinstance(images, tf.distribute.DistributedValues):
        return
    local = strategy.experimental_local_results(images)
    for part in local:
        check_images(part)
    sizes = [int(part.shape[0]) for part in local]
    if len(set(sizes)) > 1:
        replicas = strategy.num_replicas_in_sync
        total = sum(sizes)
        multiple = -(-total // replicas) * replicas
        raise errors.UserInputError(
            f"fit's global batch of {total} images does not split evenly over "
            f"the {replicas} replicas ({' + '.join(map(str, sizes))}): use a "
            f"batch size that is a multiple of {replicas}, e.g. {multiple}, "
            "and drop_remainder=True."
        )
