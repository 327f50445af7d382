"""Linear evaluation: a linear classifier on the frozen representation h.

The protocol of Chen et al. 2020 (section 4, "linear evaluation"): the
encoder is frozen, and a linear classifier is trained on its output h.
"""

import math
import time

import keras
import tensorflow as tf
from keras import ops

from keras_simclr import backends, errors, recipes
from keras_simclr.evaluation.batches import training_batches
from keras_simclr.evaluation.classifier import classifier, compile_classifier
from keras_simclr.evaluation.divergence import StopOnNonFiniteLoss
from keras_simclr.evaluation.errors import EvaluationError
from keras_simclr.evaluation.features import FrozenEncoder
from keras_simclr.evaluation.inputs import (
    as_dataset,
    check_features_differ,
    check_labels,
    check_test_is_not_train,
    count_classes,
    image_size_for,
    labels_of,
)
from keras_simclr.evaluation.metrics import topk_accuracy

__all__ = ["linear_eval"]


class _FrozenFeatureClassifier(keras.Model):
    """A linear layer on features of a frozen encoder (not tracked here)."""

    def __init__(self, feature_fn, num_classes, weight_decay, **kwargs):
        super().__init__(**kwargs)
        # A plain function: the encoder's variables are not this model's,
        # so the optimizer cannot reach them.
        self._feature_fn = feature_fn
        self.classifier = classifier(num_classes, weight_decay)

    def call(self, images, training=None):
        features = ops.stop_gradient(ops.cast(self._feature_fn(images), "float32"))
        return self.classifier(features)


def _cached_classifier(train_x, train_y, classes, weight_decay, batch_size, seed):
    """(classifier model, batches) of training on features computed once."""
    model = keras.Sequential(
        [keras.Input((train_x.shape[-1],)), classifier(classes, weight_decay)],
        name="linear_eval",
    )
    batches = (
        tf.data.Dataset.from_tensor_slices((train_x, train_y))
        .shuffle(len(train_y), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    return model, batches


def _streaming_classifier(
    frozen, train, num_train, size, classes, weight_decay, batch_size, seed
):
    """(classifier model, batches) of training on augmented images."""
    if frozen.is_saved_model and backends.is_jax():
        raise EvaluationError(
            "augment=True runs the encoder in every training step, and a "
            "SavedModel encoder runs on TensorFlow, not in a step of the jax "
            "backend — pass the run's model.keras, or augment=False, or set "
            "KERAS_BACKEND=tensorflow."
        )
    model = _FrozenFeatureClassifier(
        frozen.call, classes, weight_decay, name="linear_eval"
    )
    batches = training_batches(train, num_train, size, batch_size, True, seed)
    return model, batches


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
    decay, 100 epochs, zero-initialised logits. (The reference's learning
    rate 0.1 is then scaled by its default linear rule to
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
        verbose: Keras `fit` verbosity; its progress lines show the
            classifier's training accuracy, `train_top1`.

    Returns:
        A dict: `top1`, `top5` (test accuracies in [0, 1]), `train_top1`
        (the classifier's training accuracy, as `verbose` shows it),
        `num_classes`, `num_train`, `num_test`, `feature_dim`, `epochs`,
        `batch_size`, `learning_rate`, `momentum`, `nesterov`,
        `weight_decay`, `augment`, `image_size`, `seconds`.

    Raises:
        EvaluationError: data of the wrong form, labels >= `num_classes`,
            test data that is the training data, images of varying
            sizes without `image_size`, or `epochs=0` with `augment`.
        UserInputError: epochs, batch sizes, learning rate, momentum
            (in [0, 1)) or weight decay (>= 0) out of range.
        ModelFileError: a missing or damaged model file.
        NonFiniteLoss: the loss became NaN or infinite (no result).

    Example:

    >>> import numpy as np
    >>> encoder = keras.Sequential(
    ...     [keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> rng = np.random.default_rng(0)
    >>> labels = np.arange(40) % 3
    >>> images = np.zeros((40, 8, 8, 3), np.uint8)
    >>> images[np.arange(40), :, :, labels] = 255  # class = the lit channel
    >>> results = linear_eval(encoder, (images[:30], labels[:30]),
    ...                       (images[30:], labels[30:]), epochs=20, batch_size=10)
    >>> results["top1"], results["feature_dim"]
    (1.0, 3)
    """
    start = time.time()
    epochs = errors.check_positive_int("epochs", epochs, minimum=0)
    batch_size = errors.check_positive_int("batch_size", batch_size)
    feature_batch_size = errors.check_positive_int(
        "feature_batch_size", feature_batch_size
    )
    learning_rate = errors.check_positive_number("learning_rate", learning_rate)
    momentum = errors.check_momentum("momentum", momentum)
    weight_decay = errors.check_positive_number(
        "weight_decay", weight_decay, "Use 0 for none, e.g. 1e-6.", allow_zero=True
    )
    if augment and not epochs:
        raise EvaluationError(
            "epochs=0 with augment=True trains nothing and has no training "
            "accuracy to report — use epochs >= 1, or augment=False."
        )
    check_test_is_not_train(train_data, test_data)
    frozen = FrozenEncoder(encoder)
    train = as_dataset(train_data, "train_data")
    test = as_dataset(test_data, "test_data")
    size = image_size_for(image_size, frozen.size, train)
    test_x, test_y = frozen.features(test, size, feature_batch_size)
    if augment:
        train_y = labels_of(train)
    else:
        train_x, train_y = frozen.features(train, size, feature_batch_size)
        check_features_differ(train_x, train_y, test_x, test_y)
    num_train = len(train_y)
    classes = count_classes(num_classes, test_y, train_y)
    check_labels(test_y, classes, "test_data")
    check_labels(train_y, classes, "train_data")
    steps_per_epoch = math.ceil(num_train / batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=max(1, epochs * steps_per_epoch)
    )
    optimizer = recipes.make_optimizer(
        "momentum" if nesterov else "sgd", schedule, momentum=momentum
    )
    if augment:
        model, batches = _streaming_classifier(
            frozen, train, num_train, size, classes, weight_decay, batch_size, seed
        )
    else:
        model, batches = _cached_classifier(
            train_x, train_y, classes, weight_decay, batch_size, seed
        )
    compile_classifier(model, optimizer, classes)
    history = model.fit(
        batches,
        epochs=epochs,
        verbose=verbose,
        shuffle=False,
        callbacks=[StopOnNonFiniteLoss("linear evaluation", learning_rate)],
    )
    trained = model.get_layer("classifier") if not augment else model.classifier
    test_logits = ops.convert_to_numpy(trained(test_x))
    if augment:
        train_top1 = float(history.history["train_top1"][-1])
    else:
        train_top1 = topk_accuracy(ops.convert_to_numpy(trained(train_x)), train_y, 1)
    return {
        "top1": topk_accuracy(test_logits, test_y, 1),
        "top5": topk_accuracy(test_logits, test_y, 5),
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
