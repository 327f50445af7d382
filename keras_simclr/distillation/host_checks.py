"""Checks of `Distillation`'s inputs on the host, for steps that cannot assert.

A jitted JAX step, and a TensorFlow step compiled by XLA
(`jit_compile=True`), drop assert ops: there, the images' shape and dtype
(`check_images`) and labels >= the student's classes are checked before
they reach the step: the whole label array given to `fit` or `evaluate`,
each batch of a generator as it comes, or each batch of a
`tf.data.Dataset` as the pipeline makes it (`errors.graph_check` in its map
function). The same one-line `UserInputError` as the TensorFlow step's
asserts, and no cost in the step.
"""

import types

import keras
import numpy as np
import tensorflow as tf

from keras_simclr import errors
from keras_simclr.distillation.errors import label_check
from keras_simclr.layers.augmentation.image_inputs import (
    check_image_shape,
    check_images,
)

__all__ = ["HostChecks"]


class HostChecks:
    """`fit` and `evaluate` of `Distillation`, its inputs checked on the host.

    A mixin of the backend's steps (before `keras.Model`): they say, by
    `_asserts_in_step()`, whether their asserts run; when they do not, the
    inputs are checked here. Either way a failed check is one line.

    Example:

    >>> import keras
    >>> from keras_simclr.distillation import Distillation
    >>> issubclass(Distillation, HostChecks)
    True
    """

    def fit(self, x=None, y=None, *args, **kwargs):
        if not self._asserts_in_step():
            x, y = self._checked_inputs(x, y)
            if kwargs.get("validation_data") is not None:
                kwargs["validation_data"] = self._checked_data(
                    kwargs["validation_data"]
                )
        with errors.graph_errors_as_user_errors():
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        if not self._asserts_in_step():
            x, y = self._checked_inputs(x, y)
        with errors.graph_errors_as_user_errors():
            return super().evaluate(x, y, *args, **kwargs)

    def _checked_inputs(self, x, y):
        """`(x, y)` of `fit`: checked now (arrays) or as batches come (datasets)."""
        if isinstance(x, tf.data.Dataset):
            return self._checked_dataset(x), y
        if isinstance(x, types.GeneratorType):
            return self._checked_generator(x), y
        if isinstance(x, np.ndarray) or keras.ops.is_tensor(x) or tf.is_tensor(x):
            check_image_shape(np.shape(x))
            check_images(x[:0])  # the dtype: an empty slice tells, uncopied
        if y is not None:
            labels = np.asarray(y).reshape(-1)
            classes = self._student_classes(np.shape(x))
            if labels.size and labels.max() >= classes:
                with errors.graph_errors_as_user_errors():
                    _check_now(tf.constant(labels), classes)
        return x, y

    def _checked_generator(self, batches):
        for batch in batches:
            self._checked_inputs(*keras.utils.unpack_x_y_sample_weight(batch)[:2])
            yield batch

    def _checked_data(self, data):
        if isinstance(data, tf.data.Dataset):
            return self._checked_dataset(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self._checked_inputs(x, y)
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def _checked_dataset(self, dataset):
        spec = dataset.element_spec
        if not isinstance(spec, tuple):
            return dataset.map(check_images)
        classes = self._student_classes(tuple(spec[0].shape))

        def check(images, labels=None, *rest):
            images = check_images(images)
            if labels is None:
                return images
            with tf.control_dependencies([label_check(labels, classes)]):
                return (images, tf.identity(labels), *rest)

        return dataset.map(check)

    def _student_classes(self, image_shape):
        shape = getattr(self.student, "output_shape", None)
        if shape is None:
            shape = self.student.compute_output_shape((None, *image_shape[1:]))
        return int(shape[-1])


@tf.function
def _check_now(labels, classes):
    label_check(labels, classes)
