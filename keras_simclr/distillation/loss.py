"""The distillation term: the student's cross-entropy with the teacher's softened predictions."""

from keras import ops

from keras_simclr.distillation.errors import DistillationError, check_temperature

__all__ = ["distillation_loss"]


def distillation_loss(teacher_logits, student_logits, temperature=1.0):
    """Per-image distillation loss: T^2 * CE(softmax(t / T), softmax(s / T)).

    The teacher's probabilities are a constant (`stop_gradient`). Computed in
    float32 whatever the logits' dtype, with `keras.ops` (any backend).

    Args:
        teacher_logits: (batch, classes) logits of the teacher.
        student_logits: (batch, classes) logits of the student.
        temperature: T, a finite number > 0.

    Returns:
        float32 tensor (batch,) of the Keras backend.

    Raises:
        DistillationError: a bad temperature, or logits of different shapes.

    Example:

    >>> import numpy as np
    >>> loss = distillation_loss(np.zeros((2, 10)), np.zeros((2, 10)))
    >>> ops.convert_to_numpy(loss).round(5)  # log 10
    array([2.30259, 2.30259], dtype=float32)
    """
    temperature = check_temperature(temperature)
    teacher_logits = ops.cast(teacher_logits, "float32")
    student_logits = ops.cast(student_logits, "float32")
    teacher_shape, student_shape = (
        tuple(teacher_logits.shape),
        tuple(student_logits.shape),
    )
    if len(teacher_shape) != 2 or not _compatible(teacher_shape, student_shape):
        raise DistillationError(
            f"teacher and student logits must both be (batch, classes), got "
            f"{teacher_shape} and {student_shape} — give "
            "the student a head with as many classes as the teacher."
        )
    targets = ops.stop_gradient(ops.softmax(teacher_logits / temperature))
    return temperature**2 * ops.categorical_crossentropy(
        targets, student_logits / temperature, from_logits=True
    )


def _compatible(first, second):
    """Shapes of one rank whose known dimensions agree."""
    return len(first) == len(second) and all(
        a is None or b is None or a == b for a, b in zip(first, second)
    )
