"""`SavedModelTeacher`: a SavedModel teacher gives the Keras teacher's logits."""

import keras
import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import distillation
from tests.distillation.fixtures import classifier, data, teacher_model


def test_a_savedmodel_teacher_gives_the_keras_teachers_logits(tmp_path):
    images, labels = data()
    teacher = teacher_model()
    teacher.export(str(tmp_path / "teacher"), verbose=False)
    loaded = distillation.SavedModelTeacher(str(tmp_path / "teacher"))
    np.testing.assert_allclose(
        loaded(images), teacher(images, training=False), atol=1e-5
    )
    model = ks.Distillation(str(tmp_path / "teacher"), classifier("student", 2))
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert not model.teacher.trainable_weights
    with pytest.raises(distillation.DistillationError, match="copies a Keras model"):
        distillation.distill(
            str(tmp_path / "teacher"), (images, labels), (images, np.abs(labels))
        )
    path = str(tmp_path / "distill.keras")
    model.save(path)
    # Keras reloads an external SavedModel only when told the file is trusted.
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.saving.load_model(path)
    loaded = keras.saving.load_model(path, safe_mode=False)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )
