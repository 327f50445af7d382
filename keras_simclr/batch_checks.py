"""Checks of the batches SimCLR trains on: shapes, dtypes, pixels, labels.

Shapes and dtypes are checked in Python when the step is traced (free, by
`layers.augmentation.image_inputs.check_images`). Pixel values and labels
are checked in the step, by a few reductions of the batch, in one of two
ways with the same messages:
- TensorFlow without XLA: `errors.graph_check` asserts, which stop the step
  before it changes anything and which `SimCLR.fit` turns into one line;
- JAX, and TensorFlow with `jit_compile=True`, where asserts do nothing: the
  step computes `input_record`, skips its update when the record is not
  zero, and returns the record with its logs; `raise_failed_check` raises
  it on the host right after the step.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_simclr import backends, errors, losses
from keras_simclr.layers.augmentation.image_inputs import check_images

# The key of the in-step record in a step's logs, removed before callbacks.
RECORD_KEY = "keras_simclr_input_check"

# The record's codes: which check failed (0: none).
_NON_FINITE, _ABOVE_ONE, _BELOW_ZERO, _NOT_INTEGER, _LABEL_TOO_LARGE = 1, 2, 3, 4, 5
_LABEL_COUNT, _BATCH_OF_ONE = 6, 7
# Placeholders in the messages below: where the batch is, the values found.
_WHERE, _VALUE, _SECOND_VALUE = object(), object(), object()
# Slack for rounding: views computed in float16 or by a resize that
# overshoots by a hair are still [0, 1] images.
_SLACK = 1e-3


def _message(code, what, where, value, num_classes, second_value=None):
    """The parts of the message of check `code` (strings and values)."""
    parts = {
        _NON_FINITE: (
            f"{what} of ",
            _WHERE,
            " hold NaN or Inf pixels - "
            "find them with np.isfinite and drop or repair those images.",
        ),
        _ABOVE_ONE: (
            f"float {what} must be in 0..1, got a maximum of ",
            _VALUE,
            f" in the {what} of ",
            _WHERE,
            " - divide them by 255, or pass uint8 images.",
        ),
        _BELOW_ZERO: (
            f"float {what} must be in 0..1, got a minimum of ",
            _VALUE,
            f" in the {what} of ",
            _WHERE,
            " - pass pixels in 0..1 (SimCLR normalises nothing), or uint8.",
        ),
        _NOT_INTEGER: (
            "labels must be integer class ids, got a non-integer float label - "
            "pass integer labels, e.g. labels.astype(np.int32).",
        ),
        _LABEL_TOO_LARGE: (
            f"labels must be < num_classes={num_classes} for the probe, got label ",
            _VALUE,
            " - pass num_classes=largest label + 1 to SimCLR, or fix the labels.",
        ),
        _LABEL_COUNT: (
            "labels must hold one id per image, got ",
            _VALUE,
            " labels for ",
            _SECOND_VALUE,
            " images.",
        ),
        _BATCH_OF_ONE: (losses.BATCH_OF_ONE,),
    }[code]
    values = {_VALUE: value, _SECOND_VALUE: second_value}
    out = []
    for part in parts:
        out += list(where) if part is _WHERE else [values.get(part, part)]
    return out


def _pixel_summary(images):
    """(finite, low, high) of float images; None for uint8 (always valid)."""
    if keras.backend.standardize_dtype(images.dtype) == "uint8":
        return None
    pixels = ops.cast(images, "float32")
    return ops.isfinite(ops.sum(pixels)), ops.min(pixels), ops.max(pixels)


def _image_value_checks(images, what, where):
    """Graph checks of float pixels: finite and in [0, 1] (uint8 needs none)."""
    summary = _pixel_summary(images)
    if summary is None:
        return []
    finite, low, high = summary
    return [
        errors.graph_check(finite, *_message(_NON_FINITE, what, where, None, None)),
        errors.graph_check(
            ~finite | (high <= 1.0 + _SLACK),
            *_message(_ABOVE_ONE, what, where, high, None),
        ),
        errors.graph_check(
            ~finite | (low >= -_SLACK),
            *_message(_BELOW_ZERO, what, where, low, None),
        ),
    ]


def _label_ids(labels, batch):
    """The labels as a flat vector of ids; None for one-hot labels.

    Checks dtype and count when the step is traced.
    """
    dtype = keras.backend.standardize_dtype(labels.dtype)
    if not ("int" in dtype or "float" in dtype):
        raise errors.UserInputError(
            f"labels must be integer class ids, got dtype {dtype}. "
            "Map class names to ids 0 .. num_classes - 1."
        )
    if len(labels.shape) == 2 and labels.shape[-1] != 1:
        return None  # One-hot: argmax is always a valid class.
    ids = ops.reshape(labels, [-1])
    count, images = ids.shape[0], batch.shape[0]
    if count is not None and images is not None and count != images:
        raise errors.UserInputError(
            f"labels must hold one id per image, got {count} labels "
            f"for {images} images."
        )
    return ids


def _label_checks(labels, batch, num_classes):
    """Static and graph checks of the probe's labels: integer ids < num_classes."""
    labels = tf.convert_to_tensor(labels)
    ids = _label_ids(labels, batch)
    if ids is None:
        return []
    checks = []
    if labels.dtype.is_floating:
        checks.append(
            errors.graph_check(
                tf.reduce_all(tf.equal(ids, tf.round(ids))),
                *_message(_NOT_INTEGER, "", (), None, num_classes),
            )
        )
        ids = tf.cast(ids, tf.int32)
    if ids.shape[0] is None or batch.shape[0] is None:
        count, images = tf.shape(ids)[0], tf.shape(batch)[0]
        checks.append(
            errors.graph_check(
                tf.equal(count, images),
                *_message(_LABEL_COUNT, "", (), count, num_classes, images),
            )
        )
    largest = tf.reduce_max(tf.concat([tf.cast(ids, tf.int64), [-1]], 0))
    checks.append(
        errors.graph_check(
            largest < num_classes,
            *_message(_LABEL_TOO_LARGE, "", (), largest, num_classes),
        )
    )
    return checks


def checked_shapes(batch, num_classes):
    """The batch with shapes and dtypes checked (free, when traced).

    Args:
        batch: a `batch_formats.Batch`.
        num_classes: the probe's classes, or None (labels unchecked).

    Returns:
        A `Batch` of the same format, of tensors.

    Raises:
        UserInputError: bad shapes or dtypes of images or labels.

    Example:

    >>> from keras_simclr.batch_formats import Batch
    >>> batch = checked_shapes(Batch(np.zeros((4, 8, 8, 3), np.float32),
    ...                              labels=np.array([0, 1, 2, 3])), 10)
    >>> tuple(batch.images.shape), tuple(batch.labels.shape)
    ((4, 8, 8, 3), (4,))
    """
    views = [check_images(view, name) for view, name in zip(batch.parts, batch.names)]
    labels = batch.labels
    if labels is not None and num_classes:
        labels = ops.convert_to_tensor(labels)
        _label_ids(labels, views[0])
    return batch.with_parts(views, labels)


def input_record(batch, num_classes):
    """The in-step checks of pixels and labels, as one record to return.

    In `keras.ops`, so it runs under XLA and on JAX, where asserts do
    nothing: a float32 vector `[code, part, value]`, zeros when every check
    passes, else the first failed check, the index of the batch part
    (`batch.names`) and the values found; `failure_message` reads it.
    It also refuses a global batch of one image (NT-Xent's check, an
    assert when the batch size is only known in the step).

    Args:
        batch: a `Batch` from `checked_shapes`.
        num_classes: the probe's classes, or None (labels unchecked).

    Returns:
        A float32 tensor of shape (4,): `[code, part, value, value]`.

    Example:

    >>> from keras_simclr.batch_formats import Batch
    >>> images = np.full((2, 4, 4, 3), 2.0, np.float32)  # not in 0..1
    >>> np.asarray(input_record(Batch(images), None)).tolist()
    [2.0, 0.0, 2.0, 0.0]
    """
    size = ops.cast(ops.shape(batch.parts[0])[0], "float32")
    # (failed, code, part, value, second value), in the order to report
    failures = [(size * backends.replicas_in_sync() < 2, _BATCH_OF_ONE, 0, 0.0, 0.0)]
    for part, images in enumerate(batch.parts):
        summary = _pixel_summary(images)
        if summary is None:
            continue
        finite, low, high = summary
        failures += [
            (~finite, _NON_FINITE, part, 0.0, 0.0),
            (finite & (high > 1.0 + _SLACK), _ABOVE_ONE, part, high, 0.0),
            (finite & (low < -_SLACK), _BELOW_ZERO, part, low, 0.0),
        ]
    labels = batch.labels
    if labels is not None and num_classes:
        ids = _label_ids(ops.convert_to_tensor(labels), batch.parts[0])
        if ids is not None:
            count = ops.cast(ops.shape(ids)[0], "float32")
            failures.append((count != size, _LABEL_COUNT, 0, count, size))
            ids = ops.cast(ids, "float32")
            if "float" in keras.backend.standardize_dtype(labels.dtype):
                integer = ops.all(ops.equal(ids, ops.round(ids)))
                failures.append((~integer, _NOT_INTEGER, 0, 0.0, 0.0))
            largest = ops.max(ops.concatenate([ids, ops.convert_to_tensor([-1.0])]))
            failures.append((largest >= num_classes, _LABEL_TOO_LARGE, 0, largest, 0.0))
    record = ops.zeros((4,), "float32")
    for failed, code, part, value, second in reversed(failures):
        row = [
            ops.cast(x, "float32") for x in (float(code), float(part), value, second)
        ]
        record = ops.where(failed, ops.stack(row), record)
    return record


def failure_message(record, names, where, num_classes):
    """The one-line message of a record from `input_record`, or None.

    Args:
        record: the record, as NumPy or a tensor.
        names: the names of the batch's parts (`Batch.names`).
        where: the batch, for the message, e.g. "training step 7".
        num_classes: the probe's classes.

    Returns:
        The message, as the asserts word it; None when no check failed.

    Example:

    >>> print(failure_message([2.0, 0.0, 255.0, 0.0], ["images"],
    ...                       "training step 3", None))  # doctest: +NORMALIZE_WHITESPACE
    float images must be in 0..1, got a maximum of 255 in the images of
    training step 3 - divide them by 255, or pass uint8 images.
    """
    code, part, value, second = np.asarray(record, np.float32).tolist()
    if code == 0:
        return None
    if code in (_LABEL_COUNT, _LABEL_TOO_LARGE):
        value, second = int(value), int(second)
    parts = _message(int(code), names[int(part)], [where], value, num_classes, second)
    return "".join(f"{p:.9g}" if isinstance(p, float) else str(p) for p in parts)


def checked_batch(batch, num_classes, where):
    """Checks one batch of the step by asserts; returns it, computed after them.

    Shapes and dtypes are checked now (free); pixel values and labels by
    graph checks, a few reductions per batch, that every op reading the
    returned tensors waits for. (The checks guard the inputs rather than
    the step, so that variables created in the step, by a lazy build, do
    not depend on them: XLA could not lift them out of the function.)
    TensorFlow only; under XLA and on JAX, `input_record`.

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
