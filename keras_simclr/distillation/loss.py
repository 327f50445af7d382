"""The distillation term: the student's cross-entropy with the teacher's softened predictions."""

import tensorflow as tf

from keras_simclr.distillation.errors import DistillationError, check_temperature

__all__ = ["distillation_loss"]


def distillation_loss(teacher_logits, student_logits, temperature=1.0):
    """Per-image distillation loss: T^2 * CE(softmax(t / T), softmax(s / T)).

    The teacher's probabilities are a constant (`stop_gradient`). Computed in
    float32 whatever the logits' dtype.

    Args:
        teacher_logits: (batch, classes) logits of the teacher.
        student_logits: (batch, classes) logits of the student.
        temperature: T, a finite number > 0.

    Returns:
        float32 tensor (batch,).

    Raises:
        DistillationError: a bad temperature, or logits of different shapes.

    Example:

    >>> distillation_loss(tf.zeros((2, 10)), tf.zeros((2, 10))).numpy().round(5)  # log 10
    array([2.30259, 2.30259], dtype=float32)
    """
    temperature = check_temperature(temperature)
    teacher_logits = tf.cast(tf.convert_to_tensor(teacher_logits), tf.float32)
    student_logits = tf.cast(tf.convert_to_tensor(student_logits), tf.float32)
    if teacher_logits.shape.rank != 2 or not teacher_logits.shape.is_compatible_with(
        student_logits.shape
    ):
        raise DistillationError(
            f"teacher and student logits must both be (batch, classes), got "
            f"{teacher_logits.shape} and {student_logits.shape} — give the "
            "student a head with as many classes as the teacher."
        )
    targets = tf.stop_gradient(tf.nn.softmax(teacher_logits / temperature))
    return temperature**2 * tf.nn.softmax_cross_entropy_with_logits(
        targets, student_logits / temperature
    )
