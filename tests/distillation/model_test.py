"""Distillation (SimCLRv2's third stage): the loss, the step, its inputs."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import distillation
from tests.replicas import run_with_replicas
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


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_distillation_loss_equals_numpy(temperature):
    rng = np.random.default_rng(0)
    t, s = rng.normal(size=(6, 5)) * 3, rng.normal(size=(6, 5)) * 3
    got = distillation.distillation_loss(
        t.astype(np.float32), s.astype(np.float32), temperature
    )
    np.testing.assert_allclose(got, reference_loss(t, s, temperature), rtol=1e-5)
    # Matching the teacher exactly leaves T^2 times its entropy.
    same = distillation.distillation_loss(t, t, temperature)
    assert np.all(same.numpy() <= got.numpy() + 1e-6)


def test_step_loss_equals_numpy_and_only_the_student_learns():
    images, labels = data()
    teacher, student = teacher_model(), classifier("student", 2)
    model = ks.Distillation(
        teacher, student, temperature=2.0, alpha=0.5, augment=keras.layers.Identity()
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    teacher_before = [v.numpy().copy() for v in teacher.variables]
    # One full batch at learning rate 0: the logged loss is the first step's.
    t = teacher(images, training=False).numpy()
    s = student(images, training=True).numpy()
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


def test_random_resized_crop_flips_half_the_images():
    images = np.tile(
        np.arange(16, dtype=np.float32)[None, None, :, None] / 16, (64, 16, 1, 3)
    )
    crop = ks.layers.RandomResizedCrop(
        16, 16, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=True, seed=3
    )
    out = crop(images).numpy()
    flipped = out[:, 0, 0, 0] > out[:, 0, -1, 0]
    np.testing.assert_allclose(out[flipped], images[flipped][:, :, ::-1], atol=1e-6)
    np.testing.assert_allclose(out[~flipped], images[~flipped], atol=1e-6)
    assert 16 < flipped.sum() < 48
    assert ks.layers.RandomResizedCrop.from_config(crop.get_config()).flip


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


# --------------------------------------------------------------- validation


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
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be <"):
        model.fit(images, labels + CLASSES, batch_size=8, verbose=0)


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
