"""`distill`, end to end on arrays."""

import keras
import numpy as np
import pytest

from keras_simclr import distillation
from tests.distillation.fixtures import CLASSES, SIZE, data, teacher_model


@pytest.mark.backend_neutral
def test_distill_end_to_end_on_arrays():
    images, labels = data(32)
    student, results = distillation.distill(
        teacher_model(),
        (images, labels),
        (images, np.abs(labels)),
        epochs=2,
        batch_size=16,
        alpha=1.0,
        label_fraction=0.5,
        optimizer="momentum",
    )
    assert isinstance(student, keras.Model)
    assert results["num_train"] == 32 and results["num_test"] == 32
    # Half the labels of the 22 labelled images, balanced: 3 per class.
    assert results["num_labelled"] == 12
    assert results["num_classes"] == CLASSES and results["image_size"] == [SIZE, SIZE]
    # top-1 is the returned student's on the test images; 4 classes: every
    # label is in the top 5.
    own = np.argmax(student(images, training=False), -1)
    assert results["top1"] == pytest.approx(np.mean(own == np.abs(labels)))
    assert results["top5"] == 1.0
    # The student copies this teacher: measured 1.0 over 4 seeds (distill's
    # seed and the student's initial weights).
    assert results["teacher_agreement"] > 0.75
    np.testing.assert_allclose(
        results["teacher_top1"],
        np.mean(
            np.argmax(teacher_model()(images, training=False), -1) == np.abs(labels)
        ),
    )
