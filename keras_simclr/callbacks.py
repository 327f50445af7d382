"""Keras callbacks for monitoring SimCLR pretraining."""

import os

import keras
import tensorflow as tf

from keras_simclr import errors, losses
from keras_simclr.evaluation.features import FrozenEncoder
from keras_simclr.evaluation.inputs import as_dataset, image_size_for
from keras_simclr.evaluation.knn import DEFAULT_KNN_TEMPERATURE, knn_accuracy

__all__ = ["KNNMonitor"]


class KNNMonitor(keras.callbacks.Callback):
    """Weighted kNN accuracy of the encoder's features, every few epochs.

    At the end of every `every_n_epochs`-th epoch, the model's encoder (in
    inference mode, after `evaluation.eval_preprocess_fn`) embeds `train_data`
    into a feature bank and classifies `val_data` by weighted k-nearest
    neighbours on l2-normalised features (`evaluation.knn_accuracy`, the
    monitor of InstDisc and solo-learn). The accuracy is added to the
    epoch's `logs` under `name`, so it appears in the `History` returned by
    `fit`, in callbacks placed after this one (e.g.
    `keras.callbacks.TensorBoard`, `ModelCheckpoint(monitor=name)`) and, with
    `log_dir`, as the TensorBoard scalar `epoch_<name>` in `log_dir/knn`.
    Epochs it skips have no entry, so `history.history[name]` is shorter
    than the epoch count when `every_n_epochs > 1`.

    The bank is recomputed from scratch every time: keep it to a few
    thousand images (a 10k subset of the training split is common).

    Args:
        train_data: the labelled bank: a dataset of `(image, label)` or a
            tuple `(images, labels)` of arrays.
        val_data: the images to classify, same forms.
        k: number of neighbours.
        temperature: temperature of the neighbours' weights exp(sim / T).
        every_n_epochs: run after every n-th epoch (and never otherwise).
        num_classes: None uses the largest label + 1.
        image_size: size fed to the encoder; None uses its static input
            size, else the images' own size.
        batch_size: images per encoder call.
        log_dir: if given, also write TensorBoard summaries there.
        name: key of the metric in `logs`.

    Example:

    >>> import numpy as np
    >>> import keras_simclr as ks
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> model = ks.SimCLR(encoder, ks.layers.ProjectionHead(2, hidden_dim=8, output_dim=4),
    ...                   augment=keras.layers.Identity())
    >>> model.compile(optimizer="sgd")
    >>> images = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 3), np.uint8)
    >>> labels = np.arange(16) % 2
    >>> monitor = KNNMonitor((images, labels), (images, labels), k=1)
    >>> history = model.fit(images / 255, batch_size=8, epochs=2, verbose=0,
    ...                     callbacks=[monitor])
    >>> history.history["knn_accuracy"]  # k=1 on its own bank: each image finds itself
    [1.0, 1.0]
    """

    def __init__(
        self,
        train_data,
        val_data,
        k=200,
        temperature=DEFAULT_KNN_TEMPERATURE,
        every_n_epochs=1,
        num_classes=None,
        image_size=None,
        batch_size=256,
        log_dir=None,
        name="knn_accuracy",
    ):
        super().__init__()
        k = errors.check_positive_int("k", k)
        temperature = losses.check_temperature(temperature)
        every_n_epochs = errors.check_positive_int("every_n_epochs", every_n_epochs)
        batch_size = errors.check_positive_int("batch_size", batch_size)
        self.train_data = as_dataset(train_data, "train_data")
        self.val_data = as_dataset(val_data, "val_data")
        self.k = k
        self.temperature = temperature
        self.every_n_epochs = every_n_epochs
        self.num_classes = num_classes
        self.image_size = image_size
        self.batch_size = batch_size
        self.log_dir = log_dir
        self.name = name
        self._writer = None

    def on_train_begin(self, logs=None):
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(
                os.path.join(self.log_dir, "knn")
            )

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        encoder = FrozenEncoder(self.model)
        size = image_size_for(self.image_size, encoder.size, self.train_data)
        bank, bank_labels = encoder.features(self.train_data, size, self.batch_size)
        val, val_labels = encoder.features(self.val_data, size, self.batch_size)
        accuracy = knn_accuracy(
            bank,
            bank_labels,
            val,
            val_labels,
            k=self.k,
            temperature=self.temperature,
            num_classes=self.num_classes,
        )
        if logs is not None:
            logs[self.name] = accuracy
        if self._writer is not None:
            # tf.summary.scalar needs the tensorboard package; this is the
            # same record (a float32 scalar tagged for the scalars plugin)
            # written with TensorFlow alone.
            metadata = tf.compat.v1.SummaryMetadata()
            metadata.plugin_data.plugin_name = "scalars"
            with self._writer.as_default():
                tf.summary.write(
                    f"epoch_{self.name}",
                    tf.constant(accuracy, tf.float32),
                    step=epoch,
                    metadata=metadata,
                )
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
