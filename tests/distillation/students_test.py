"""The students: `self_distillation_student` copies the architecture, not the weights."""

import numpy as np
import pytest

from keras_simclr import distillation
from tests.distillation.fixtures import teacher_model

pytestmark = pytest.mark.backend_neutral


def test_self_distillation_student_copies_the_architecture_not_the_weights():
    teacher = teacher_model()
    student = distillation.self_distillation_student(teacher)
    assert [type(layer) for layer in student.layers] == [
        type(layer) for layer in teacher.layers
    ]
    assert student.count_params() == teacher.count_params()
    assert not np.allclose(
        student.get_layer("classifier").kernel.numpy(),
        teacher.get_layer("classifier").kernel.numpy(),
    )
