"""The SimCLR model: a keras.Model whose train_step is contrastive learning."""

import inspect

import keras
import tensorflow as tf

from keras_simclr import batch_checks, errors, export, gradient_cache, losses
from keras_simclr import layers as simclr_layers
from keras_simclr.data.crops import CROP_KEYS as CROPS
from keras_simclr.layers.augmentation import simclr_augment
from keras_simclr.layers.augmentation.image_inputs import (
    check_image_shape,
    check_images,
    to_float32,
)
from keras_simclr.layers.projection_head import ProjectionHead


def deserialize_parts(config, keys):
    """A copy of a model's config with its serialized layers at `keys` rebuilt.

    Args:
        config: a `get_config()` dict.
        keys: the entries holding serialized Keras objects (or None).

    Returns:
        A new dict; the entries at `keys` deserialized.

    Example:

    >>> layer = keras.saving.serialize_keras_object(keras.layers.Dense(2))
    >>> type(deserialize_parts({"head": layer}, ["head"])["head"]).__name__
    'Dense'
    """
    config = dict(config)
    for key in keys:
        if config.get(key) is not None:
            config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


def worker_safe_logs(model, metrics):
    """`{name: result}` of `metrics`, in a form `fit` can reduce over workers.

    Keras 3 averages logs over workers with `strategy.reduce(..., axis=0)`,
    which fails on scalars (tensorflow#72388): under
    `MultiWorkerMirroredStrategy` every value gets shape (1,).

    Args:
        model: the model whose `distribute_strategy` is checked.
        metrics: Keras metrics.

    Returns:
        dict of metric name to value.

    Example:

    >>> mean = keras.metrics.Mean(name="loss")
    >>> mean.update_state(2.0)
    >>> float(worker_safe_logs(keras.Sequential(), [mean])["loss"])
    2.0
    """
    logs = {m.name: m.result() for m in metrics}
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


def _split_views_and_labels(data):
    """Unpacks a batch into (x, view_pair or None, labels or None).

    Accepts images, (images, labels), ((view1, view2),), ((view1, view2),
    labels), {"view1": ..., "view2": ...} and {"crop1": ..., "crop2": ...}
    (returned as the dict); a 2-tuple whose second element
    has rank 4 is read as a pair of views, never as (images, labels).
    """
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    if y is not None and getattr(y, "shape", None) is not None and len(y.shape) == 4:
        return (x, y), None
    if isinstance(x, dict) and set(x) == {"view1", "view2"}:
        return (x["view1"], x["view2"]), y
    if isinstance(x, dict) and set(x) == set(CROPS):
        return x, y
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise errors.UserInputError(
                f"A tuple of inputs must be the two views (view1, view2), got "
                f"{len(x)} elements."
            )
        return tuple(x), y
    return x, y


@keras.saving.register_keras_serializable(package="keras_simclr")
class SimCLR(keras.Model):
    """SimCLR: contrastive pretraining of an encoder with `model.fit`.

    Each training step augments every image twice (on the device), encodes
    both views in one call (so batch norm sees both, as in the reference),
    projects them with the head and minimises NT-Xent (`losses.nt_xent`)
    with the whole global batch as negatives under `tf.distribute`.
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
    `keras_simclr.errors.UserInputError` naming the training step. (The
    in-step checks are asserts: no-ops under XLA and on TPUs, so also on
    one GPU with Keras's default `jit_compile="auto"`; compile with
    `jit_compile=False` to have them there.)

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
            must divide the per-replica batch. 1 is the ordinary step.
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
        if isinstance(input_shape, dict) and CROPS[0] in input_shape:
            input_shape = input_shape[CROPS[0]]
        views_given = isinstance(input_shape, dict) or (
            isinstance(input_shape, (tuple, list))
            and isinstance(input_shape[0], (tuple, list))
        )
        if isinstance(input_shape, dict):
            input_shape = input_shape["view1"]
        elif views_given:
            input_shape = input_shape[0]
        check_image_shape(input_shape)
        if self.augment is None and not views_given:
            self.augment = _default_augment(input_shape)
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
        if isinstance(inputs, dict):
            inputs = inputs[CROPS[0] if CROPS[0] in inputs else "view1"]
        elif isinstance(inputs, (tuple, list)):
            inputs = inputs[0]
        inputs = check_images(inputs)
        return self.encoder(to_float32(inputs), training=training)

    def _views(self, x, training):
        if isinstance(x, dict):
            return self._views_of_crops([x[key] for key in CROPS])
        if isinstance(x, tuple):
            views = [
                check_images(view, name) for view, name in zip(x, ("view1", "view2"))
            ]
            return [to_float32(v) for v in views]
        x = check_images(x)
        if self.augment is None:
            raise errors.UserInputError(
                "This SimCLR model was built on pairs of views and has no "
                "augmentation for plain images: pass augment="
                "keras_simclr.layers.SimCLRAugment(height, width) or give "
                "(view1, view2) pairs."
            )
        # Every augmentation sees float images in [0, 1], whatever came in.
        x = to_float32(x)
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
        views = []
        for name, crop in zip(CROPS, crops):
            crop = check_images(crop, name)
            views.append(self.augment(to_float32(crop), training=True, crop=False))
        return views

    def _build_for(self, x):
        if not self.built:
            # Without a strategy Keras builds nothing before tracing the
            # step, and this step never goes through __call__.
            if isinstance(x, dict):
                self.build(tuple(x[CROPS[0]].shape))
            else:
                self.build(
                    tuple(tuple(v.shape) for v in x)
                    if isinstance(x, tuple)
                    else tuple(x.shape)
                )

    def _forward(self, x, labels, training):
        """Returns this replica's share of the loss and updates the metrics."""
        self._build_for(x)
        view1, view2 = self._views(x, training)
        n = tf.shape(view1)[0]
        z, probe_features = self._project(tf.concat([view1, view2], axis=0), training)
        return self._loss_and_metrics(z[:n], z[n:], probe_features, labels)

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
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.loss_tracker.update_state(loss * replicas)
        self.accuracy_tracker.update_state(terms.correct)
        self.entropy_tracker.update_state(terms.entropy)
        if self.probe is not None and labels is not None:
            loss += self._probe_loss(probe_features, labels, terms.global_anchors)
        return loss

    def _probe_loss(self, features, labels, global_anchors):
        labels = tf.convert_to_tensor(labels)
        if labels.shape.rank == 2 and labels.shape[-1] != 1:
            labels = tf.argmax(labels, axis=-1)  # one-hot
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        labels = tf.concat([labels, labels], axis=0)
        labelled = tf.cast(labels >= 0, tf.float32)
        safe_labels = tf.maximum(labels, 0)
        logits = self.probe(tf.stop_gradient(tf.cast(features, tf.float32)))
        per_view = tf.nn.sparse_softmax_cross_entropy_with_logits(safe_labels, logits)
        self.probe_loss_tracker.update_state(per_view, sample_weight=labelled)
        self.probe_accuracy_tracker.update_state(
            safe_labels, logits, sample_weight=labelled
        )
        return tf.reduce_sum(per_view * labelled) / global_anchors

    def train_step(self, data):
        x, labels = _split_views_and_labels(data)
        where = ("training step ", self.optimizer.iterations)
        x, labels = batch_checks.checked_batch(x, labels, self.num_classes, where)
        if self.micro_batches > 1:
            return self._micro_batch_train_step(x, labels)
        with tf.GradientTape() as tape:
            loss = self._forward(x, labels, training=True)
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        if labels is None and self.probe is not None:
            probe_ids = {id(v) for v in self.probe.trainable_variables}
            variables = [v for v in variables if id(v) not in probe_ids]
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._logs()

    def _micro_batch_train_step(self, x, labels):
        """train_step by gradient caching; see `micro_batches`."""
        self._build_for(x)
        views = self._views(x, training=True)
        with_probe = self.probe is not None and labels is not None
        probe = self.probe.trainable_variables if self.probe is not None else []
        probe_ids = {id(v) for v in probe}
        variables = [v for v in self.trainable_variables if id(v) not in probe_ids]
        probe_variables = probe if with_probe else []

        def project(batch):
            z, probe_features = self._project(batch, training=True)
            return (z, probe_features) if with_probe else (z,)

        def scaled_loss(outputs):
            z1, z2 = outputs[0]
            features = tf.concat(outputs[1], axis=0) if with_probe else None
            loss = self._loss_and_metrics(z1, z2, features, labels)
            return self.optimizer.scale_loss(loss)

        gradients, probe_gradients = gradient_cache.gradients(
            project,
            scaled_loss,
            views,
            self.micro_batches,
            variables,
            loss_variables=probe_variables,
            state_variables=self._encoding_state(),
        )
        self.optimizer.apply_gradients(
            zip(gradients + probe_gradients, variables + probe_variables)
        )
        return self._logs()

    def _encoding_state(self):
        """Non-trainable variables of encoder and head (BN statistics, seeds)."""
        variables = (
            self.encoder.non_trainable_variables
            + self.projection_head.non_trainable_variables
        )
        return list({id(v): v for v in variables}.values())

    def test_step(self, data):
        x, labels = _split_views_and_labels(data)
        where = ("an evaluation batch",)
        x, labels = batch_checks.checked_batch(x, labels, self.num_classes, where)
        if self.micro_batches > 1:
            self._micro_batch_test_step(x, labels)
        else:
            self._forward(x, labels, training=False)
        return self._logs()

    def _micro_batch_test_step(self, x, labels):
        # In inference mode the micro-batches give the whole batch's values.
        self._build_for(x)
        outputs = gradient_cache.encode(
            lambda batch: self._project(batch, training=False),
            self._views(x, training=False),
            self.micro_batches,
        )
        z1, z2 = outputs[0]
        self._loss_and_metrics(z1, z2, tf.concat(outputs[1], axis=0), labels)

    def fit(self, *args, **kwargs):
        # Bad pixels or labels are found inside the compiled step; they
        # surface as one-line errors rather than TensorFlow's trace.
        with errors.graph_errors_as_user_errors():
            return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        with errors.graph_errors_as_user_errors():
            return super().evaluate(*args, **kwargs)

    def _logs(self):
        return worker_safe_logs(self, self.metrics)

    def _multi_worker(self):
        return isinstance(
            self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy
        )

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Overrides a private hook of Keras's TensorFlow trainer (Keras
        # 3.15: `fit` and `evaluate` call it with the epoch iterator before
        # the first step); Keras has no public way to check or skip the
        # build it does. tests/test_model.py fails if the hook changes.
        # Under MultiWorkerMirroredStrategy, Keras 3 reduces one input batch
        # across workers to build the model symbolically, which fails on
        # nested batches such as ((view1, view2), labels). A built model
        # needs none of it.
        if self.built and self._multi_worker():
            return
        if iterator is not None and self._distribute_strategy is not None:
            # Keras averages the first batch over the replicas to build,
            # which fails on replicas of unequal batches: check it first.
            for _, _, batches in iterator:
                first = next(batches)
                break
            x, _ = _split_views_and_labels(first)
            batch_checks.check_replica_batches(
                x[0] if isinstance(x, tuple) else x, self.distribute_strategy
            )
            iterator = [(None, None, iter([first]))]
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

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

    def export_encoder(self, path, include_projection=True, **kwargs):
        """Writes the encoder (and head) as a TensorFlow SavedModel.

        See `keras_simclr.export.export_encoder`: a `serving_default`
        signature taking uint8 `images` and returning `representation`,
        `projection` and the head's intermediate outputs; it loads, serves
        and fine-tunes without keras_simclr.

        Args:
            path: directory to write to.
            include_projection: also export the projection head's outputs.
            **kwargs: `image_size`, `options` of `export.export_encoder`.

        Returns:
            `path`, as a string.

        Example:

        >>> import os, tempfile
        >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
        ...                             keras.layers.Conv2D(4, 3),
        ...                             keras.layers.GlobalAveragePooling2D()])
        >>> model = SimCLR(encoder)
        >>> model.build((None, 8, 8, 3))
        >>> path = model.export_encoder(
        ...     os.path.join(tempfile.mkdtemp(), "saved_encoder"))
        >>> loaded = tf.saved_model.load(path)
        >>> outputs = loaded.signatures["serving_default"](
        ...     images=tf.zeros((2, 8, 8, 3), tf.uint8))
        >>> outputs["representation"].shape
        TensorShape([2, 4])
        """
        return export.export_encoder(self, path, include_projection, **kwargs)


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
