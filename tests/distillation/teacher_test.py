"""`SavedModelTeacher`: a SavedModel teacher gives the Keras teacher's logits."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import backends, distillation
from tests.distillation.fixtures import SIZE, classifier, data, teacher_model


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


@pytest.mark.backend_neutral
def test_a_savedmodel_teacher_on_jax_is_one_line(tmp_path):
    module = tf.Module()
    module.serve = tf.function(
        lambda images: tf.reduce_mean(images, axis=[1, 2]),
        input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)],
    )
    path = str(tmp_path / "teacher")
    tf.saved_model.save(module, path)
    if not backends.is_jax():
        images, _ = data()
        np.testing.assert_allclose(
            distillation.SavedModelTeacher(path)(images),
            images.mean(axis=(1, 2)),
            atol=1e-6,
        )
        return
    for call in (
        lambda: distillation.SavedModelTeacher(path),
        lambda: ks.Distillation(path, classifier("student", 2)),
    ):
        with pytest.raises(distillation.DistillationError) as caught:
            call()
        assert str(caught.value) == (
            f"the teacher {path!r} is a SavedModel, which Keras runs on the "
            "tensorflow backend only (TFSMLayer), not jax — distil the "
            "fine-tuned Keras model (its .keras file, keras.saving.load_model), "
            "or set KERAS_BACKEND=tensorflow."
        )
