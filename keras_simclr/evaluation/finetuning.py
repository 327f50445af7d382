"""Fine-tuning: the encoder trained with a classifier on a share of the labels.

The semi-supervised protocol of Chen et al. 2020 (section 4) and SimCLRv2
(Chen et al. 2020b, appendix): a copy of the pretrained encoder, and with
SimCLRv2 the first layers of its projection head, trained end to end with
a linear classifier on a class-balanced fraction of the labels.
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf

from keras_simclr import errors, recipes
from keras_simclr.evaluation.batches import predict_logits, training_batches
from keras_simclr.evaluation.classifier import classifier, compile_classifier
from keras_simclr.evaluation.divergence import StopOnNonFiniteLoss
from keras_simclr.evaluation.errors import EvaluationError
from keras_simclr.evaluation.features import FrozenEncoder
from keras_simclr.evaluation.inputs import (
    as_dataset,
    check_labels,
    check_test_is_not_train,
    count_classes,
    image_size_for,
    labels_of,
)
from keras_simclr.evaluation.metrics import topk_accuracy
from keras_simclr.evaluation.subsets import class_balanced_subset
from keras_simclr.layers.projection_head import ProjectionHead
from keras_simclr.parts import copy_layer, split_model

__all__ = ["finetune", "finetuning_network", "finetuning_optimizer"]


def _keep_only(dataset, indices, count):
    """The examples of `dataset` at `indices` (sorted), in order."""
    keep = np.zeros(count, bool)
    keep[indices] = True
    keep = tf.constant(keep)
    return (
        dataset.enumerate()
        .filter(lambda i, example: tf.gather(keep, i))
        .map(lambda i, example: example)
    )


def _check_head_layer(head, head_layer):
    if not isinstance(head, ProjectionHead):
        raise EvaluationError(
            f"head_layer={head_layer} keeps layers of a ProjectionHead, but the "
            "model has none (a bare encoder) — pass a SimCLR model with a "
            "ProjectionHead, or head_layer=0."
        )
    if not 0 <= head_layer <= head.num_layers:
        raise EvaluationError(
            f"head_layer must be in [0, {head.num_layers}], got {head_layer} — "
            "pass the number of head layers to keep."
        )


def finetuning_network(model_or_encoder, head_layer, size, num_classes):
    """The network fine-tuning trains: copies of the pretrained parts.

    A functional model: a copy of the encoder, then copies of the first
    `head_layer` layers of the SimCLR model's `ProjectionHead` (dense,
    batch norm, and ReLU between hidden layers), then a zero-initialised
    linear classifier. The pretrained model is left untouched.

    Args:
        model_or_encoder: a SimCLR model or a Keras encoder.
        head_layer: number of projection-head layers kept (0 for none).
        size: (height, width) of the input images.
        num_classes: number of logits.

    Returns:
        A `keras.Model` of float images in [0, 1] -> logits.

    Raises:
        EvaluationError: not a SimCLR model or Keras encoder, or
            `head_layer` out of range or without a `ProjectionHead`.

    Example:

    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
    ...     keras.layers.GlobalAveragePooling2D()], name="encoder")
    >>> network = finetuning_network(encoder, 0, (8, 8), num_classes=5)
    >>> [layer.name for layer in network.layers], network.output_shape
    (['images', 'encoder', 'classifier'], (None, 5))
    """
    encoder, head = split_model(model_or_encoder)
    if encoder is None:
        raise EvaluationError(
            "finetune needs a SimCLR model or a Keras encoder, got "
            f"{type(model_or_encoder).__name__} — pass one of these."
        )
    if head_layer:
        _check_head_layer(head, head_layer)
    inputs = keras.Input(tuple(size) + (3,), name="images")
    x = copy_layer(encoder, (None,) + tuple(size) + (3,))(inputs)
    for i in range(head_layer):
        dense = copy_layer(head.dense_layers[i], (None, x.shape[-1]))
        x = dense(x)
        x = copy_layer(head.bn_layers[i], (None, x.shape[-1]))(x)
        if i < head.num_layers - 1:
            x = keras.layers.ReLU(name=f"head_relu_{i}")(x)
    logits = classifier(num_classes, 0.0)(x)
    return keras.Model(inputs, logits, name="finetuned")


def finetuning_optimizer(
    optimizer, learning_rate, lars_lr, batch, momentum, weight_decay, steps
):
    """The optimizer of fine-tuning and distillation, with its peak rate.

    "lars" (peak `lars_lr` unless `learning_rate` is given) or "momentum"
    (Nesterov SGD, peak 0.05 * batch / 256 unless given), both with a
    cosine decay to 0 over `steps`, the classifier left out of LARS's
    weight decay; or a Keras optimizer, used as given.

    Args:
        optimizer: "lars", "momentum" or a Keras optimizer.
        learning_rate: the peak learning rate, or None for the default.
        lars_lr: LARS's default peak.
        batch: the batch size.
        momentum: momentum.
        weight_decay: weight decay coefficient.
        steps: steps of the cosine decay.

    Returns:
        `(optimizer, peak learning rate, name)`.

    Raises:
        EvaluationError: an unknown optimizer name.

    Example:

    >>> opt, lr, name = finetuning_optimizer("momentum", None, 0.16, 512, 0.9, 0.0, 100)
    >>> type(opt).__name__, lr, name
    ('SGD', 0.1, 'momentum')
    """
    if not isinstance(optimizer, str):
        return optimizer, learning_rate, type(optimizer).__name__
    if optimizer == "lars":
        lr = learning_rate if learning_rate is not None else lars_lr
    elif optimizer == "momentum":
        lr = learning_rate if learning_rate is not None else 0.05 * batch / 256
    else:
        raise EvaluationError(
            f"optimizer must be 'lars', 'momentum' or a Keras optimizer, "
            f"got {optimizer!r} — pass one of these."
        )
    opt = recipes.make_optimizer(
        optimizer,
        keras.optimizers.schedules.CosineDecay(lr, steps),
        momentum=momentum,
        weight_decay=weight_decay,
        lars_exclude=["classifier"],
    )
    return opt, lr, optimizer


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
        verbose: Keras `fit` verbosity; its progress lines show the
            training accuracy, `train_top1`.

    Returns:
        `(model, results)`: the fine-tuned `keras.Model` (float images in
        [0, 1] of `image_size` -> logits) and a dict with `top1`, `top5`
        (test accuracies), `label_fraction`, `num_labelled`, `per_class`,
        `head_layer`, `epochs`, `batch_size`, `learning_rate`, `optimizer`,
        `num_classes`, `num_test`, `image_size`, `seconds`.

    Raises:
        EvaluationError: as `linear_eval`; also `head_layer` out of range
            or without a `ProjectionHead`, an unknown `optimizer`.
        UserInputError: a momentum outside [0, 1) or a negative weight
            decay.
        NonFiniteLoss: the loss became NaN or infinite (no result).

    Example:

    >>> import numpy as np
    >>> import keras_simclr as ks
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)])
    >>> model = ks.SimCLR(encoder, ks.layers.ProjectionHead(3, hidden_dim=8, output_dim=4),
    ...                   augment=keras.layers.Identity())
    >>> _ = model(np.zeros((1, 8, 8, 3), np.float32))  # builds the head
    >>> images = np.zeros((20, 8, 8, 3), np.uint8)
    >>> labels = np.arange(20) % 2
    >>> finetuned, results = finetune(model, (images, labels), (images[:4] + 1, labels[:4]),
    ...                               label_fraction=0.5, head_layer=1, epochs=1)
    >>> [layer.name for layer in finetuned.layers][-3:]
    ['bn_0', 'head_relu_0', 'classifier']
    """
    start = time.time()
    batch_size = errors.check_positive_int("batch_size", batch_size)
    if epochs is not None:  # 0 builds the network without training it.
        epochs = errors.check_positive_int("epochs", epochs, minimum=0)
    if learning_rate is not None:
        learning_rate = errors.check_positive_number("learning_rate", learning_rate)
    momentum = errors.check_momentum("momentum", momentum)
    weight_decay = errors.check_positive_number(
        "weight_decay", weight_decay, "Use 0 for none, e.g. 1e-6.", allow_zero=True
    )
    check_test_is_not_train(train_data, test_data)
    train = as_dataset(train_data, "train_data")
    test = as_dataset(test_data, "test_data")
    labels = labels_of(train)
    indices = class_balanced_subset(labels, label_fraction, seed, num_classes)
    if label_fraction < 1:
        train = _keep_only(train, indices, len(labels))
    subset_labels = labels[indices]
    size = image_size_for(image_size, FrozenEncoder(model_or_encoder).size, train)
    test_labels = labels_of(test)
    classes = count_classes(num_classes, subset_labels, test_labels)
    check_labels(test_labels, classes, "test_data")
    check_labels(subset_labels, classes, "train_data")
    num_labelled = len(indices)
    batch = min(batch_size, num_labelled)
    if epochs is None:
        epochs = 60 if label_fraction <= 0.01 else 30
    steps = max(1, epochs * math.ceil(num_labelled / batch))
    opt, lr, optimizer_name = finetuning_optimizer(
        optimizer,
        learning_rate,
        0.005 * math.sqrt(batch),
        batch,
        momentum,
        weight_decay,
        steps,
    )
    model = finetuning_network(model_or_encoder, head_layer, size, classes)
    compile_classifier(model, opt, classes)
    batches = training_batches(
        train, num_labelled, size, batch, augment, seed, cache=label_fraction < 1
    )
    model.fit(
        batches,
        epochs=epochs,
        verbose=verbose,
        shuffle=False,
        callbacks=[StopOnNonFiniteLoss("fine-tuning", lr)],
    )
    logits = predict_logits(model, test, len(test_labels), size)
    return model, {
        "top1": topk_accuracy(logits, test_labels, 1),
        "top5": topk_accuracy(logits, test_labels, 5),
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
