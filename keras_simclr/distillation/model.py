"""`Distillation`: the `keras.Model` whose training step distils a teacher into a student."""

import keras
from keras import ops

from keras_simclr import backends, export
from keras_simclr.distillation.errors import (
    DistillationError,
    check_alpha,
    check_temperature,
)
from keras_simclr.distillation.loss import distillation_loss
from keras_simclr.distillation.teacher import teacher_layer
from keras_simclr.layers import RandomResizedCrop
from keras_simclr.layers.augmentation.image_inputs import check_images, to_float32
from keras_simclr.model import deserialize_parts

if backends.is_jax():
    from keras_simclr.distillation.jax_step import JaxSteps as _BackendSteps
else:
    from keras_simclr.distillation.tf_step import TensorFlowSteps as _BackendSteps

__all__ = ["Distillation"]


class _LabelledMean(keras.metrics.Mean):
    """A mean over the labelled images: NaN, not 0, while there are none."""

    def result(self):
        return ops.where(self.count > 0, super().result(), float("nan"))


class _LabelledAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy on the labelled images: NaN, not 0, while there are none."""

    def result(self):
        return ops.where(self.count > 0, super().result(), float("nan"))


class _LabelsSeen(keras.callbacks.Callback):
    """Stops `fit` after an epoch without a labelled image while alpha > 0."""

    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy", float("nan"))
        if accuracy != accuracy:  # NaN: no labelled image this epoch
            raise DistillationError(
                f"alpha={self.alpha:g} weights a label loss, but no image of epoch "
                f"{epoch + 1} had a label >= 0 — pass (images, labels) with "
                "class ids for the labelled images, or alpha=0."
            )


@keras.saving.register_keras_serializable(package="keras_simclr")
class Distillation(_BackendSteps, keras.Model):
    """Trains a student to match a frozen teacher's softened predictions.

    Each training step converts the batch to float images in [0, 1],
    augments it once (`augment`: by default a random resized crop and a
    horizontal flip, the reference's fine-tuning augmentation), and feeds
    that same batch to the teacher (frozen, inference mode: batch norm uses
    its moving statistics) and to the student (training mode). The loss is
    `distillation_loss` averaged over the global batch, plus `alpha` times
    the cross-entropy with the labels averaged over the labelled images of
    the global batch; each replica minimises its share, so the gradient is
    that of the global loss under any `tf.distribute` strategy. On JAX the
    step is stateless (`jax_step`) and, under a
    `keras.distribution.DataParallel`, sees the global batch.

    Batches given to `fit` are images (uint8 in [0, 255] or float in [0, 1])
    or `(images, labels)`: integer class ids, ids < 0 marking unlabelled
    images (which only the distillation term sees). Calling the model
    returns the student's logits. Metrics: `loss`, `distillation_loss`,
    `teacher_agreement` (student's top class = teacher's), and, with labels,
    `label_loss` and `accuracy` (on the labelled images; NaN, not a number,
    while no image had a label >= 0). Labels >= the student's classes stop
    `fit` with a one-line `UserInputError`; with `alpha > 0`, so does an
    epoch without a labelled image (`DistillationError`).

    `teacher.trainable` is set to False (`distillation.distill` restores
    it when done). The student is what this stage
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
    >>> from keras_simclr.distillation import classifier_student, self_distillation_student
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
        self.temperature = check_temperature(temperature)
        self.alpha = check_alpha(alpha)
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
        self.teacher = teacher_layer(teacher)
        self.teacher.trainable = False
        self.student = student
        self._augment_given = augment is not None
        self.augment = augment
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.distillation_tracker = keras.metrics.Mean(name="distillation_loss")
        self.agreement_tracker = keras.metrics.Mean(name="teacher_agreement")
        self.label_loss_tracker = _LabelledMean(name="label_loss")
        self.accuracy_tracker = _LabelledAccuracy(name="accuracy")

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
        """This replica's share of the global loss; updates the metrics.

        The maths of both backends' steps (`tf_step`, `jax_step`), in
        `keras.ops`; the backend's step provides the sums over replicas
        (`_global_sum`, `_num_replicas`: one replica on JAX, whose step
        sees the global batch) and the label check (`_checked_labels`).
        """
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
        teacher_logits = ops.stop_gradient(
            ops.cast(self.teacher(images, training=False), "float32")
        )
        student_logits = ops.cast(self.student(images, training=training), "float32")
        per_image = distillation_loss(teacher_logits, student_logits, self.temperature)
        count = ops.cast(ops.shape(per_image)[0], "float32")
        loss = ops.sum(per_image) / self._global_sum(count)
        self.distillation_tracker.update_state(per_image)
        self.agreement_tracker.update_state(
            ops.cast(
                ops.equal(
                    ops.argmax(student_logits, -1), ops.argmax(teacher_logits, -1)
                ),
                "float32",
            )
        )
        if labels is not None:
            loss += self._label_loss(labels, student_logits)
        # Each replica reports its share; their mean times R is the global loss.
        self.loss_tracker.update_state(loss * self._num_replicas())
        return loss

    def _label_loss(self, labels, logits):
        labels = ops.reshape(ops.cast(labels, "int32"), [-1])
        labels = self._checked_labels(labels, ops.shape(logits)[-1])
        labelled = ops.cast(labels >= 0, "float32")
        safe_labels = ops.maximum(labels, 0)
        per_image = ops.sparse_categorical_crossentropy(
            safe_labels, logits, from_logits=True
        )
        self.label_loss_tracker.update_state(per_image, sample_weight=labelled)
        self.accuracy_tracker.update_state(safe_labels, logits, sample_weight=labelled)
        if not self.alpha:
            return 0.0
        global_labelled = ops.maximum(self._global_sum(ops.sum(labelled)), 1.0)
        return self.alpha * ops.sum(per_image * labelled) / global_labelled

    def fit(self, *args, **kwargs):
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if self.alpha:
            callbacks.append(_LabelsSeen(self.alpha))
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def _logs(self, data):
        """The metrics' values; the label metrics only for labelled batches."""
        metrics = self.metrics
        if keras.utils.unpack_x_y_sample_weight(data)[1] is None:
            metrics = metrics[:3]
        return self._metric_logs(metrics)

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
        >>> from keras_simclr.distillation import classifier_student, self_distillation_student
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
