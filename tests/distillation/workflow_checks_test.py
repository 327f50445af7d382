"""Checks of `distill`'s arguments and data (and of the model's build and export)."""

import keras
import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import distillation
from tests.distillation.fixtures import CLASSES, SIZE, classifier, data, teacher_model
from tests.tiny_models import tiny_encoder


@pytest.mark.backend_neutral
def test_distill_validates_its_arguments():
    images, labels = data()
    train, test = (images, labels), (images, np.abs(labels))
    teacher = teacher_model()
    cases = [
        (dict(epochs=0), "epochs must be"),
        (dict(batch_size=1.5), "batch_size must be"),
        (dict(temperature=0.0), "temperature must be"),
        (dict(alpha=-1.0), "alpha must be"),
        (dict(label_fraction=0.0), "label_fraction must be|fraction must be"),
        (dict(alpha=1.0, label_fraction=1.5), "fraction must be"),
        (dict(student=classifier("s", 2).layers[1]), "student has 8 outputs"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            distillation.distill(teacher, train, test, **kwargs)
    with pytest.raises(ValueError, match="test_data has label 7"):
        distillation.distill(teacher, train, (images, np.abs(labels) + 4))
    with pytest.raises(ValueError, match="train_data has label"):
        distillation.distill(teacher, (images, labels + 4), test, alpha=1.0)


@pytest.mark.backend_neutral
def test_other_bad_inputs(tmp_path):
    images, labels = data()
    teacher = teacher_model()
    model = ks.Distillation(teacher, classifier("s", 2))
    with pytest.raises(distillation.DistillationError, match="needs the image size"):
        model.build((None, None, None, 3))
    flat = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(CLASSES),
        ]
    )
    with pytest.raises(distillation.DistillationError, match="holds 0 nested models"):
        ks.Distillation(teacher, flat).export_encoder(str(tmp_path / "e"))
    conv = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3)), keras.layers.Conv2D(CLASSES, 1)]
    )
    with pytest.raises(
        distillation.DistillationError, match=r"\(batch, classes\) logits"
    ):
        distillation.distill(
            teacher, (images, labels), (images, np.abs(labels)), student=conv
        )
    with pytest.raises(
        distillation.DistillationError, match="test_data holds no labelled"
    ):
        distillation.distill(teacher, (images, labels), (images, labels * 0 - 1))
    with pytest.raises(
        distillation.DistillationError, match="train_data holds no image"
    ):
        distillation.distill(
            teacher, (images[:0], labels[:0]), (images, np.abs(labels))
        )


@pytest.mark.backend_neutral
def test_teachers_must_output_logits():
    images, labels = data()
    train, test = (images, np.abs(labels)), (images[:8] * 0.5, np.abs(labels[:8]))
    softmax = keras.Sequential([teacher_model(), keras.layers.Softmax()])
    # Softmax inside a Lambda: only the outputs tell.
    hidden = keras.Sequential([teacher_model(), keras.layers.Lambda(keras.ops.softmax)])
    for call in (
        lambda: distillation.distill(softmax, train, test, epochs=1),
        lambda: distillation.distill(hidden, train, test, epochs=1),
        lambda: ks.Distillation(softmax, classifier("s", 2)),
    ):
        with pytest.raises(distillation.DistillationError) as caught:
            call()
        assert str(caught.value) == (
            "the teacher outputs probabilities (each row is >= 0 and sums to 1), "
            "not logits — remove its final softmax (e.g. use the model before its "
            'Softmax layer, or a Dense layer without activation="softmax").'
        )
    simclr = ks.SimCLR(tiny_encoder(SIZE))
    for call in (
        lambda: distillation.distill(simclr, train, test, epochs=1),
        lambda: ks.Distillation(simclr, classifier("s", 2)),
    ):
        with pytest.raises(distillation.DistillationError) as caught:
            call()
        assert str(caught.value) == (
            "the teacher is a SimCLR model: it outputs representations, not class "
            "logits — fine-tune it first (keras_simclr.evaluation.finetune) and "
            "distil the fine-tuned classifier."
        )


@pytest.mark.backend_neutral
def test_distill_leaves_the_callers_teacher_as_it_was():
    images, labels = data()
    train, test = (images, np.abs(labels)), (images[:8] * 0.5, np.abs(labels[:8]))
    teacher = teacher_model()
    before = [v.numpy().copy() for v in teacher.variables]
    trainable = len(teacher.trainable_variables)
    for _ in range(2):  # the second call failed: "not enough values to unpack"
        student, results = distillation.distill(
            teacher, train, test, epochs=1, batch_size=8
        )
        assert teacher.trainable and len(teacher.trainable_variables) == trainable
        assert student.trainable_variables
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, teacher.variables))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        pytest.param(
            dict(momentum=-3),
            "momentum must be a finite number >= 0, got -3",
            marks=pytest.mark.backend_neutral,
        ),
        pytest.param(
            dict(weight_decay=-10),
            "weight_decay must be a finite number >= 0, got -10",
            marks=pytest.mark.backend_neutral,
        ),
        pytest.param(
            dict(learning_rate=3e38, optimizer="momentum"),
            r"the distillation loss is (nan|inf) at epoch \d; training stopped",
            marks=pytest.mark.backend_neutral,
        ),
    ],
)
def test_distill_settings_and_a_diverged_loss(kwargs, message):
    images, labels = data()
    train, test = (images, np.abs(labels)), (images[:8] * 0.5, np.abs(labels[:8]))
    with pytest.raises(
        (distillation.DistillationError, ks.errors.NonFiniteLoss), match=message
    ):
        distillation.distill(
            teacher_model(), train, test, epochs=2, batch_size=8, **kwargs
        )
