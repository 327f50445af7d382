"""The SimCLR model: a keras.Model whose train_step is contrastive learning.

The step reads top to bottom: the batch, in any of its formats, becomes
one `batch_formats.Batch` and is checked once (`batch_checks`); the two
views are made; encoder and head project them; NT-Xent and the optional
probe give the loss. The hooks Keras calls around the step (fit, the
symbolic build, export) live in `model_hooks`.
"""

import inspect

import keras
from keras import ops

from keras_simclr import (
    backends,
    batch_checks,
    batch_formats,
    errors,
    gradient_cache,
    losses,
)
from keras_simclr import layers as simclr_layers
from keras_simclr.layers.augmentation import simclr_augment
from keras_simclr.layers.augmentation.image_inputs import (
    check_image_shape,
    check_images,
    to_float32,
)
from keras_simclr.layers.projection_head import ProjectionHead
from keras_simclr.model_hooks import KerasHooks, deserialize_parts, worker_safe_logs
from keras_simclr.steps import BackendSteps

# deserialize_parts and worker_safe_logs stay importable from here
# (keras_simclr.distillation.model imports them so).
__all__ = ["SimCLR", "deserialize_parts", "worker_safe_logs"]


@keras.saving.register_keras_serializable(package="keras_simclr")
class SimCLR(KerasHooks, BackendSteps, keras.Model):
    """SimCLR: contrastive pretraining of an encoder with `model.fit`.

    Each training step augments every image twice (on the device), encodes
    both views in one call (so batch norm sees both, as in the reference),
    projects them with the head and minimises NT-Xent (`losses.nt_xent`)
    with the whole global batch as negatives, on TensorFlow (under
    `tf.distribute`) and on JAX (under `keras.distribution`).
    Calling the model returns the representation h, so a trained SimCLR
    model is a feature extractor.

    Batches given to `fit` may be:
    - images (uint8 in [0, 255] or float in [0, 1]), augmented in the step;
    - `(images, labels)`: labels feed the optional online linear probe
      (integer class ids; ids < 0 mark unlabelled images);
    - views computed in `tf.data`: `((view1, view2),)`,
      `((view1, view2), labels)`, `(view1, view2)` with rank-4 views, or a
      dict `{"view1": ..., "view2": ...}`; the step then does not augment;
    - the two random crops of each image, made in `tf.data` from the
      full-resolution image (`keras_simclr.data.pretraining_dataset` does
      it for images not of the model's size): `{"crop1": ..., "crop2":
      ...}`, with or without labels; the step applies the rest of the
      augmentation (`augment(crop, crop=False)`: flip, colour, blur).
    `keras_simclr.batch_formats` reads them, once per step, into one
    `Batch`.

    Metrics: `loss` (the global NT-Xent, see `losses.nt_xent`),
    `contrastive_accuracy` (the positive has the largest logit among the
    2N - 1 candidates), `contrastive_entropy` (entropy of the softmax over
    candidates) and, with labels and `num_classes`, `probe_loss` and
    `probe_accuracy` of a linear classifier trained on `stop_gradient` of
    the chosen features: it learns alongside but does not change the
    encoder. Exclude it from weight decay with LARS'
    `exclude_from_weight_decay=["probe"]`, as the reference does.

    Every batch is checked before it trains anything: shapes and dtypes when
    the step is traced, and in the step float pixels (finite, in [0, 1]),
    probe labels (integers < `num_classes`) and the global batch (>= 2
    images); `fit` and `evaluate` report a failure as a one-line
    `keras_simclr.errors.UserInputError` naming the training step. On
    TensorFlow without XLA the checks are asserts; on JAX and under XLA
    (`jit_compile=True`), where asserts do nothing, the step computes them
    into a record, skips its update when one fails and returns the record,
    which is raised right after the step (`batch_checks.input_record`).

    Backends: on TensorFlow, a `tf.distribute` strategy's replicas each
    hold a share of the batch: NT-Xent gathers the projections of every
    replica, and the encoder's batch norm is synchronized. On JAX, under
    `keras.distribution.set_distribution(keras.distribution.DataParallel())`
    the step runs on the global batch, split over the devices by XLA:
    negatives and batch-norm statistics are global with no gathering. The
    maths is one `keras.ops` implementation; the step itself is per
    backend (`keras_simclr.steps`).

    Large batches in little memory: with `micro_batches=k > 1` a training
    step uses gradient caching (`keras_simclr.gradient_cache`): it encodes
    each replica's batch in k micro-batches without gradients, keeping only
    z; evaluates NT-Xent on all 2N views of the global batch and its gradient
    dL/dz; encodes each micro-batch again under a tape, back-propagates
    dL/dz through it, and applies the summed gradients once. The loss and
    every gradient are those of the whole global batch (all 2N views remain
    each other's negatives) with the activation memory of one micro-batch,
    for one extra forward pass per step. The two views are drawn once per
    step and reused by both passes. Batch norm sees micro-batch statistics,
    precisely: with k micro-batches on R replicas the step equals the
    ordinary step on R x k replicas whose BN is per replica
    (unsynchronized), over micro-batches of N / (R k) images (weights, loss
    and metrics; tested); with synchronized BN, micro-batch i is normalized
    with the statistics of the i-th micro-batches of all R replicas
    (N / k images). The moving statistics change once per step, to
    momentum * old + (1 - momentum) * the mean of the batch statistics of
    all R x k micro-batches, identical on every replica (the ordinary
    step's unsynchronized BN keeps a diverging copy per replica). The
    encoder and head must be deterministic given their inputs and Keras
    seed generators, which both passes replay. Evaluation (`test_step`)
    encodes in micro-batches too, which in inference mode changes nothing
    but the memory.

    Under `MultiWorkerMirroredStrategy`, build the model
    (`model.build((None, height, width, 3))`) inside `strategy.scope()`
    before `fit`: Keras 3's symbolic build fails there on nested batches,
    and a built SimCLR skips it.

    Args:
        encoder: a Keras model mapping images to (batch, d) representations,
            e.g. `keras_simclr.encoders.ResNet(...)`.
        projection_head: a Keras layer mapping h to z; None builds a 3-layer
            `ProjectionHead` of the encoder's width with 128 outputs.
        augment: a layer or callable mapping a batch of images to one
            augmented view, called twice per step; None uses
            `keras_simclr.layers.SimCLRAugment` for the input size (the
            CIFAR-10 preset up to 64 px, the ImageNet one above).
        temperature: NT-Xent temperature T > 0.
        num_classes: number of classes of the online linear probe; None
            disables it.
        probe_layer: features the probe reads: 0 is h, k > 0 the output of
            head layer k (SimCLRv2; needs a `ProjectionHead`).
        micro_batches: k >= 1, the number of micro-batches each replica's
            batch is encoded in (see "Large batches in little memory");
            must divide the per-replica batch; a batch of unknown size (the
            last of an epoch) splits unevenly but needs >= k images per
            replica, or `fit` stops with one line naming the fix. 1 is the
            ordinary step.
        **kwargs: base `keras.Model` arguments (name, ...).

    Example (a tiny encoder; for real runs e.g.
    `keras_simclr.encoders.ResNet(18, cifar_stem=True, input_shape=(32, 32,
    3))` and `keras_simclr.optimizers.LARS`):

    >>> import numpy as np
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
    ...                             keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> model = SimCLR(encoder, temperature=0.5, num_classes=10)
    >>> model.compile(optimizer="sgd")
    >>> images = np.random.randint(0, 256, (8, 8, 8, 3), dtype="uint8")
    >>> history = model.fit(images, np.arange(8), batch_size=8, verbose=0)
    >>> sorted(history.history)  # doctest: +NORMALIZE_WHITESPACE
    ['contrastive_accuracy', 'contrastive_entropy', 'loss', 'probe_accuracy',
     'probe_loss']
    >>> model.predict(images, verbose=0).shape  # h
    (8, 4)
    """

    def __init__(
        self,
        encoder,
        projection_head=None,
        augment=None,
        temperature=losses.DEFAULT_TEMPERATURE,
        num_classes=None,
        probe_layer=0,
        micro_batches=1,
        **kwargs,
    ):
        backends.check_backend()
        super().__init__(**kwargs)
        temperature = losses.check_temperature(temperature)
        if num_classes is not None:
            num_classes = errors.check_positive_int("num_classes", num_classes, 2)
        probe_layer = errors.check_positive_int("probe_layer", probe_layer, 0)
        self.encoder = encoder
        self.projection_head = projection_head or ProjectionHead(name="projection_head")
        if probe_layer > 0 and not isinstance(self.projection_head, ProjectionHead):
            raise errors.UserInputError(
                "probe_layer > 0 reads a middle layer of the head, which needs "
                "a keras_simclr.layers.ProjectionHead."
            )
        self._augment_given = augment is not None
        self.augment = augment
        self.temperature = float(temperature)
        self.num_classes = num_classes
        self.probe_layer = probe_layer
        self.micro_batches = gradient_cache.validate_micro_batches(micro_batches)
        self.probe = (
            keras.layers.Dense(num_classes, name="probe", dtype="float32")
            if num_classes
            else None
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="contrastive_accuracy")
        self.entropy_tracker = keras.metrics.Mean(name="contrastive_entropy")
        self.probe_loss_tracker = keras.metrics.Mean(name="probe_loss")
        self.probe_accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(
            name="probe_accuracy"
        )

    def build(self, input_shape):
        shapes = batch_formats.from_shapes(input_shape)
        input_shape = shapes.parts[0]
        check_image_shape(input_shape)
        if self.augment is None and shapes.views is None:
            self.augment = _default_augment(input_shape)
        if isinstance(self.augment, keras.layers.Layer) and not self.augment.built:
            # Else fit builds it symbolically, which fails on JAX.
            self.augment.build(input_shape)
        if not self.encoder.built:
            self.encoder.build(input_shape)
        h_shape = self.encoder.compute_output_shape(input_shape)
        if not self.projection_head.built:
            self.projection_head.build(h_shape)
        if self.probe is not None and not self.probe.built:
            width = h_shape[-1]
            if self.probe_layer > 0:
                width = self.projection_head.layer_widths(h_shape[-1])[self.probe_layer]
            self.probe.build((None, width))
        self.built = True

    @property
    def metrics(self):
        metrics = [self.loss_tracker, self.accuracy_tracker, self.entropy_tracker]
        if self.probe is not None:
            metrics += [self.probe_loss_tracker, self.probe_accuracy_tracker]
        return metrics

    def call(self, inputs, training=None):
        """Returns the representation h of `inputs` (the first of a pair)."""
        images = check_images(batch_formats.from_data(inputs).parts[0])
        return self.encoder(to_float32(images), training=training)

    def contrastive_and_probe_variables(self):
        """The trainable variables, the probe's apart.

        The probe learns from `stop_gradient` features, so its variables
        get only the probe loss's gradient (and no weight decay).

        Returns:
            `(the other trainable variables, the probe's)`, each in the
            order of `trainable_variables`; the second is empty without
            a probe.

        Example:

        >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
        ...                             keras.layers.Conv2D(4, 3),
        ...                             keras.layers.GlobalAveragePooling2D()])
        >>> model = SimCLR(encoder, num_classes=10)
        >>> model.build((None, 8, 8, 3))
        >>> others, probe = model.contrastive_and_probe_variables()
        >>> [v.name for v in probe], len(others)  # others: conv (2), head (8)
        (['kernel', 'bias'], 10)
        """
        probe = self.probe.trainable_variables if self.probe is not None else []
        probe_ids = {id(v) for v in probe}
        return [v for v in self.trainable_variables if id(v) not in probe_ids], probe

    def _checked(self, data, where):
        """The batch of `data` in one structure, checked once, and its record.

        The record is `batch_checks.input_record`'s where asserts cannot
        run (JAX, XLA), else None: the step returns it with its logs.
        """
        batch = batch_formats.from_data(data)
        self._checked_names = batch.names  # for the host's message
        if backends.is_jax() or self.jit_compile:
            batch = batch_checks.checked_shapes(batch, self.num_classes)
            record = batch_checks.input_record(batch, self.num_classes)
        else:
            batch = batch_checks.checked_batch(batch, self.num_classes, where)
            record = None
        if not self.built:
            # Without a strategy Keras builds nothing before tracing the
            # step, and this step never goes through __call__.
            self.build(batch.build_shape())
        return batch, record

    def _views(self, batch):
        """The two float32 views of a checked batch."""
        if batch.views is not None:
            return [to_float32(view) for view in batch.views]
        if batch.crops is not None:
            return self._views_of_crops(batch.crops)
        if self.augment is None:
            raise errors.UserInputError(
                "This SimCLR model was built on pairs of views and has no "
                "augmentation for plain images: pass augment="
                "keras_simclr.layers.SimCLRAugment(height, width) or give "
                "(view1, view2) pairs."
            )
        # Every augmentation sees float images in [0, 1], whatever came in.
        x = to_float32(batch.images)
        # Views are always random, in evaluation too: the validation loss
        # measures the contrastive task, with BN in inference mode.
        if isinstance(self.augment, keras.layers.Layer):
            return [self.augment(x, training=True) for _ in range(2)]
        return [self.augment(x) for _ in range(2)]

    def _views_of_crops(self, crops):
        accepts_crops = isinstance(self.augment, keras.layers.Layer) and (
            "crop" in inspect.signature(self.augment.call).parameters
        )
        if not accepts_crops:
            raise errors.UserInputError(
                "The batches hold crops made in tf.data ({'crop1', 'crop2'}), "
                f"which need an augment layer taking crop=False, got "
                f"{type(self.augment).__name__}: use keras_simclr.layers."
                "SimCLRAugment, or give whole images or finished views."
            )
        return [
            self.augment(to_float32(crop), training=True, crop=False) for crop in crops
        ]

    def _forward(self, batch, training):
        """Returns this replica's share of the loss and updates the metrics."""
        view1, view2 = self._views(batch)
        n = ops.shape(view1)[0]
        z, probe_features = self._project(
            ops.concatenate([view1, view2], axis=0), training
        )
        return self._loss_and_metrics(z[:n], z[n:], probe_features, batch.labels)

    def _project(self, views, training):
        """Returns (z, the probe's features) of a batch of views."""
        h = self.encoder(views, training=training)
        if isinstance(self.projection_head, ProjectionHead):
            hidden = self.projection_head.hidden_outputs(h, training=training)
            return hidden[-1], hidden[self.probe_layer]
        return self.projection_head(h, training=training), h

    def _loss_and_metrics(self, z1, z2, probe_features, labels):
        """This replica's share of the loss (and probe loss); updates metrics."""
        terms = losses.contrastive_terms(z1, z2, self.temperature)
        loss = terms.replica_loss()
        self.loss_tracker.update_state(loss * backends.replicas_in_sync())
        self.accuracy_tracker.update_state(terms.correct)
        self.entropy_tracker.update_state(terms.entropy)
        if self.probe is not None and labels is not None:
            loss += self._probe_loss(probe_features, labels, terms.global_anchors)
        return loss

    def _probe_loss(self, features, labels, global_anchors):
        labels = ops.convert_to_tensor(labels)
        if len(labels.shape) == 2 and labels.shape[-1] != 1:
            labels = ops.argmax(labels, axis=-1)  # one-hot
        labels = ops.reshape(ops.cast(labels, "int32"), [-1])
        labels = ops.concatenate([labels, labels], axis=0)
        labelled = ops.cast(labels >= 0, "float32")
        safe_labels = ops.maximum(labels, 0)
        logits = self.probe(ops.stop_gradient(ops.cast(features, "float32")))
        per_view = ops.sparse_categorical_crossentropy(
            safe_labels, logits, from_logits=True
        )
        self.probe_loss_tracker.update_state(per_view, sample_weight=labelled)
        self.probe_accuracy_tracker.update_state(
            safe_labels, logits, sample_weight=labelled
        )
        return ops.sum(per_view * labelled) / global_anchors

    def _micro_batch_functions(self, labels):
        """The two functions of a step by gradient caching, and its probe.

        Args:
            labels: the batch's labels, or None.

        Returns:
            `(project, loss, with_probe)`: `project(micro_batch)` gives
            `(z, probe features)`, or `(z,)` when the probe does not train
            on this batch (`with_probe` False); `loss(outputs)`, of the
            outputs of all micro-batches as `gradient_cache.encode`
            returns them, gives the loss and updates the metrics.
        """
        with_probe = self.probe is not None and labels is not None

        def project(micro_batch):
            z, probe_features = self._project(micro_batch, training=True)
            return (z, probe_features) if with_probe else (z,)

        def loss(outputs):
            z1, z2 = outputs[0]
            features = ops.concatenate(outputs[1], axis=0) if with_probe else None
            return self._loss_and_metrics(z1, z2, features, labels)

        return project, loss, with_probe

    def _logs(self):
        return worker_safe_logs(self, self.metrics)

    def get_config(self):
        config = super().get_config()
        serialize = keras.saving.serialize_keras_object
        config.update(
            encoder=serialize(self.encoder),
            projection_head=serialize(self.projection_head),
            augment=serialize(self.augment) if self._augment_given else None,
            temperature=self.temperature,
            num_classes=self.num_classes,
            probe_layer=self.probe_layer,
            micro_batches=self.micro_batches,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(
            **deserialize_parts(config, ("encoder", "projection_head", "augment"))
        )


def _default_augment(input_shape):
    """SimCLRAugment for the input size: CIFAR-10 preset up to 64 px."""
    height, width = input_shape[1], input_shape[2]
    if height is None or width is None:
        raise errors.UserInputError(
            "SimCLR's default augmentation needs the image size: give the "
            "encoder a static input_shape, or pass augment="
            "keras_simclr.layers.SimCLRAugment(height, width)."
        )
    preset = simclr_augment.preset_for_size(max(height, width))
    return simclr_layers.SimCLRAugment.from_preset(preset, height=height, width=width)
