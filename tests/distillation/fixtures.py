"""The distillation tests' tiny images, teacher and students, and the losses in NumPy."""

import keras
import numpy as np

from keras_simclr import distillation
from tests.tiny_models import tiny_encoder

SIZE, CLASSES = 8, 4


def reference_loss(teacher_logits, student_logits, temperature):
    """T^2 * cross-entropy of softmax(t / T) and softmax(s / T), in NumPy."""

    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    p = np.exp(log_softmax(teacher_logits.astype(np.float64) / temperature))
    return -(temperature**2) * (p * log_softmax(student_logits / temperature)).sum(1)


def reference_label_loss(student_logits, labels):
    z = student_logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    labelled = labels >= 0
    return -log_p[labelled, labels[labelled]].mean()


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    images = 0.6 * rng.uniform(size=(n, 1, 1, 3)) + 0.4 * rng.uniform(
        size=(n, SIZE, SIZE, 3)
    )
    labels = (np.arange(n) % CLASSES).astype(np.int32)
    labels[::3] = -1  # unlabelled
    return images.astype(np.float32), labels


def classifier(name, seed):
    keras.utils.set_random_seed(seed)
    return distillation.classifier_student(
        tiny_encoder(SIZE, name=f"{name}_encoder"), CLASSES, name=name
    )


def teacher_model():
    teacher = classifier("teacher", 1)
    dense = teacher.get_layer("classifier")
    dense.kernel.assign(np.random.default_rng(3).normal(size=dense.kernel.shape) * 2.0)
    return teacher
