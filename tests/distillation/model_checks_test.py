"""Checks of `Distillation`'s arguments and inputs (and of the loss' and the students')."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import distillation
from tests.distillation.fixtures import CLASSES, SIZE, classifier, data, teacher_model
from tests.tiny_models import tiny_encoder

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize("temperature", [0, -1.0, math.nan, math.inf, "1", True, None])
def test_bad_temperature(temperature):
    with pytest.raises(distillation.DistillationError, match="temperature must be"):
        ks.Distillation(teacher_model(), classifier("s", 2), temperature=temperature)
    with pytest.raises(distillation.DistillationError, match="temperature must be"):
        distillation.distillation_loss(np.zeros((2, 3)), np.zeros((2, 3)), temperature)


@pytest.mark.parametrize("alpha", [-0.1, math.nan, math.inf, "0.5", None])
def test_bad_alpha(alpha):
    with pytest.raises(distillation.DistillationError, match="alpha must be"):
        ks.Distillation(teacher_model(), classifier("s", 2), alpha=alpha)


def test_bad_models_and_shapes(tmp_path):
    teacher = teacher_model()
    with pytest.raises(distillation.DistillationError, match="student must be"):
        ks.Distillation(teacher, "resnet")
    with pytest.raises(distillation.DistillationError, match="teacher must be"):
        ks.Distillation(42, classifier("s", 2))
    with pytest.raises(distillation.DistillationError, match="not a SavedModel"):
        ks.Distillation(str(tmp_path), classifier("s", 2))
    with pytest.raises(distillation.DistillationError, match="augment must be"):
        ks.Distillation(teacher, classifier("s", 2), augment="crop")
    with pytest.raises(distillation.DistillationError, match=r"\(batch, classes\)"):
        distillation.distillation_loss(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(distillation.DistillationError, match="num_classes"):
        distillation.classifier_student(tiny_encoder(SIZE), 1)
    with pytest.raises(distillation.DistillationError, match="static input shape"):
        distillation.classifier_student(keras.layers.Dense(3), 3)
    with pytest.raises(distillation.DistillationError, match="architecture"):
        distillation.self_distillation_student(keras.layers.Dense(3))
    model = ks.Distillation(teacher, classifier("s", 2))
    with pytest.raises(ValueError, match="3 channels"):
        model(np.zeros((2, SIZE, SIZE, 1), np.float32))


def test_labels_beyond_the_classes_fail_in_the_step():
    images, labels = data()
    model = ks.Distillation(
        teacher_model(), classifier("s", 2), augment=keras.layers.Identity()
    )
    model.compile(optimizer="sgd")
    with pytest.raises(ks.errors.UserInputError) as caught:  # one line, no trace
        model.fit(images, labels + CLASSES, batch_size=8, verbose=0)
    assert str(caught.value) == (
        f"labels must be < the number of classes of the student, {CLASSES}, got "
        f"{labels[:8].max() + CLASSES} — pass class ids in 0..classes-1 and ids "
        "< 0 for unlabelled images"
    )
    with pytest.raises(ks.errors.UserInputError, match="labels must be < the"):
        model.evaluate(images, labels + CLASSES, batch_size=8, verbose=0)
    # A dataset: found in the step (TensorFlow) or as batches come (JAX).
    batches = tf.data.Dataset.from_tensor_slices((images, labels + CLASSES)).batch(8)
    with pytest.raises(ks.errors.UserInputError) as caught:
        model.fit(batches, verbose=0)
    assert str(caught.value).startswith(
        f"labels must be < the number of classes of the student, {CLASSES}, got "
        f"{labels[:8].max() + CLASSES} — "
    )
    generator = ((images[i : i + 8], labels[i : i + 8] + CLASSES) for i in (0, 8))
    with pytest.raises(ks.errors.UserInputError, match="labels must be < the"):
        model.fit(generator, verbose=0)
    # XLA drops asserts (TensorFlow with jit_compile=True): checked on the host.
    jitted = ks.Distillation(
        teacher_model(), classifier("s", 2), augment=keras.layers.Identity()
    )
    jitted.compile(optimizer="sgd", jit_compile=True)
    for batches in (
        tf.data.Dataset.from_tensor_slices((images, labels + CLASSES)).batch(8),
        ((images[i : i + 8], labels[i : i + 8] + CLASSES) for i in (0, 8)),
    ):
        with pytest.raises(ks.errors.UserInputError, match="labels must be < the"):
            jitted.fit(batches, verbose=0)
    with pytest.raises(ks.errors.UserInputError, match="labels must be < the"):
        jitted.evaluate(images, labels + CLASSES, batch_size=8, verbose=0)
    history = jitted.fit(images, labels, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_no_accuracy_from_zero_labelled_images():
    images, labels = data()
    teacher, student = teacher_model(), classifier("s", 2)
    model = ks.Distillation(teacher, student, augment=keras.layers.Identity())
    model.compile(optimizer="sgd")
    history = model.fit(images, labels * 0 - 1, batch_size=8, verbose=0)
    assert math.isnan(history.history["accuracy"][0])  # was 0.0
    assert math.isnan(history.history["label_loss"][0])
    assert math.isfinite(history.history["distillation_loss"][0])
    history = model.fit(images, labels, batch_size=8, verbose=0)
    assert 0 <= history.history["accuracy"][0] <= 1
    # With a label loss to learn (alpha > 0), no labelled image is refused.
    model = ks.Distillation(
        teacher, student, alpha=0.5, augment=keras.layers.Identity()
    )
    model.compile(optimizer="sgd")
    for targets in (labels * 0 - 1, None):
        with pytest.raises(distillation.DistillationError) as caught:
            model.fit(images, targets, batch_size=8, verbose=0)
        assert str(caught.value) == (
            "alpha=0.5 weights a label loss, but no image of epoch 1 had a label "
            ">= 0 — pass (images, labels) with class ids for the labelled images, "
            "or alpha=0."
        )
