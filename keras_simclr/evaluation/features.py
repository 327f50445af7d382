"""The representation h of a frozen encoder, in whatever form it is given.

An encoder reaches evaluation as a SimCLR model, a Keras encoder, the path
of a SimCLR model's `.keras` file or the path of a SavedModel written by
`keras_simclr.export.export_encoder`; `FrozenEncoder` runs any of them in
inference mode (batch norm uses its moving statistics).
"""

import os

import keras
import numpy as np
import tensorflow as tf

from keras_simclr import backends, errors, saving
from keras_simclr.evaluation.errors import EvaluationError
from keras_simclr.evaluation.inputs import as_dataset, image_size_for, labels_of
from keras_simclr.evaluation.preprocessing import eval_preprocess_fn
from keras_simclr.parts import input_image_size, split_model

__all__ = ["FrozenEncoder", "extract_features", "load_saved_encoder"]


def load_saved_encoder(path):
    """Loads a SavedModel written by `export_encoder`, naming the path on error.

    Args:
        path: the SavedModel's directory.

    Returns:
        The loaded object (`tf.saved_model.load`).

    Raises:
        ModelFileError: no SavedModel there, a damaged one, or one without
            a `serving_default` signature.

    Example:

    >>> try:
    ...     load_saved_encoder("/nonexistent/encoder")
    ... except errors.ModelFileError as error:
    ...     print(error)
    no SavedModel at /nonexistent/encoder — check the path (export_encoder writes one).
    """
    if not tf.io.gfile.exists(path):
        raise errors.ModelFileError(
            f"no SavedModel at {path} — check the path (export_encoder writes one)."
        )
    try:
        loaded = tf.saved_model.load(path)
    except (OSError, ValueError, tf.errors.OpError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise errors.ModelFileError(
            f"SavedModel {path} is damaged or incomplete ({first}) — export it again."
        ) from None
    if "serving_default" not in loaded.signatures:
        raise errors.ModelFileError(
            f"SavedModel {path} has no serving_default signature — it was not "
            "written by export_encoder; export the encoder with it."
        )
    return loaded


class FrozenEncoder:
    """An encoder run in inference mode, whatever form it was given in.

    Args:
        encoder: a SimCLR model (its encoder is used), a Keras encoder, the
            path of a SimCLR model's `.keras` file, or of a SavedModel
            written by `export_encoder`.

    Attributes:
        call: function of float images in [0, 1] -> h (for use in graphs
            and, on JAX, in steps: except a SavedModel's).
        is_saved_model: the encoder is a SavedModel, which runs on
            TensorFlow (whatever the Keras backend) but not in a JAX step.
        size: the encoder's (height, width), None for a dimension it
            leaves free.

    Raises:
        EvaluationError: `encoder` is none of these.
        ModelFileError: a missing or damaged model file.

    Example:

    >>> encoder = keras.Sequential(
    ...     [keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> frozen = FrozenEncoder(encoder)
    >>> frozen.size
    (8, 8)
    >>> data = as_dataset((np.full((2, 8, 8, 3), 255, np.uint8), [0, 1]), "data")
    >>> h, labels = frozen.features(data, frozen.size, batch_size=2)
    >>> h.tolist(), labels.tolist()
    ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [0, 1])
    """

    def __init__(self, encoder):
        if isinstance(encoder, (str, os.PathLike)) and os.fspath(encoder).endswith(
            ".keras"
        ):
            encoder = saving.load_model(os.fspath(encoder))
        if isinstance(encoder, (str, os.PathLike)):
            self._model = None
            self.is_saved_model = True
            loaded = load_saved_encoder(os.fspath(encoder))
            spec = loaded.signatures["serving_default"].structured_input_signature
            self.size = tuple(spec[1]["images"].shape[1:3])
            self.call = lambda images: loaded(images, training=False)["representation"]
        else:
            layer, _ = split_model(encoder)
            if layer is None:
                raise EvaluationError(
                    "encoder must be a SimCLR model, a Keras encoder, the path of "
                    "its .keras file or of a SavedModel written by export_encoder, "
                    f"got {type(encoder).__name__} — pass one of these."
                )
            self._model = layer if isinstance(layer, keras.Model) else None
            self.is_saved_model = False
            self.size = input_image_size(layer)
            self.call = lambda images: layer(images, training=False)
        self._compiled = None

    def _compile(self):
        """`call` as a TensorFlow graph, except a Keras layer's on JAX (eager)."""
        if self.is_saved_model or not backends.is_jax():
            return tf.function(self.call, reduce_retracing=True)
        return self.call

    def features(self, dataset, size, batch_size):
        """h of every image of the eval-preprocessed dataset, and the labels.

        A Keras model runs through `predict`, which distributes it over the
        strategy it was built in (TPU, GPUs).

        Args:
            dataset: an unbatched dataset of `(image, label)`.
            size: (height, width) the images are preprocessed to.
            batch_size: images per encoder call.

        Returns:
            `(features, labels)`: float32 array (N, d), int32 array (N,).

        Raises:
            EvaluationError: the dataset holds no labelled image.
        """
        labels = labels_of(dataset)
        if not len(labels):
            raise EvaluationError(
                "The dataset holds no labelled image (all labels < 0) — pass "
                "images with labels >= 0."
            )
        preprocess = eval_preprocess_fn(size)
        images = (
            dataset.apply(tf.data.experimental.assert_cardinality(len(labels)))
            .map(
                lambda image, label: preprocess(image),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
        if self._model is not None:
            features = self._model.predict(images, verbose=0)
        else:
            if self._compiled is None:
                self._compiled = self._compile()
            features = np.concatenate(
                [
                    keras.ops.convert_to_numpy(self._compiled(x))
                    for x in images.as_numpy_iterator()
                ]
            )
        return features.astype(np.float32), labels


def extract_features(encoder, data, image_size=None, batch_size=256):
    """Computes the representation h of every labelled image of `data`.

    The encoder runs in inference mode (batch norm uses its moving
    statistics), after `eval_preprocess_fn`.

    Args:
        encoder: a SimCLR model (its encoder is used), a Keras encoder,
            the path of a SimCLR model's `.keras` file, or of a SavedModel
            written by `export_encoder`.
        data: a dataset of `(image, label)` or a tuple `(images, labels)`.
        image_size: int or (height, width) the encoder expects; None uses
            the encoder's static input size, else the images' own size.
        batch_size: images per encoder call.

    Returns:
        `(features, labels)`: float32 array (N, d) and int32 array (N,).

    Raises:
        EvaluationError: data of the wrong form, no labelled image, or
            images of varying sizes without `image_size`.

    Example:

    >>> encoder = keras.Sequential(
    ...     [keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> images = np.zeros((4, 8, 8, 3), np.uint8)
    >>> h, y = extract_features(encoder, (images, np.array([0, 1, -1, 1])))
    >>> h.shape, y.tolist()
    ((3, 3), [0, 1, 1])
    """
    frozen = FrozenEncoder(encoder)
    dataset = as_dataset(data, "data")
    size = image_size_for(image_size, frozen.size, dataset)
    return frozen.features(dataset, size, batch_size)
