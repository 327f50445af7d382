"""The teacher: a Keras classifier, or one read from a SavedModel."""

import os

import keras
import numpy as np
import tensorflow as tf

from keras_simclr import backends
from keras_simclr.distillation.errors import DistillationError

__all__ = ["SavedModelTeacher", "check_teacher_logits", "teacher_layer"]

#: How far a row's sum may be from 1 for the row to count as probabilities.
_PROBABILITY_TOLERANCE = 1e-3


def teacher_layer(teacher):
    """`teacher` as a Keras layer: itself, or a `SavedModelTeacher` of its path.

    Args:
        teacher: a Keras layer or model, or the path of a SavedModel.

    Returns:
        A Keras layer.

    Raises:
        DistillationError: `teacher` is neither, is a SimCLR model (its
            outputs are representations, not class logits), or ends in a
            softmax (probabilities, not logits).

    Example:

    >>> layer = keras.layers.Dense(3)
    >>> teacher_layer(layer) is layer
    True
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     teacher_layer(keras_simclr.SimCLR(keras.Sequential(
    ...         [keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])))
    ... except DistillationError as error:
    ...     print(error)
    the teacher is a SimCLR model: it outputs representations, not class
    logits — fine-tune it first (keras_simclr.evaluation.finetune) and distil
    the fine-tuned classifier.
    """
    from keras_simclr.model import SimCLR

    if isinstance(teacher, SimCLR):
        raise DistillationError(
            "the teacher is a SimCLR model: it outputs representations, not "
            "class logits — fine-tune it first (keras_simclr.evaluation.finetune) "
            "and distil the fine-tuned classifier."
        )
    if isinstance(teacher, (str, os.PathLike)):
        return SavedModelTeacher(os.fspath(teacher))
    if isinstance(teacher, keras.layers.Layer):
        last = (getattr(teacher, "layers", None) or [teacher])[-1]
        if isinstance(last, keras.layers.Softmax) or (
            getattr(last, "activation", None) is keras.activations.softmax
        ):
            raise _probabilities_error()
        return teacher
    raise DistillationError(
        "teacher must be a Keras classifier (e.g. the model of "
        "keras_simclr.evaluation.finetune) or the path of a SavedModel of "
        f"one, got {type(teacher).__name__} — pass one of these."
    )


def check_teacher_logits(outputs):
    """Refuses a teacher's outputs that are probabilities, not logits.

    Distillation softens the teacher's logits with a temperature; a
    teacher ending in a softmax would be softened twice (targets [.58 .21
    .21] instead of [1 0 0]). Outputs whose every row is non-negative and
    sums to 1 are taken for probabilities.

    Args:
        outputs: the teacher's (batch, classes) outputs on a few images.

    Raises:
        DistillationError: every row is a probability distribution.

    Example:

    >>> check_teacher_logits(np.array([[2.0, -1.0, 0.5]]))
    >>> check_teacher_logits(np.array([[0.7, 0.2, 0.1]]))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.distillation.errors.DistillationError: the teacher outputs
    probabilities (each row is >= 0 and sums to 1), not logits — remove its final
    softmax (e.g. use the model before its Softmax layer, or a Dense layer without
    activation="softmax").
    """
    outputs = np.asarray(outputs, np.float64)
    sums = outputs.sum(axis=-1)
    if (outputs >= 0).all() and np.allclose(sums, 1.0, atol=_PROBABILITY_TOLERANCE):
        raise _probabilities_error()


def _probabilities_error():
    return DistillationError(
        "the teacher outputs probabilities (each row is >= 0 and sums to 1), "
        "not logits — remove its final softmax (e.g. use the model before its "
        'Softmax layer, or a Dense layer without activation="softmax").'
    )


@keras.saving.register_keras_serializable(package="keras_simclr")
class SavedModelTeacher(keras.layers.TFSMLayer):
    """A frozen teacher read from a SavedModel: float images -> logits.

    A `keras.layers.TFSMLayer` (no keras_simclr needed to have written the
    SavedModel) that also picks the logits out of an endpoint returning a
    dict; TensorFlow backend only, as `TFSMLayer` (on JAX: a one-line
    `DistillationError`). It reads what `model.export(path)` writes from a
    fine-tuned Keras classifier (endpoint "serve"), what `tf.saved_model.save` writes
    ("serving_default") and the reference's SimCLRv2 SavedModels (output
    "logits_sup").

    Args:
        filepath: directory of the SavedModel (`gs://` works).
        call_endpoint: endpoint or signature called; None tries "serve"
            then "serving_default".
        output_key: for an endpoint returning a dict, the entry holding the
            logits; None takes "logits_sup", "logits" or the only entry.
        **kwargs: base layer arguments (name, ...).

    Example:

    >>> import tempfile
    >>> import keras
    >>> import numpy as np
    >>> from keras_simclr.distillation import classifier_student
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()], name="encoder")
    >>> teacher = classifier_student(encoder, num_classes=3, name="teacher")
    >>> path = tempfile.mkdtemp() + "/teacher"
    >>> teacher.export(path, verbose=False)
    >>> SavedModelTeacher(path)(tf.zeros((2, 8, 8, 3))).shape
    TensorShape([2, 3])
    """

    def __init__(self, filepath, call_endpoint=None, output_key=None, **kwargs):
        _check_saved_model_dir(filepath)
        if backends.is_jax():
            raise DistillationError(
                f"the teacher {filepath!r} is a SavedModel, which Keras runs on "
                "the tensorflow backend only (TFSMLayer), not jax — distil the "
                "fine-tuned Keras model (its .keras file, keras.saving.load_model), "
                "or set KERAS_BACKEND=tensorflow."
            )
        kwargs.pop("trainable", None)
        if call_endpoint is None:
            call_endpoint = _default_endpoint(filepath)
        try:
            super().__init__(
                filepath, call_endpoint=call_endpoint, trainable=False, **kwargs
            )
        except ValueError as error:
            raise DistillationError(str(error).splitlines()[0]) from None
        self.output_key = output_key

    def call(self, inputs, training=False):
        outputs = super().call(inputs, training=False)
        if not isinstance(outputs, dict):
            return outputs
        key = self.output_key
        if key is None:
            known = [k for k in ("logits_sup", "logits") if k in outputs]
            if known:
                key = known[0]
            elif len(outputs) == 1:
                (key,) = outputs
        if key not in outputs:
            raise DistillationError(
                f"The SavedModel's endpoint returns {sorted(outputs)}, not one "
                "entry of logits — pass output_key=<the entry holding the logits>."
            )
        return outputs[key]

    def get_config(self):
        config = super().get_config()
        config.update(output_key=self.output_key)
        return config


def _check_saved_model_dir(filepath):
    if not tf.io.gfile.exists(os.path.join(filepath, "saved_model.pb")):
        raise DistillationError(
            f"teacher {filepath!r} is not a SavedModel directory (no "
            "saved_model.pb) — export the fine-tuned classifier with "
            "model.export(path)."
        )


def _default_endpoint(filepath):
    loaded = tf.saved_model.load(filepath)
    for name in ("serve", "serving_default"):
        if hasattr(loaded, name) or name in loaded.signatures:
            return name
    raise DistillationError(
        f"the SavedModel {filepath!r} has neither a 'serve' endpoint nor a "
        "'serving_default' signature — pass call_endpoint=<its endpoint>."
    )
