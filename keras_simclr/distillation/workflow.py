"""`distill`: SimCLRv2's distillation stage end to end, with its test accuracy."""

import math
import time

import keras
import numpy as np
import tensorflow as tf

from keras_simclr import errors
from keras_simclr.distillation.errors import (
    DistillationError,
    check_alpha,
    check_temperature,
    checked,
)
from keras_simclr.distillation.model import Distillation
from keras_simclr.distillation.students import self_distillation_student
from keras_simclr.distillation.teacher import check_teacher_logits, teacher_layer
from keras_simclr.evaluation.batches import predict_logits, training_batches
from keras_simclr.evaluation.divergence import StopOnNonFiniteLoss
from keras_simclr.evaluation.finetuning import finetuning_optimizer
from keras_simclr.evaluation.inputs import (
    as_dataset,
    check_labels,
    image_size_for,
    labels_of,
)
from keras_simclr.evaluation.metrics import topk_accuracy
from keras_simclr.evaluation.subsets import class_balanced_subset
from keras_simclr.parts import input_image_size

__all__ = ["distill"]


def _logits(model, size, what):
    """`model`'s outputs on a black and a grey image, checked to be logits."""
    images = np.stack([np.zeros(tuple(size) + (3,), np.float32)] * 2)
    images[1] = 0.5
    logits = keras.ops.convert_to_numpy(model(images, training=False))
    if logits.ndim != 2:
        raise DistillationError(
            f"the {what} must map images to (batch, classes) logits, got "
            f"outputs of shape {logits.shape} — end it with a Dense layer of "
            "one logit per class."
        )
    return logits


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
    The caller's teacher is left as it was (frozen only while distilling).

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
            momentum, weight decay, teacher (a SimCLR model, or one that
            outputs probabilities), student, or test labels >= the
            teacher's classes.
        NonFiniteLoss: the loss became NaN or infinite (no result).
        EvaluationError: data of the wrong form, a bad `label_fraction` or
            `optimizer`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_simclr.distillation import classifier_student
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
    temperature = check_temperature(temperature)
    alpha = check_alpha(alpha)
    epochs = checked(errors.check_positive_int, "epochs", epochs)
    batch_size = checked(errors.check_positive_int, "batch_size", batch_size)
    momentum = checked(errors.check_momentum, "momentum", momentum)
    weight_decay = checked(
        errors.check_positive_number,
        "weight_decay",
        weight_decay,
        "SimCLRv2 distils with 1e-4; 0 for none.",
        True,
    )
    teacher = teacher_layer(teacher)
    train = as_dataset(train_data, "train_data", keep_unlabelled=True)
    test = as_dataset(test_data, "test_data")
    labels = labels_of(train)
    if not len(labels):
        raise DistillationError(
            "train_data holds no image — pass the images to distill on."
        )
    size = image_size_for(image_size, input_image_size(teacher), train)
    teacher_logits = _logits(teacher, size, "teacher")
    # Softmax outputs sum to 1 whatever the image: two plain images tell.
    check_teacher_logits(teacher_logits)
    classes = int(teacher_logits.shape[-1])
    if student is None:
        student = self_distillation_student(teacher)
    student_classes = int(_logits(student, size, "student").shape[-1])
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
    trainable = teacher.trainable  # Distillation freezes it; the caller's again after
    try:
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
        history = model.fit(
            batches,
            epochs=epochs,
            verbose=verbose,
            shuffle=False,
            callbacks=[StopOnNonFiniteLoss("distillation", lr)],
        )
    finally:
        teacher.trainable = trainable
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
