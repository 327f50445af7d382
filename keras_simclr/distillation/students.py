"""Students: the teacher's architecture afresh, or an encoder and a linear classifier."""

import keras
import numpy as np

from keras_simclr.distillation.errors import DistillationError
from keras_simclr.evaluation.classifier import classifier

__all__ = ["classifier_student", "self_distillation_student"]


def self_distillation_student(teacher):
    """A student of the teacher's architecture, freshly initialised.

    SimCLRv2's self-distillation: the same network (encoder, kept head
    layers and classifier) trained again, from scratch, on the teacher's
    predictions. Built with `keras.models.clone_model`.

    Args:
        teacher: a Keras classifier (e.g. from `evaluation.finetune`).

    Returns:
        A new `keras.Model`, with new weights.

    Raises:
        DistillationError: the teacher is not a Keras model (a SavedModel
            has no architecture to copy: build the student yourself).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()], name="encoder")
    >>> teacher = classifier_student(encoder, num_classes=3, name="teacher")
    >>> student = self_distillation_student(teacher)
    >>> student.output_shape, student.get_weights()[0] is teacher.get_weights()[0]
    ((None, 3), False)
    """
    if not isinstance(teacher, keras.Model):
        raise DistillationError(
            "self_distillation_student copies a Keras model's architecture, got "
            f"{type(teacher).__name__} — for a SavedModel teacher build the "
            "student with classifier_student(encoder, num_classes)."
        )
    return keras.models.clone_model(teacher)


def classifier_student(encoder, num_classes, name="student"):
    """A student: `encoder` (images -> h) then a linear classifier.

    The classifier is zero-initialised, as fine-tuning's.

    Args:
        encoder: a Keras encoder with a static input shape, e.g.
            `keras_simclr.encoders.ResNet(18, input_shape=(32, 32, 3))`.
        num_classes: the teacher's number of classes (>= 2).
        name: the model's name.

    Returns:
        A functional `keras.Model` from images to logits.

    Raises:
        DistillationError: `num_classes` < 2, or an encoder without a static
            input shape.

    Example:

    >>> import keras
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> student = classifier_student(encoder, num_classes=10)
    >>> [layer.name for layer in student.layers][-1], student.output_shape
    ('classifier', (None, 10))
    """
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, (int, np.integer))
        or num_classes < 2
    ):
        raise DistillationError(
            f"num_classes must be an int >= 2, got {num_classes!r} — pass the "
            "number of classes."
        )
    inputs = getattr(encoder, "inputs", None)
    if not isinstance(encoder, keras.layers.Layer) or not inputs:
        raise DistillationError(
            f"encoder must be a Keras model with a static input shape, got "
            f"{type(encoder).__name__} without one — build it on an input, e.g. "
            "keras_simclr.encoders.ResNet(18, input_shape=(32, 32, 3))."
        )
    images = keras.Input(inputs[0].shape[1:], name="images")
    logits = classifier(int(num_classes), 0.0)(encoder(images))
    return keras.Model(images, logits, name=name)
