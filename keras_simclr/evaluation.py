"""Evaluation of a pretrained encoder: linear evaluation, fine-tuning, kNN.

Pretraining only matters through the encoder it produces (SPEC section 7):

- `linear_eval`: a linear classifier on the frozen representation h;
- `finetune`: the encoder (and, SimCLRv2, the first layers of its head)
  trained with a classifier on a class-balanced fraction of the labels;
- `knn_accuracy`: weighted k-nearest-neighbour accuracy on normalised
  features, as `keras_simclr.callbacks.KNNMonitor` reports during training.

Data, everywhere: an unbatched `tf.data.Dataset` of `(image, label)` (as
`keras_simclr.data.load` returns) or a tuple `(images, labels)` of NumPy
arrays; images uint8 in [0, 255] or float in [0, 1]. Labels < 0 mark
unlabelled images, which are skipped.
"""

import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_simclr import errors, saving
from keras_simclr import losses as simclr_losses
from keras_simclr import optimizers as simclr_optimizers
from keras_simclr.layers import RandomResizedCrop, SimCLRAugment
from keras_simclr.layers.projection_head import ProjectionHead

__all__ = [
    "EvaluationError",
    "class_balanced_subset",
    "eval_preprocess_fn",
    "extract_features",
    "finetune",
    "knn_accuracy",
    "linear_eval",
]


class EvaluationError(errors.UserInputError):
    """A user error in an evaluation's inputs or settings.

    The message says what is wrong and how to fix it; the command line
    prints it as one line.
    """


def _as_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)):
        return (int(image_size), int(image_size))
    height, width = image_size
    return (int(height), int(width))


def eval_preprocess_fn(image_size):
    """SimCLR's evaluation preprocessing, as a function of one image.

    SPEC section 7: for images whose shorter side is above 32 px, the
    centred box keeping 87.5% of it (with the output's aspect ratio),
    resized to `image_size`; smaller images are only resized (unchanged
    when they already have that size). Pixels end as float32 in [0, 1],
    without mean/std normalisation. It is `SimCLRAugment`'s inference path
    (`training=False`), without the colour, blur and flip stages.

    Args:
        image_size: int or (height, width) of the output.

    Returns:
        A function mapping a (H, W, 3) (or batched) image, uint8 in
        [0, 255] or float in [0, 1], to float32 (height, width, 3) in
        [0, 1]; usable in `tf.data.Dataset.map`.

    Example:

    >>> preprocess = eval_preprocess_fn(224)
    >>> preprocess(tf.zeros((256, 320, 3), tf.uint8)).shape
    TensorShape([224, 224, 3])
    """
    height, width = _as_size(image_size)
    layer = SimCLRAugment(height, width, strength=0.0, blur=False, flip=False)
    return lambda image: layer(image, training=False)


def _as_dataset(data, what, keep_unlabelled=False):
    """(images, labels) arrays or a dataset -> dataset of (labelled) pairs."""
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise EvaluationError(
                f"{what} must yield (image, label) pairs, got elements "
                f"{spec}. Map it with .map(lambda x: (x['image'], x['label']))."
            )
        if spec[0].shape.rank != 3:
            raise EvaluationError(
                f"{what} must be unbatched: images of shape (H, W, 3), got "
                f"{spec[0].shape}. Call .unbatch() on it."
            )
        dataset = data
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = np.asarray(data[0]), np.asarray(data[1])
        if images.ndim != 4 or len(images) != len(labels):
            raise EvaluationError(
                f"{what} as arrays must be (images (N, H, W, 3), labels (N,)), "
                f"got shapes {images.shape} and {labels.shape}."
            )
        dataset = tf.data.Dataset.from_tensor_slices((images, labels.reshape(-1)))
    else:
        raise EvaluationError(
            f"{what} must be a tf.data.Dataset of (image, label) or a tuple "
            f"(images, labels) of arrays, got {type(data).__name__}."
        )
    dataset = dataset.map(lambda image, label: (image, tf.cast(label, tf.int32)))
    if keep_unlabelled:
        return dataset
    return dataset.filter(lambda image, label: label >= 0)


class _FrozenEncoder:
    """An encoder run in inference mode, whatever form it was given in.

    Attributes:
        call: function of float images in [0, 1] -> h (for use in graphs).
        size: the encoder's static (height, width), or None.
    """

    def __init__(self, encoder):
        if isinstance(encoder, (str, os.PathLike)) and os.fspath(encoder).endswith(".keras"):
            encoder = saving.load_model(os.fspath(encoder))
        inner = getattr(encoder, "encoder", None)
        if isinstance(inner, keras.layers.Layer):  # a SimCLR model
            encoder = inner
        self._model = encoder if isinstance(encoder, keras.Model) else None
        if isinstance(encoder, (str, os.PathLike)):
            loaded = _load_saved_encoder(os.fspath(encoder))
            spec = loaded.signatures["serving_default"].structured_input_signature
            size = tuple(spec[1]["images"].shape[1:3])
            self.size = size if None not in size else None
            self.call = lambda images: loaded(images, training=False)["representation"]
        elif isinstance(encoder, keras.layers.Layer):
            inputs = getattr(encoder, "inputs", None)
            size = tuple(inputs[0].shape[1:3]) if inputs else (None, None)
            self.size = size if None not in size else None
            self.call = lambda images: encoder(images, training=False)
        else:
            raise EvaluationError(
                "encoder must be a SimCLR model, a Keras encoder, the path of "
                "its .keras file or of a SavedModel written by export_encoder, got "
                f"{type(encoder).__name__}."
            )
        self._compiled = None

    def features(self, dataset, size, batch_size):
        """h of every image of the eval-preprocessed dataset, and the labels.

        A Keras model runs through `predict`, which distributes it over the
        strategy it was built in (TPU, GPUs).
        """
        labels = _labels_of(dataset)
        if not len(labels):
            raise EvaluationError("The dataset holds no labelled image.")
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
                self._compiled = tf.function(self.call, reduce_retracing=True)
            features = np.concatenate([self._compiled(x).numpy() for x in images])
        return features.astype(np.float32), labels


def _load_saved_encoder(path):
    """tf.saved_model.load, with errors that name the path."""
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


def _check_test_is_not_train(train_data, test_data):
    """Refuses evaluation data that is the training data itself."""
    same = train_data is test_data
    if not same and all(isinstance(d, (tuple, list)) for d in (train_data, test_data)):
        same = np.shape(train_data[0]) == np.shape(test_data[0]) and np.array_equal(
            train_data[0], test_data[0]
        )
    if same:
        raise EvaluationError(_SAME_DATA)


def _check_features_differ(train_x, train_y, test_x, test_y):
    if train_x.shape == test_x.shape and np.array_equal(train_y, test_y) and (
        np.array_equal(train_x, test_x)
    ):
        raise EvaluationError(_SAME_DATA)


_SAME_DATA = (
    "test_data is the training data (the same images): evaluate on held-out "
    "images — a test split, or data.load(..., split='train[:80%]') for "
    "training and split='train[80%:]' for testing."
)


def _target_size(image_size, encoder_size, dataset):
    size = _as_size(image_size) or encoder_size
    if size is None:
        size = tuple(dataset.element_spec[0].shape[:2])
        if None in size:
            raise EvaluationError(
                "The images vary in size and the encoder accepts any size: "
                "pass image_size (the size the encoder was pretrained at)."
            )
    return size


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

    >>> h, y = extract_features(model, (images, labels))
    """
    frozen = _FrozenEncoder(encoder)
    dataset = _as_dataset(data, "data")
    size = _target_size(image_size, frozen.size, dataset)
    return frozen.features(dataset, size, batch_size)


def _topk(logits, labels, k):
    k = min(k, logits.shape[-1])
    top = np.argsort(-logits, axis=-1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=-1)))


def _num_classes(num_classes, *label_arrays):
    if num_classes is not None:
        return int(num_classes)
    return int(max(int(labels.max()) for labels in label_arrays)) + 1


def _check_labels(labels, num_classes, what):
    if labels.size and labels.max() >= num_classes:
        raise EvaluationError(
            f"{what} has label {labels.max()} >= num_classes={num_classes}."
        )


def _training_batches(dataset, count, size, batch_size, augment, seed, cache=False):
    """Shuffled, (optionally) augmented, batched training images in [0, 1].

    The augmentation is fine-tuning's: random resized crop and horizontal
    flip, per image, no colour distortion. `count` examples: stated, so
    that Keras knows the epoch's length.
    """
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    if cache:
        dataset = dataset.cache()
    dataset = dataset.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    if augment:
        crop = RandomResizedCrop(*size, seed=seed)
        flip = keras.layers.RandomFlip("horizontal", seed=seed)

        def preprocess(image):
            return flip(crop(image, training=True), training=True)

    else:
        preprocess = eval_preprocess_fn(size)
    dataset = dataset.map(
        lambda image, label: (preprocess(image), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _classifier(num_classes, weight_decay, name="classifier"):
    # Zero-initialised logits, as the reference's linear evaluation
    # (--zero_init_logits_layer). Its L2 term is wd * sum(w^2) / 2
    # (tf.nn.l2_loss), hence wd / 2 in Keras's L2.
    return keras.layers.Dense(
        num_classes,
        kernel_initializer="zeros",
        kernel_regularizer=(
            keras.regularizers.L2(weight_decay / 2) if weight_decay else None
        ),
        name=name,
        dtype="float32",
    )


def _compile(model, optimizer, num_classes):
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="top1"),
            keras.metrics.SparseTopKCategoricalAccuracy(
                k=min(5, num_classes), name="top5"
            ),
        ],
    )


class _FrozenFeatureClassifier(keras.Model):
    """A linear layer on features of a frozen encoder (not tracked here)."""

    def __init__(self, feature_fn, num_classes, weight_decay, **kwargs):
        super().__init__(**kwargs)
        # A plain function: the encoder's variables are not this model's,
        # so the optimizer cannot reach them.
        self._feature_fn = feature_fn
        self.classifier = _classifier(num_classes, weight_decay)

    def call(self, images, training=None):
        features = tf.stop_gradient(tf.cast(self._feature_fn(images), tf.float32))
        return self.classifier(features)


def linear_eval(
    encoder,
    train_data,
    test_data,
    num_classes=None,
    epochs=100,
    batch_size=512,
    learning_rate=0.1,
    momentum=0.9,
    nesterov=True,
    weight_decay=0.0,
    image_size=None,
    augment=False,
    seed=0,
    feature_batch_size=256,
    verbose=0,
):
    """Linear evaluation: a linear classifier on the frozen representation h.

    The encoder is frozen and runs in inference mode (batch norm uses its
    moving statistics, so it cannot silently adapt to the evaluation data),
    and the classifier reads h, not the projection head. Defaults are the
    reference's CIFAR-10 protocol: SGD with Nesterov momentum 0.9, learning
    rate 0.1 with a cosine decay to 0 and no warmup, batch 512, no weight
    decay, 100 epochs, zero-initialised logits. (The reference's flag
    `--learning_rate=0.1` is then scaled by its default linear rule to
    0.1 * 512 / 256 = 0.2: pass `learning_rate=0.2` to match it exactly.)

    With `augment=False` (default) the features are computed once, after
    `eval_preprocess_fn`, and the classifier is trained on these cached
    features: this is exact, because the encoder is frozen and the
    preprocessing deterministic, and it costs one pass of the encoder
    instead of one per epoch. The cache holds N x d float32 in memory
    (100 MB for CIFAR-10 with ResNet-18, 10 GB for ImageNet with
    ResNet-50). `augment=True` streams instead: it trains on random resized
    crops and flips of the training images, as the reference does, and
    runs the (still frozen) encoder on every batch of every epoch.

    Args:
        encoder: a SimCLR model (its encoder is used), a Keras encoder
            mapping float images in [0, 1] to h, the path of a SimCLR
            model's `.keras` file, or of a SavedModel written by
            `export_encoder`.
        train_data: training `(image, label)` dataset or `(images, labels)`
            arrays.
        test_data: evaluation data, same forms.
        num_classes: number of classes; None uses the largest label + 1.
        epochs: training epochs of the classifier.
        batch_size: classifier batch size.
        learning_rate: peak learning rate of the cosine decay.
        momentum: SGD momentum.
        nesterov: Nesterov momentum.
        weight_decay: L2 coefficient on the classifier's kernel, as the
            reference (`wd * sum(w ** 2) / 2` added to the loss).
        image_size: int or (height, width) fed to the encoder; None uses
            the encoder's static input size, else the images' own size.
        augment: train on augmented images (see above).
        seed: seed of the shuffling and augmentation.
        feature_batch_size: images per encoder call.
        verbose: Keras `fit` verbosity.

    Returns:
        A dict: `top1`, `top5` (test accuracies in [0, 1]), `train_top1`,
        `num_classes`, `num_train`, `num_test`, `feature_dim`, `epochs`,
        `batch_size`, `learning_rate`, `momentum`, `nesterov`,
        `weight_decay`, `augment`, `image_size`, `seconds`.

    Raises:
        EvaluationError: data of the wrong form, labels >= `num_classes`,
            test data that is the training data, or images of varying
            sizes without `image_size`.
        UserInputError: epochs, batch sizes or learning rate out of range.
        ModelFileError: a missing or damaged model file.

    Example:

    >>> results = linear_eval(model, (x_train, y_train), (x_test, y_test))
    >>> results["top1"]
    0.91
    """
    start = time.time()
    epochs = errors.check_positive_int("epochs", epochs, minimum=0)
    batch_size = errors.check_positive_int("batch_size", batch_size)
    feature_batch_size = errors.check_positive_int("feature_batch_size", feature_batch_size)
    learning_rate = errors.check_positive_number("learning_rate", learning_rate)
    _check_test_is_not_train(train_data, test_data)
    frozen = _FrozenEncoder(encoder)
    train = _as_dataset(train_data, "train_data")
    test = _as_dataset(test_data, "test_data")
    size = _target_size(image_size, frozen.size, train)
    test_x, test_y = frozen.features(test, size, feature_batch_size)
    if augment:
        train_y = _labels_of(train)
    else:
        train_x, train_y = frozen.features(train, size, feature_batch_size)
        _check_features_differ(train_x, train_y, test_x, test_y)
    num_train = len(train_y)
    classes = _num_classes(num_classes, test_y, train_y)
    _check_labels(test_y, classes, "test_data")
    _check_labels(train_y, classes, "train_data")
    steps_per_epoch = math.ceil(num_train / batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=max(1, epochs * steps_per_epoch)
    )
    optimizer = keras.optimizers.SGD(schedule, momentum=momentum, nesterov=nesterov)
    if augment:
        model = _FrozenFeatureClassifier(
            frozen.call, classes, weight_decay, name="linear_eval"
        )
        batches = _training_batches(train, num_train, size, batch_size, True, seed)
    else:
        model = keras.Sequential(
            [keras.Input((train_x.shape[-1],)), _classifier(classes, weight_decay)],
            name="linear_eval",
        )
        batches = (
            tf.data.Dataset.from_tensor_slices((train_x, train_y))
            .shuffle(len(train_y), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
    _compile(model, optimizer, classes)
    history = model.fit(batches, epochs=epochs, verbose=verbose, shuffle=False)
    classifier = model.get_layer("classifier") if not augment else model.classifier
    test_logits = classifier(test_x).numpy()
    if augment:
        train_top1 = float(history.history["top1"][-1])
    else:
        train_top1 = _topk(classifier(train_x).numpy(), train_y, 1)
    return {
        "top1": _topk(test_logits, test_y, 1),
        "top5": _topk(test_logits, test_y, 5),
        "train_top1": train_top1,
        "num_classes": classes,
        "num_train": num_train,
        "num_test": int(len(test_y)),
        "feature_dim": int(test_x.shape[-1]),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "momentum": momentum,
        "nesterov": nesterov,
        "weight_decay": weight_decay,
        "augment": augment,
        "image_size": list(size),
        "seconds": round(time.time() - start, 2),
    }


def class_balanced_subset(labels, fraction, seed=0, num_classes=None):
    """Indices of a class-balanced, seeded subset of a labelled dataset.

    With N labelled examples (labels >= 0) in C classes, every class gets
    exactly `max(1, round(fraction * N / C))` examples (all of its examples
    if it has fewer), drawn at random without replacement; the same
    arguments always give the same subset. `fraction=1` keeps everything.
    SimCLR's semi-supervised protocol uses 1% and 10% (on ImageNet the
    reference reads fixed subset files; this draws balanced ones).

    Args:
        labels: int array (N,) of class ids; ids < 0 are never chosen.
        fraction: share of the labelled examples to keep, in (0, 1].
        seed: seed of the draw.
        num_classes: C; None counts the classes present.

    Returns:
        A sorted int64 array of indices into `labels`.

    Raises:
        EvaluationError: `fraction` outside (0, 1].

    Example:

    >>> labels = np.arange(1000) % 10
    >>> len(class_balanced_subset(labels, 0.01))  # 1 per class
    10
    """
    if not 0 < fraction <= 1:
        raise EvaluationError(f"fraction must be in (0, 1], got {fraction}.")
    labels = np.asarray(labels).reshape(-1)
    labelled = np.flatnonzero(labels >= 0)
    if fraction == 1:
        return labelled.astype(np.int64)
    classes = np.unique(labels[labelled])
    count = num_classes or len(classes)
    per_class = max(1, int(math.floor(fraction * len(labelled) / count + 0.5)))
    rng = np.random.default_rng(seed)
    chosen = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        chosen.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _labels_of(dataset):
    return np.fromiter(
        dataset.map(lambda image, label: label).as_numpy_iterator(), dtype=np.int32
    )


def _copy(layer, input_shape):
    """An independent copy of a built layer, with the same weights."""
    copy = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    if not copy.built:
        copy.build(input_shape)
    copy.set_weights(layer.get_weights())
    return copy


def _finetune_network(model_or_encoder, head_layer, size, num_classes):
    """Functional model: encoder copy -> first head layers -> classifier."""
    encoder = getattr(model_or_encoder, "encoder", None)
    head = getattr(model_or_encoder, "projection_head", None)
    if not isinstance(encoder, keras.layers.Layer):
        encoder, head = model_or_encoder, None
    if not isinstance(encoder, keras.layers.Layer):
        raise EvaluationError(
            "finetune needs a SimCLR model or a Keras encoder, got "
            f"{type(model_or_encoder).__name__}."
        )
    if head_layer:
        if not isinstance(head, ProjectionHead):
            raise EvaluationError(
                f"head_layer={head_layer} keeps layers of a ProjectionHead; "
                "it needs a SimCLR model with one (a bare encoder has none)."
            )
        if not 0 <= head_layer <= head.num_layers:
            raise EvaluationError(
                f"head_layer must be in [0, {head.num_layers}], got {head_layer}."
            )
    inputs = keras.Input(tuple(size) + (3,), name="images")
    x = _copy(encoder, (None,) + tuple(size) + (3,))(inputs)
    for i in range(head_layer):
        dense = _copy(head.dense_layers[i], (None, x.shape[-1]))
        x = dense(x)
        x = _copy(head.bn_layers[i], (None, x.shape[-1]))(x)
        if i < head.num_layers - 1:
            x = keras.layers.ReLU(name=f"head_relu_{i}")(x)
    logits = _classifier(num_classes, 0.0)(x)
    return keras.Model(inputs, logits, name="finetuned")


def _make_optimizer(optimizer, learning_rate, lars_lr, batch, momentum,
                    weight_decay, steps):
    """(optimizer, peak learning rate, name) of fine-tuning and distillation.

    "lars" (peak `lars_lr` unless `learning_rate` is given) or "momentum"
    (Nesterov SGD, peak 0.05 * batch / 256 unless given), both with a
    cosine decay to 0 over `steps`; or a Keras optimizer, used as given.
    """
    if not isinstance(optimizer, str):
        return optimizer, learning_rate, type(optimizer).__name__
    if optimizer == "lars":
        lr = learning_rate if learning_rate is not None else lars_lr
        opt = simclr_optimizers.LARS(
            keras.optimizers.schedules.CosineDecay(lr, steps),
            momentum=momentum,
            weight_decay=weight_decay,
            exclude_from_weight_decay=["classifier"],
        )
    elif optimizer == "momentum":
        lr = learning_rate if learning_rate is not None else 0.05 * batch / 256
        opt = keras.optimizers.SGD(
            keras.optimizers.schedules.CosineDecay(lr, steps),
            momentum=momentum,
            nesterov=True,
            weight_decay=weight_decay or None,
        )
    else:
        raise EvaluationError(
            f"optimizer must be 'lars', 'momentum' or a Keras optimizer, "
            f"got {optimizer!r}."
        )
    return opt, lr, optimizer


def _test_logits(model, test, num_test, size):
    """Logits of `model` on the eval-preprocessed images of `test`."""
    preprocess = eval_preprocess_fn(size)
    batches = (
        test.apply(tf.data.experimental.assert_cardinality(num_test))
        .map(lambda image, label: preprocess(image))
        .batch(256)
        .prefetch(tf.data.AUTOTUNE)
    )
    return model.predict(batches, verbose=0)


def finetune(
    model_or_encoder,
    train_data,
    test_data,
    num_classes=None,
    label_fraction=1.0,
    head_layer=0,
    epochs=None,
    batch_size=1024,
    learning_rate=None,
    momentum=0.9,
    weight_decay=0.0,
    optimizer="lars",
    augment=True,
    image_size=None,
    seed=0,
    verbose=0,
):
    """Fine-tunes a pretrained encoder on a class-balanced share of labels.

    Builds a new model (the pretrained one is not modified): a copy of the
    encoder, then, with `head_layer=k` and a SimCLR model, copies of the
    first k layers of its `ProjectionHead` (SimCLRv2 fine-tunes from the
    middle of its 3-layer head: `head_layer=1` is the paper's choice for 1%
    and 10% of the labels, 0 for 100%), then a zero-initialised linear
    classifier; all of it is trained, batch norm in training mode
    (synchronized if the encoder's is).

    Defaults follow SimCLRv2 (arXiv 2006.10029, appendix): LARS with
    momentum 0.9, learning rate 0.005 * sqrt(batch size) (0.16 at batch
    1024) with a cosine decay to 0 and no warmup, no weight decay, batch
    1024, 60 epochs for <= 1% of the labels and 30 otherwise, random
    resized crops and flips only (no colour distortion). SimCLRv1's
    fine-tuning used Nesterov momentum, lr 0.05 * batch / 256:
    `optimizer="momentum", learning_rate=...`. The batch is capped at the
    subset's size (a 1% subset of CIFAR-10 is 500 images).

    The labelled subset is `class_balanced_subset(labels, label_fraction,
    seed)`: exactly `round(label_fraction * N / C)` images per class.

    Args:
        model_or_encoder: a SimCLR model or a Keras encoder (float images
            in [0, 1] -> h).
        train_data: training `(image, label)` dataset or `(images, labels)`
            arrays.
        test_data: evaluation data, same forms.
        num_classes: number of classes; None uses the largest label + 1.
        label_fraction: share of the training labels used, in (0, 1].
        head_layer: number of projection-head layers kept (SimCLRv2).
        epochs: None for the paper's 60 (<= 1%) or 30.
        batch_size: training batch size.
        learning_rate: None for 0.005 * sqrt(batch size) with LARS, and
            0.05 * batch / 256 with momentum.
        momentum: optimizer momentum.
        weight_decay: coupled L2 weight decay (LARS) or decoupled
            (momentum); none in the paper.
        optimizer: "lars", "momentum" (Nesterov SGD) or a Keras optimizer.
        augment: random resized crop and flip of the training images; else
            only `eval_preprocess_fn`.
        image_size: int or (height, width); None uses the encoder's static
            input size, else the images' own size.
        seed: seed of the label subset, the shuffling and augmentation.
        verbose: Keras `fit` verbosity.

    Returns:
        `(model, results)`: the fine-tuned `keras.Model` (float images in
        [0, 1] of `image_size` -> logits) and a dict with `top1`, `top5`
        (test accuracies), `label_fraction`, `num_labelled`, `per_class`,
        `head_layer`, `epochs`, `batch_size`, `learning_rate`, `optimizer`,
        `num_classes`, `num_test`, `image_size`, `seconds`.

    Raises:
        EvaluationError: as `linear_eval`; also `head_layer` out of range
            or without a `ProjectionHead`, an unknown `optimizer`.

    Example:

    >>> classifier, results = finetune(model, train, test, label_fraction=0.01,
    ...                                head_layer=1)
    >>> results["top1"]
    """
    start = time.time()
    batch_size = errors.check_positive_int("batch_size", batch_size)
    if epochs is not None:  # 0 builds the network without training it.
        epochs = errors.check_positive_int("epochs", epochs, minimum=0)
    if learning_rate is not None:
        learning_rate = errors.check_positive_number("learning_rate", learning_rate)
    _check_test_is_not_train(train_data, test_data)
    train = _as_dataset(train_data, "train_data")
    test = _as_dataset(test_data, "test_data")
    labels = _labels_of(train)
    indices = class_balanced_subset(labels, label_fraction, seed, num_classes)
    if label_fraction < 1:
        keep = np.zeros(len(labels), bool)
        keep[indices] = True
        keep = tf.constant(keep)
        train = (
            train.enumerate()
            .filter(lambda i, example: tf.gather(keep, i))
            .map(lambda i, example: example)
        )
    subset_labels = labels[indices]
    size = _target_size(image_size, _FrozenEncoder(model_or_encoder).size, train)
    test_labels = _labels_of(test)
    classes = _num_classes(num_classes, subset_labels, test_labels)
    _check_labels(test_labels, classes, "test_data")
    _check_labels(subset_labels, classes, "train_data")
    num_labelled = len(indices)
    batch = min(batch_size, num_labelled)
    if epochs is None:
        epochs = 60 if label_fraction <= 0.01 else 30
    steps = max(1, epochs * math.ceil(num_labelled / batch))
    opt, lr, optimizer_name = _make_optimizer(
        optimizer, learning_rate, 0.005 * math.sqrt(batch), batch, momentum,
        weight_decay, steps,
    )
    model = _finetune_network(model_or_encoder, head_layer, size, classes)
    _compile(model, opt, classes)
    batches = _training_batches(
        train, num_labelled, size, batch, augment, seed, cache=label_fraction < 1
    )
    model.fit(batches, epochs=epochs, verbose=verbose, shuffle=False)
    logits = _test_logits(model, test, len(test_labels), size)
    return model, {
        "top1": _topk(logits, test_labels, 1),
        "top5": _topk(logits, test_labels, 5),
        "label_fraction": label_fraction,
        "num_labelled": int(num_labelled),
        "per_class": int(np.bincount(subset_labels).max()),
        "head_layer": head_layer,
        "epochs": epochs,
        "batch_size": batch,
        "learning_rate": float(lr) if lr is not None else None,
        "optimizer": optimizer_name,
        "num_classes": classes,
        "num_test": int(len(test_labels)),
        "image_size": list(size),
        "seconds": round(time.time() - start, 2),
    }


def knn_accuracy(
    train_features,
    train_labels,
    test_features,
    test_labels,
    k=200,
    temperature=0.1,
    num_classes=None,
    batch_size=512,
):
    """Weighted k-nearest-neighbour top-1 accuracy on normalised features.

    The monitor of InstDisc (Wu et al., 2018) and solo-learn: features are
    l2-normalised; each test feature's k most cosine-similar training
    features vote for their class with weight exp(similarity /
    temperature); the class with the largest total is the prediction.

    Args:
        train_features: (N, d) features of the labelled bank.
        train_labels: (N,) int class ids.
        test_features: (M, d) features to classify.
        test_labels: (M,) int class ids.
        k: number of neighbours (capped at N).
        temperature: temperature of the vote weights.
        num_classes: None uses the largest label + 1.
        batch_size: test features per similarity matrix.

    Returns:
        The top-1 accuracy, a float in [0, 1].

    Raises:
        UserInputError: a temperature that is not a finite number > 0, or
            k or batch_size below 1.

    Example:

    >>> knn_accuracy(h_train, y_train, h_val, y_val, k=200, temperature=0.1)
    0.83
    """
    temperature = simclr_losses.check_temperature(temperature)
    k = errors.check_positive_int("k", k)
    batch_size = errors.check_positive_int("batch_size", batch_size)
    test_features = np.asarray(test_features)
    bank = tf.math.l2_normalize(tf.cast(train_features, tf.float32), axis=-1)
    bank_labels = tf.cast(tf.reshape(train_labels, [-1]), tf.int32)
    test_labels = np.asarray(test_labels).reshape(-1)
    classes = _num_classes(num_classes, np.asarray(train_labels), test_labels)
    k = min(int(k), int(bank.shape[0]))
    correct = 0
    for start in range(0, len(test_labels), batch_size):
        queries = tf.math.l2_normalize(
            tf.cast(test_features[start : start + batch_size], tf.float32), axis=-1
        )
        similarity = tf.matmul(queries, bank, transpose_b=True)
        top_similarity, top_index = tf.math.top_k(similarity, k=k)
        weights = tf.exp(top_similarity / temperature)
        votes = tf.reduce_sum(
            tf.one_hot(tf.gather(bank_labels, top_index), classes)
            * weights[..., None],
            axis=1,
        )
        predictions = tf.argmax(votes, axis=-1, output_type=tf.int32).numpy()
        correct += int(np.sum(predictions == test_labels[start : start + batch_size]))
    return correct / max(1, len(test_labels))
