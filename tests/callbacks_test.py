"""KNNMonitor: weighted kNN accuracy in History and TensorBoard."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr.callbacks import KNNMonitor
from keras_simclr.errors import UserInputError
from tests.knn_reference import numpy_knn
from tests.random_images import images
from tests.tiny_models import tiny_encoder

SIZE = 8


def _data(n, seed):
    """Class = dominant colour channel, with noise."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 3).astype(np.int32)
    images = rng.uniform(0, 0.6, (n, SIZE, SIZE, 3))
    images[np.arange(n), :, :, labels] += 0.4 * rng.uniform(size=(n, 1, 1))
    return images.astype(np.float32), labels


def _model():
    model = ks.SimCLR(
        tiny_encoder(SIZE),
        projection_head=ks.layers.ProjectionHead(2, output_dim=8),
        augment=keras.layers.GaussianNoise(0.05, seed=1),
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    return model


class TinyClassifier(keras.Model):
    """An encoder (read by KNNMonitor as a SimCLR model's) and logits."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder = tiny_encoder(SIZE)
        self.logits = keras.layers.Dense(3)

    def call(self, images, training=None):
        return self.logits(self.encoder(images, training=training))


def _scalars(log_dir, tag):
    values = []
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.tag == tag:
                    values.append((event.step, float(tf.make_ndarray(value.tensor))))
    return values


@pytest.mark.backend_neutral
def test_knn_accuracy_in_history_and_tensorboard(tmp_path):
    keras.utils.set_random_seed(0)
    bank, val = _data(120, 0), _data(60, 1)
    model = _model()
    monitor = KNNMonitor(
        bank, val, k=10, temperature=0.1, log_dir=str(tmp_path / "logs")
    )
    history = model.fit(
        bank[0], batch_size=40, epochs=2, verbose=0, callbacks=[monitor]
    )
    accuracies = history.history["knn_accuracy"]
    assert len(accuracies) == 2
    features = lambda x: np.asarray(model.encoder(x, training=False))  # noqa: E731
    expected = numpy_knn(
        features(bank[0]), bank[1], features(val[0]), val[1], 10, 0.1, 3
    )
    assert accuracies[-1] == expected
    assert 0.5 < expected <= 1.0
    logged = _scalars(str(tmp_path / "logs" / "knn"), "epoch_knn_accuracy")
    assert [step for step, _ in logged] == [0, 1]
    np.testing.assert_allclose([v for _, v in logged], accuracies, rtol=1e-6)


# A plain classifier with an encoder: the bank is the weights of the epoch.
@pytest.mark.backend_neutral
def test_knn_accuracy_of_the_epochs_weights_on_either_backend():
    keras.utils.set_random_seed(0)
    bank, val = _data(120, 0), _data(60, 1)
    model = TinyClassifier()
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    accuracies = []

    def features(images):
        return np.asarray(model.encoder(images, training=False))

    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: accuracies.append(
            numpy_knn(features(bank[0]), bank[1], features(val[0]), val[1], 10, 0.1, 3)
        )
    )
    monitor = KNNMonitor(bank, val, k=10, temperature=0.1)
    history = model.fit(
        bank[0],
        bank[1],
        batch_size=40,
        epochs=2,
        verbose=0,
        callbacks=[monitor, record],
    )
    assert history.history["knn_accuracy"] == accuracies
    assert 0.5 < accuracies[-1] <= 1.0


@pytest.mark.backend_neutral
def test_every_n_epochs():
    bank, val = _data(60, 0), _data(30, 1)
    model = _model()
    monitor = KNNMonitor(
        tf.data.Dataset.from_tensor_slices(bank), val, k=5, every_n_epochs=2
    )
    history = model.fit(
        bank[0], batch_size=30, epochs=3, verbose=0, callbacks=[monitor]
    )
    assert len(history.history["knn_accuracy"]) == 1
    assert len(history.history["loss"]) == 3


@pytest.mark.backend_neutral
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be >= 1"),
        ({"temperature": 0}, "temperature"),
        ({"every_n_epochs": 0}, "every_n_epochs must be >= 1"),
    ],
)
def test_knn_monitor_uses_the_same_checks(kwargs, message):
    bank = ((images(4) * 255).astype(np.uint8), np.arange(4) % 2)
    with pytest.raises(UserInputError, match=message):
        ks.callbacks.KNNMonitor(bank, bank, **kwargs)


@pytest.mark.backend_neutral
def test_the_knn_temperature_default_has_one_owner():
    import inspect

    from keras_simclr import callbacks, evaluation
    from keras_simclr.evaluation.knn import DEFAULT_KNN_TEMPERATURE

    for function in (evaluation.knn_accuracy, callbacks.KNNMonitor):
        default = inspect.signature(function).parameters["temperature"].default
        assert default is DEFAULT_KNN_TEMPERATURE
