"""Checks of `distill`'s arguments and data (and of the model's build and export)."""

import keras
import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import distillation
from tests.distillation.fixtures import CLASSES, SIZE, classifier, data, teacher_model


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
