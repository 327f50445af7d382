"""SimCLRv2's third stage: distillation (self-training) of a fine-tuned teacher.

SimCLRv2 (Chen et al., 2020, section 2 and eq. 3) pretrains a big network,
fine-tunes it on a few labels, then trains a student (smaller, or the same
architecture: self-distillation) to match the teacher's softened predictions
on unlabelled images:

    L = T^2 * mean_i CE(softmax(t_i / T), softmax(s_i / T))
        + alpha * mean_{i labelled} CE(y_i, softmax(s_i))

with t the teacher's logits, s the student's and T the temperature. The T^2
factor is the reference's (`add_kd_loss` in google-research/simclr
`tf2/colabs/distillation_self_training.ipynb`, after Hinton et al. 2015): it
keeps the gradients' size independent of T. The paper weighs the two terms
`(1 - alpha, alpha)`; here the distillation term has weight 1 and `alpha`
multiplies the label term, 0 by default (distillation on unlabelled images
only, the paper's main setting).

- `Distillation`: the `keras.Model` whose `train_step` does it;
- `distillation_loss`: the per-image distillation term;
- `SavedModelTeacher`: a teacher read from a SavedModel;
- `self_distillation_student`, `classifier_student`: students;
- `distill`: the stage end to end, with its test accuracy.
"""

import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_simclr import errors, export
from keras_simclr.evaluation.batches import predict_logits, training_batches
from keras_simclr.evaluation.classifier import classifier
from keras_simclr.evaluation.finetuning import finetuning_optimizer
from keras_simclr.evaluation.inputs import (
    as_dataset,
    check_labels,
    image_size_for,
    labels_of,
)
from keras_simclr.evaluation.metrics import topk_accuracy
from keras_simclr.evaluation.subsets import class_balanced_subset
from keras_simclr.layers import RandomResizedCrop
from keras_simclr.layers.augmentation.image_inputs import check_images, to_float32
from keras_simclr.model import deserialize_parts, worker_safe_logs
from keras_simclr.parts import input_image_size

__all__ = [
    "Distillation",
    "DistillationError",
    "SavedModelTeacher",
    "classifier_student",
    "distill",
    "distillation_loss",
    "self_distillation_student",
]


class DistillationError(errors.UserInputError):
    """A user error in distillation's inputs or settings (one-line message).

    Example:

    >>> try:
    ...     distillation_loss([[0.0, 1.0]], [[0.0, 1.0]], temperature=0)
    ... except DistillationError as error:
    ...     print(str(error).split(",")[0])
    temperature must be a finite number > 0
    """


def _checked(check, *args):
    """Runs one of `keras_simclr.errors`' checks; its error as a DistillationError."""
    try:
        return check(*args)
    except errors.UserInputError as error:
        raise DistillationError(str(error)) from None


def _check_temperature(temperature):
    return _checked(
        errors.check_positive_number,
        "temperature",
        temperature,
        "SimCLRv2 distils at temperature=1.0.",
    )


def _check_alpha(alpha):
    return _checked(
        errors.check_positive_number,
        "alpha",
        alpha,
        "Use 0 to distil on unlabelled images only.",
        True,
    )


def distillation_loss(teacher_logits, student_logits, temperature=1.0):
    """Per-image distillation loss: T^2 * CE(softmax(t / T), softmax(s / T)).

    The teacher's probabilities are a constant (`stop_gradient`). Computed in
    float32 whatever the logits' dtype.

    Args:
        teacher_logits: (batch, classes) logits of the teacher.
        student_logits: (batch, classes) logits of the student.
        temperature: T, a finite number > 0.

    Returns:
        float32 tensor (batch,).

    Raises:
        DistillationError: a bad temperature, or logits of different shapes.

    Example:

    >>> distillation_loss(tf.zeros((2, 10)), tf.zeros((2, 10))).numpy().round(5)  # log 10
    array([2.30259, 2.30259], dtype=float32)
    """
    temperature = _check_temperature(temperature)
    teacher_logits = tf.cast(tf.convert_to_tensor(teacher_logits), tf.float32)
    student_logits = tf.cast(tf.convert_to_tensor(student_logits), tf.float32)
    if teacher_logits.shape.rank != 2 or not teacher_logits.shape.is_compatible_with(
        student_logits.shape
    ):
        raise DistillationError(
            f"teacher and student logits must both be (batch, classes), got "
            f"{teacher_logits.shape} and {student_logits.shape} — give the "
            "student a head with as many classes as the teacher."
        )
    targets = tf.stop_gradient(tf.nn.softmax(teacher_logits / temperature))
    return temperature**2 * tf.nn.softmax_cross_entropy_with_logits(
        targets, student_logits / temperature
    )


def _global_sum(value):
    """Sum over the replicas of the strategy (the value itself on one)."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: nothing to reduce
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def _as_layer(teacher):
    if isinstance(teacher, (str, os.PathLike)):
        return SavedModelTeacher(os.fspath(teacher))
    if isinstance(teacher, keras.layers.Layer):
        return teacher
    raise DistillationError(
        "teacher must be a Keras classifier (e.g. the model of "
        "keras_simclr.evaluation.finetune) or the path of a SavedModel of "
        f"one, got {type(teacher).__name__} — pass one of these."
    )


@keras.saving.register_keras_serializable(package="keras_simclr")
class Distillation(keras.Model):
    """Trains a student to match a frozen teacher's softened predictions.

    Each training step converts the batch to float images in [0, 1],
    augments it once (`augment`: by default a random resized crop and a
    horizontal flip, the reference's fine-tuning augmentation), and feeds
    that same batch to the teacher (frozen, inference mode: batch norm uses
    its moving statistics) and to the student (training mode). The loss is
    `distillation_loss` averaged over the global batch, plus `alpha` times
    the cross-entropy with the labels averaged over the labelled images of
    the global batch; each replica minimises its share, so the gradient is
    that of the global loss under any `tf.distribute` strategy.

    Batches given to `fit` are images (uint8 in [0, 255] or float in [0, 1])
    or `(images, labels)`: integer class ids, ids < 0 marking unlabelled
    images (which only the distillation term sees). Calling the model
    returns the student's logits. Metrics: `loss`, `distillation_loss`,
    `teacher_agreement` (student's top class = teacher's), and, with labels,
    `label_loss` and `accuracy` (on the labelled images).

    `teacher.trainable` is set to False. The student is what this stage
    produces: save it (`model.student.save(...)`), export its encoder
    (`model.export_encoder(path)`), or evaluate it. The whole model saves
    to `.keras`; with a SavedModel teacher it reloads with
    `keras.saving.load_model(path, safe_mode=False)` (Keras's rule for
    external SavedModels).

    Args:
        teacher: a Keras classifier mapping float images in [0, 1] to logits
            (the model `keras_simclr.evaluation.finetune` returns), or the
            path of a SavedModel of one (see `SavedModelTeacher`).
        student: a Keras model mapping float images in [0, 1] to logits
            with as many classes as the teacher (`classifier_student`,
            `self_distillation_student`).
        temperature: T > 0 of both softmaxes (SimCLRv2: 1.0).
        alpha: weight >= 0 of the label loss (0: labels unused).
        augment: a layer or callable mapping a batch of float images to one
            augmented batch; None uses `RandomResizedCrop(height, width,
            flip=True)` at the input size; `keras.layers.Identity()` for none.
        **kwargs: base `keras.Model` arguments (name, ...).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()], name="encoder")
    >>> teacher = classifier_student(encoder, num_classes=3, name="teacher")
    >>> distiller = Distillation(teacher, self_distillation_student(teacher))
    >>> distiller.compile(optimizer="sgd")
    >>> images = np.random.default_rng(0).uniform(size=(8, 8, 8, 3)).astype("float32")
    >>> history = distiller.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['distillation_loss', 'loss', 'teacher_agreement']
    """

    def __init__(
        self, teacher, student, temperature=1.0, alpha=0.0, augment=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.temperature = _check_temperature(temperature)
        self.alpha = _check_alpha(alpha)
        if not isinstance(student, keras.layers.Layer):
            raise DistillationError(
                "student must be a Keras model mapping images to logits, e.g. "
                "keras_simclr.distillation.classifier_student(encoder, "
                f"num_classes), got {type(student).__name__} — pass such a model."
            )
        if augment is not None and not callable(augment):
            raise DistillationError(
                f"augment must be a layer or a callable, got {type(augment).__name__} "
                "— pass keras.layers.Identity() for no augmentation."
            )
        self.teacher = _as_layer(teacher)
        self.teacher.trainable = False
        self.student = student
        self._augment_given = augment is not None
        self.augment = augment
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.distillation_tracker = keras.metrics.Mean(name="distillation_loss")
        self.agreement_tracker = keras.metrics.Mean(name="teacher_agreement")
        self.label_loss_tracker = keras.metrics.Mean(name="label_loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    def build(self, input_shape):
        if self.augment is None:
            height, width = input_shape[1], input_shape[2]
            if height is None or width is None:
                raise DistillationError(
                    "The default augmentation needs the image size, and the images "
                    "have none (no static size) — give images of a static size, or "
                    "pass augment="
                    "keras_simclr.layers.RandomResizedCrop(height, width, flip=True)."
                )
            self.augment = RandomResizedCrop(height, width, flip=True, name="augment")
        for part in (self.student, self.teacher):
            if not part.built:
                part.build(input_shape)
        self.built = True

    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.distillation_tracker,
            self.agreement_tracker,
            self.label_loss_tracker,
            self.accuracy_tracker,
        ]

    def call(self, images, training=None):
        """Returns the student's logits of `images`."""
        images = check_images(images)
        return self.student(to_float32(images), training=training)

    def _forward(self, data, training):
        """This replica's share of the global loss; updates the metrics."""
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        images = check_images(images)
        if not self.built:
            # Without a strategy Keras builds nothing before tracing the step.
            self.build(tuple(images.shape))
        images = to_float32(images)
        if training:
            if isinstance(self.augment, keras.layers.Layer):
                images = self.augment(images, training=True)
            else:
                images = self.augment(images)
        teacher_logits = tf.stop_gradient(
            tf.cast(self.teacher(images, training=False), tf.float32)
        )
        student_logits = tf.cast(self.student(images, training=training), tf.float32)
        per_image = distillation_loss(teacher_logits, student_logits, self.temperature)
        count = tf.cast(tf.shape(per_image)[0], tf.float32)
        loss = tf.reduce_sum(per_image) / _global_sum(count)
        self.distillation_tracker.update_state(per_image)
        self.agreement_tracker.update_state(
            tf.cast(
                tf.equal(tf.argmax(student_logits, -1), tf.argmax(teacher_logits, -1)),
                tf.float32,
            )
        )
        if labels is not None:
            loss += self._label_loss(labels, student_logits)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        # Each replica reports its share; their mean times R is the global loss.
        self.loss_tracker.update_state(loss * replicas)
        return loss

    def _label_loss(self, labels, logits):
        labels = tf.reshape(tf.cast(tf.convert_to_tensor(labels), tf.int32), [-1])
        classes = tf.shape(logits)[-1]
        check = tf.debugging.assert_less(
            labels,
            classes,
            message="labels must be < the number of classes of the student "
            "(ids < 0 mark unlabelled images)",
        )
        # The cross-entropy below fails on such labels with its own message;
        # it must wait for the check. (Eagerly the check has already run.)
        with tf.control_dependencies([check] if check is not None else []):
            labels = tf.identity(labels)
        labelled = tf.cast(labels >= 0, tf.float32)
        safe_labels = tf.maximum(labels, 0)
        per_image = tf.nn.sparse_softmax_cross_entropy_with_logits(safe_labels, logits)
        self.label_loss_tracker.update_state(per_image, sample_weight=labelled)
        self.accuracy_tracker.update_state(safe_labels, logits, sample_weight=labelled)
        if not self.alpha:
            return 0.0
        global_labelled = tf.maximum(_global_sum(tf.reduce_sum(labelled)), 1.0)
        return self.alpha * tf.reduce_sum(per_image * labelled) / global_labelled

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self._forward(data, training=True)
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.student.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._logs(data)

    def test_step(self, data):
        self._forward(data, training=False)
        return self._logs(data)

    def _logs(self, data):
        """The metrics' values; the label metrics only for labelled batches."""
        metrics = self.metrics
        if keras.utils.unpack_x_y_sample_weight(data)[1] is None:
            metrics = metrics[:3]
        return worker_safe_logs(self, metrics)

    def get_config(self):
        config = super().get_config()
        serialize = keras.saving.serialize_keras_object
        config.update(
            teacher=serialize(self.teacher),
            student=serialize(self.student),
            temperature=self.temperature,
            alpha=self.alpha,
            augment=serialize(self.augment) if self._augment_given else None,
        )
        return config

    def export_encoder(self, path, **kwargs):
        """Writes the student's encoder as a SavedModel, as `SimCLR` does.

        See `keras_simclr.export.export_encoder`: `serving_default` takes
        uint8 `images` and returns `representation`, the h of the student's
        encoder (its one nested model: the encoder of `classifier_student`
        or of a fine-tuned network). For the whole classifier use Keras:
        `model.student.export(path)` (a `SavedModelTeacher` reads it).

        Args:
            path: directory to write to.
            **kwargs: `image_size`, `options` of `export.export_encoder`.

        Returns:
            `path`, as a string.

        Raises:
            DistillationError: the student holds no single nested encoder.

        Example:

        >>> import os, tempfile
        >>> import keras
        >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
        ...     keras.layers.GlobalAveragePooling2D()], name="encoder")
        >>> teacher = classifier_student(encoder, num_classes=3)
        >>> distiller = Distillation(teacher, self_distillation_student(teacher))
        >>> path = distiller.export_encoder(tempfile.mkdtemp() + "/student_encoder")
        >>> os.path.basename(path)
        'student_encoder'
        """
        encoders = [
            layer
            for layer in getattr(self.student, "layers", [])
            if isinstance(layer, keras.Model)
        ]
        if len(encoders) != 1:
            raise DistillationError(
                f"the student {self.student.name!r} holds {len(encoders)} nested "
                "models, not one encoder — export the one you mean with "
                "keras_simclr.export.export_encoder(encoder, path)."
            )
        return export.export_encoder(
            encoders[0], path, include_projection=False, **kwargs
        )

    @classmethod
    def from_config(cls, config):
        return cls(**deserialize_parts(config, ("teacher", "student", "augment")))


@keras.saving.register_keras_serializable(package="keras_simclr")
class SavedModelTeacher(keras.layers.TFSMLayer):
    """A frozen teacher read from a SavedModel: float images -> logits.

    A `keras.layers.TFSMLayer` (no keras_simclr needed to have written the
    SavedModel) that also picks the logits out of an endpoint returning a
    dict. It reads what `model.export(path)` writes from a fine-tuned Keras
    classifier (endpoint "serve"), what `tf.saved_model.save` writes
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
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()], name="encoder")
    >>> teacher = classifier_student(encoder, num_classes=3, name="teacher")
    >>> path = tempfile.mkdtemp() + "/teacher"
    >>> teacher.export(path, verbose=False)
    >>> SavedModelTeacher(path)(tf.zeros((2, 8, 8, 3))).shape
    TensorShape([2, 3])
    """

    def __init__(self, filepath, call_endpoint=None, output_key=None, **kwargs):
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


def _default_endpoint(filepath):
    if not tf.io.gfile.exists(os.path.join(filepath, "saved_model.pb")):
        raise DistillationError(
            f"teacher {filepath!r} is not a SavedModel directory (no "
            "saved_model.pb) — export the fine-tuned classifier with "
            "model.export(path)."
        )
    loaded = tf.saved_model.load(filepath)
    for name in ("serve", "serving_default"):
        if hasattr(loaded, name) or name in loaded.signatures:
            return name
    raise DistillationError(
        f"the SavedModel {filepath!r} has neither a 'serve' endpoint nor a "
        "'serving_default' signature — pass call_endpoint=<its endpoint>."
    )


def self_distillation_student(teacher):
    """A student of the teacher's architecture, freshly initialised.

    SimCLRv2's self-distillation: the same network (encoder, kept head
    layers and classifier) trained again, from scratch, on the teacher's
    predictions. Built with `keras.models.clone_model`.

    Args:
        teacher: a Keras classifier (e.g. from `evaluation.finetune`).

    Returns:
        A new `keras.Model`, with new weights.

    Raises:
        DistillationError: the teacher is not a Keras model (a SavedModel
            has no architecture to copy: build the student yourself).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()], name="encoder")
    >>> teacher = classifier_student(encoder, num_classes=3, name="teacher")
    >>> student = self_distillation_student(teacher)
    >>> student.output_shape, student.get_weights()[0] is teacher.get_weights()[0]
    ((None, 3), False)
    """
    if not isinstance(teacher, keras.Model):
        raise DistillationError(
            "self_distillation_student copies a Keras model's architecture, got "
            f"{type(teacher).__name__} — for a SavedModel teacher build the "
            "student with classifier_student(encoder, num_classes)."
        )
    return keras.models.clone_model(teacher)


def classifier_student(encoder, num_classes, name="student"):
    """A student: `encoder` (images -> h) then a linear classifier.

    The classifier is zero-initialised, as fine-tuning's.

    Args:
        encoder: a Keras encoder with a static input shape, e.g.
            `keras_simclr.encoders.ResNet(18, input_shape=(32, 32, 3))`.
        num_classes: the teacher's number of classes (>= 2).
        name: the model's name.

    Returns:
        A functional `keras.Model` from images to logits.

    Raises:
        DistillationError: `num_classes` < 2, or an encoder without a static
            input shape.

    Example:

    >>> import keras
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> student = classifier_student(encoder, num_classes=10)
    >>> [layer.name for layer in student.layers][-1], student.output_shape
    ('classifier', (None, 10))
    """
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, (int, np.integer))
        or num_classes < 2
    ):
        raise DistillationError(
            f"num_classes must be an int >= 2, got {num_classes!r} — pass the "
            "number of classes."
        )
    inputs = getattr(encoder, "inputs", None)
    if not isinstance(encoder, keras.layers.Layer) or not inputs:
        raise DistillationError(
            f"encoder must be a Keras model with a static input shape, got "
            f"{type(encoder).__name__} without one — build it on an input, e.g. "
            "keras_simclr.encoders.ResNet(18, input_shape=(32, 32, 3))."
        )
    images = keras.Input(inputs[0].shape[1:], name="images")
    logits = classifier(int(num_classes), 0.0)(encoder(images))
    return keras.Model(images, logits, name=name)


def _check_positive_int(value, name):
    return _checked(errors.check_positive_int, name, value)


def _num_logits(model, size, what):
    logits = model(tf.zeros((1,) + tuple(size) + (3,)), training=False)
    if logits.shape.rank != 2:
        raise DistillationError(
            f"the {what} must map images to (batch, classes) logits, got "
            f"outputs of shape {logits.shape} — end it with a Dense layer of "
            "one logit per class."
        )
    return int(logits.shape[-1])


def distill(
    teacher,
    train_data,
    test_data,
    student=None,
    temperature=1.0,
    alpha=0.0,
    label_fraction=1.0,
    epochs=400,
    batch_size=512,
    learning_rate=None,
    momentum=0.9,
    weight_decay=1e-4,
    optimizer="lars",
    augment=True,
    image_size=None,
    seed=0,
    verbose=0,
):
    """SimCLRv2's distillation stage, end to end; returns the student.

    Trains `student` with `Distillation` on every training image (labelled
    or not), then measures its top-1 and top-5 on `test_data` (and the
    teacher's, for comparison) after `evaluation.eval_preprocess_fn`.
    Defaults follow SimCLRv2 (arXiv 2006.10029, appendix): unlabelled images
    only (`alpha=0`), temperature 1, the pretraining's optimizer (LARS,
    learning rate 0.075 * sqrt(batch size) with a cosine decay to 0, weight
    decay 1e-4, here without warmup) for 400 epochs, random crops and flips.

    Args:
        teacher: a Keras classifier (float images in [0, 1] -> logits), as
            `evaluation.finetune` returns, or the path of a SavedModel of one
            (`SavedModelTeacher`).
        train_data: `(image, label)` dataset or `(images, labels)` arrays;
            labels < 0 mark unlabelled images, which are distilled on too.
        test_data: labelled evaluation data, same forms.
        student: a Keras model (images -> logits with the teacher's number
            of classes); None copies the teacher's architecture
            (`self_distillation_student`, needs a Keras teacher).
        temperature: T > 0 of both softmaxes.
        alpha: weight >= 0 of the label loss; 0 ignores the labels.
        label_fraction: with `alpha > 0`, the labels kept: the class-balanced
            subset `class_balanced_subset(labels, label_fraction,
            seed)`, the one `finetune` trained the teacher on with the same
            seed; the other images count as unlabelled.
        epochs: training epochs over all training images.
        batch_size: batch size (capped at the number of training images).
        learning_rate: None for 0.075 * sqrt(batch) with LARS, 0.05 * batch
            / 256 with momentum.
        momentum: optimizer momentum.
        weight_decay: LARS' (coupled) or SGD's (decoupled) weight decay.
        optimizer: "lars", "momentum" (Nesterov SGD) or a Keras optimizer.
        augment: random resized crop and flip in each step (the same view
            for teacher and student); else the images as they are.
        image_size: int or (height, width); None uses the teacher's static
            input size, else the images' own size.
        seed: seed of the label subset, shuffling and augmentation.
        verbose: Keras `fit` verbosity.

    Returns:
        `(student, results)`: the trained student `keras.Model` (float
        images in [0, 1] -> logits) and a dict with `top1`, `top5` (the
        student's test accuracies), `teacher_top1`, `teacher_top5`,
        `teacher_agreement` (last epoch), `temperature`, `alpha`,
        `label_fraction`, `num_train`, `num_labelled` (labels used),
        `num_classes`, `num_test`, `epochs`, `batch_size`, `learning_rate`,
        `optimizer`, `image_size`, `seconds`.

    Raises:
        DistillationError: bad temperature, alpha, epochs, batch size,
            teacher, student, or test labels >= the teacher's classes.
        EvaluationError: data of the wrong form, a bad `label_fraction` or
            `optimizer`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()], name="encoder")
    >>> teacher = classifier_student(encoder, num_classes=3, name="teacher")
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 256, (12, 8, 8, 3), np.uint8)
    >>> labels = np.arange(12) % 3
    >>> student, results = distill(teacher, (images, labels), (images[:6] // 2, labels[:6]),
    ...                            epochs=1, batch_size=6)
    >>> results["num_train"], results["num_classes"], results["num_test"]
    (12, 3, 6)
    """
    start = time.time()
    temperature = _check_temperature(temperature)
    alpha = _check_alpha(alpha)
    epochs = _check_positive_int(epochs, "epochs")
    batch_size = _check_positive_int(batch_size, "batch_size")
    teacher = _as_layer(teacher)
    train = as_dataset(train_data, "train_data", keep_unlabelled=True)
    test = as_dataset(test_data, "test_data")
    labels = labels_of(train)
    if not len(labels):
        raise DistillationError(
            "train_data holds no image — pass the images to distill on."
        )
    size = image_size_for(image_size, input_image_size(teacher), train)
    classes = _num_logits(teacher, size, "teacher")
    if student is None:
        student = self_distillation_student(teacher)
    student_classes = _num_logits(student, size, "student")
    if student_classes != classes:
        raise DistillationError(
            f"the student has {student_classes} outputs but the teacher "
            f"{classes} classes — give the student a head of {classes} classes."
        )
    test_labels = labels_of(test)
    if not len(test_labels):
        raise DistillationError(
            "test_data holds no labelled image — pass images with labels >= 0."
        )
    check_labels(test_labels, classes, "test_data")
    keep = np.zeros(len(labels), bool)
    if alpha:
        check_labels(labels, classes, "train_data")
        keep[class_balanced_subset(labels, label_fraction, seed, classes)] = True
    elif not 0 < label_fraction <= 1:
        raise DistillationError(
            f"label_fraction must be in (0, 1], got {label_fraction} — pass the "
            "share of labels to use, e.g. 0.1."
        )
    masked = tf.constant(np.where(keep, labels, -1).astype(np.int32))  # -1: unlabelled
    train = train.enumerate().map(lambda i, example: (example[0], masked[i]))
    batch = min(batch_size, len(labels))
    steps = max(1, epochs * math.ceil(len(labels) / batch))
    opt, lr, optimizer_name = finetuning_optimizer(
        optimizer,
        learning_rate,
        0.075 * math.sqrt(batch),
        batch,
        momentum,
        weight_decay,
        steps,
    )
    model = Distillation(
        teacher,
        student,
        temperature=temperature,
        alpha=alpha,
        augment=None if augment else keras.layers.Identity(),
    )
    model.compile(optimizer=opt)
    batches = training_batches(train, len(labels), size, batch, False, seed)
    if not alpha:
        batches = batches.map(lambda images, labels: images)
    history = model.fit(batches, epochs=epochs, verbose=verbose, shuffle=False)
    logits = predict_logits(student, test, len(test_labels), size)
    teacher_logits = predict_logits(
        keras.Sequential([keras.Input(tuple(size) + (3,)), teacher]),
        test,
        len(test_labels),
        size,
    )
    return student, {
        "top1": topk_accuracy(logits, test_labels, 1),
        "top5": topk_accuracy(logits, test_labels, 5),
        "teacher_top1": topk_accuracy(teacher_logits, test_labels, 1),
        "teacher_top5": topk_accuracy(teacher_logits, test_labels, 5),
        "teacher_agreement": float(history.history["teacher_agreement"][-1]),
        "temperature": temperature,
        "alpha": alpha,
        "label_fraction": label_fraction,
        "num_train": int(len(labels)),
        "num_labelled": int(keep.sum()),
        "num_classes": classes,
        "num_test": int(len(test_labels)),
        "epochs": epochs,
        "batch_size": batch,
        "learning_rate": float(lr) if lr is not None else None,
        "optimizer": optimizer_name,
        "image_size": list(size),
        "seconds": round(time.time() - start, 2),
    }
