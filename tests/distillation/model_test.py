"""`Distillation`: the training step's loss, its augmentation, saving, two replicas."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from tests.distillation.fixtures import (
    CLASSES,
    SIZE,
    classifier,
    data,
    reference_label_loss,
    reference_loss,
    teacher_model,
)
from tests.replicas import run_with_replicas


@pytest.mark.backend_neutral
def test_step_loss_equals_numpy_and_only_the_student_learns():
    images, labels = data()
    teacher, student = teacher_model(), classifier("student", 2)
    model = ks.Distillation(
        teacher, student, temperature=2.0, alpha=0.5, augment=keras.layers.Identity()
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    teacher_before = [v.numpy().copy() for v in teacher.variables]
    # One full batch at learning rate 0: the logged loss is the first step's.
    t = np.asarray(teacher(images, training=False))
    s = np.asarray(student(images, training=True))
    history = model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    expected = reference_loss(t, s, 2.0).mean() + 0.5 * reference_label_loss(s, labels)
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
    np.testing.assert_allclose(
        history.history["distillation_loss"][0],
        reference_loss(t, s, 2.0).mean(),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        history.history["label_loss"][0], reference_label_loss(s, labels), rtol=1e-5
    )
    student_before = [v.numpy().copy() for v in student.trainable_variables]
    model.optimizer.learning_rate.assign(0.1)
    model.fit(images, labels, batch_size=8, epochs=2, verbose=0)
    # Frozen teacher, batch norm in inference mode: not even its moving
    # statistics move.
    for before, v in zip(teacher_before, teacher.variables):
        np.testing.assert_array_equal(before, v.numpy())
    assert not teacher.trainable
    assert any(
        not np.allclose(b, v.numpy())
        for b, v in zip(student_before, student.trainable_variables)
    )


class Recorder(keras.Model):
    """Logits from mean colours; keeps the images of every training call."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(CLASSES)
        self.seen = []

    def build(self, input_shape):
        self.dense.build((None, 3))

    def call(self, images, training=None):
        self.seen.append(images.numpy())
        return self.dense(tf.reduce_mean(images, axis=[1, 2]))


def test_teacher_and_student_see_the_same_augmented_batch():
    images, _ = data(8)
    teacher, student = Recorder(), Recorder()
    model = ks.Distillation(teacher, student)
    model.compile(optimizer="sgd", run_eagerly=True)
    model.fit(images, epochs=1, batch_size=8, verbose=0)
    # The default augmentation: crop and flip at the input size, no colour.
    assert isinstance(model.augment, ks.layers.RandomResizedCrop) and model.augment.flip
    assert (model.augment.height, model.augment.width) == (SIZE, SIZE)
    np.testing.assert_array_equal(teacher.seen[-1], student.seen[-1])
    assert teacher.seen[-1].shape == images.shape
    assert not np.allclose(teacher.seen[-1], images)


def test_save_load_and_export_of_the_student(tmp_path):
    images, labels = data()
    model = ks.Distillation(teacher_model(), classifier("student", 2), temperature=1.5)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "distill.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ks.Distillation)
    assert (loaded.temperature, loaded.alpha) == (1.5, 0.0)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )
    loaded.fit(images, labels, batch_size=8, epochs=1, verbose=0)  # trains on
    exported = model.export_encoder(str(tmp_path / "student_encoder"))
    served = tf.saved_model.load(exported).signatures["serving_default"](
        images=tf.constant((images * 255).round().astype(np.uint8))
    )
    encoder = model.student.get_layer("student_encoder")
    np.testing.assert_allclose(
        served["representation"],
        encoder(np.round(images * 255) / 255, training=False),
        atol=1e-5,
    )


TWO_REPLICAS = """
import keras_simclr as ks
from keras_simclr import distillation
from tests.tiny_models import tiny_encoder
rng = np.random.default_rng(0)
images = (0.6 * rng.uniform(size=(16, 1, 1, 3))
          + 0.4 * rng.uniform(size=(16, 8, 8, 3))).astype(np.float32)
labels = (np.arange(16) % 4).astype(np.int32)
labels[::3] = -1
with strategy.scope():
    keras.utils.set_random_seed(1)
    teacher = distillation.classifier_student(tiny_encoder(8, name="t_enc"), 4, name="t")
    teacher.get_layer("classifier").kernel.assign(rng.normal(size=(8, 4)) * 2.0)
    keras.utils.set_random_seed(2)
    student = distillation.classifier_student(tiny_encoder(8, name="s_enc"), 4, name="s")
    model = ks.Distillation(teacher, student, temperature=2.0, alpha=0.5,
                            augment=keras.layers.Identity())
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
history = model.fit(images, labels, batch_size=16, epochs=3, shuffle=False, verbose=0)
save(**{f"w{i}": v.numpy() for i, v in enumerate(student.weights)},
     **{k: np.array(v) for k, v in history.history.items()})
"""


def test_two_replicas_equal_one_device():
    single = run_with_replicas(TWO_REPLICAS, 1)
    multi = run_with_replicas(TWO_REPLICAS, 2)
    assert set(single) == set(multi)
    for key in single:
        np.testing.assert_allclose(
            multi[key], single[key], rtol=1e-5, atol=1e-6, err_msg=key
        )
    assert single["loss"][0] > single["loss"][-1]
