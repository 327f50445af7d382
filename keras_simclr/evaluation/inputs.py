"""The data an evaluation is given: its forms, its labels, its checks.

Data, everywhere in evaluation: an unbatched `tf.data.Dataset` of
`(image, label)` (as `keras_simclr.data.load` returns) or a tuple
`(images, labels)` of NumPy arrays; images uint8 in [0, 255] or float in
[0, 1]. Labels < 0 mark unlabelled images, which are skipped.
"""

import numpy as np
import tensorflow as tf

from keras_simclr.evaluation.errors import EvaluationError
from keras_simclr.parts import as_image_size

__all__ = [
    "as_dataset",
    "check_features_differ",
    "check_labels",
    "check_test_is_not_train",
    "count_classes",
    "image_size_for",
    "labels_of",
]

_SAME_DATA = (
    "test_data is the training data (the same images): evaluate on held-out "
    "images — a test split, or data.load(..., split='train[:80%]') for "
    "training and split='train[80%:]' for testing."
)


def as_dataset(data, what, keep_unlabelled=False):
    """Evaluation data in either form as a dataset of (image, int32 label).

    Args:
        data: a dataset of `(image, label)` pairs or a tuple
            `(images, labels)` of arrays.
        what: the argument's name, for messages (`"train_data"`).
        keep_unlabelled: keep the images of label < 0 (else dropped).

    Returns:
        An unbatched `tf.data.Dataset` of `(image, label)`, labels int32.

    Raises:
        EvaluationError: elements that are not (image, label) pairs,
            batched images, or arrays of mismatched lengths.

    Example:

    >>> images = np.zeros((3, 4, 4, 3), np.uint8)
    >>> dataset = as_dataset((images, np.array([0, -1, 1])), "data")
    >>> [int(label) for _, label in dataset]
    [0, 1]
    """
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise EvaluationError(
                f"{what} must yield (image, label) pairs, got elements "
                f"{spec} — map it with .map(lambda x: (x['image'], x['label']))."
            )
        if spec[0].shape.rank != 3:
            raise EvaluationError(
                f"{what} must be unbatched: images of shape (H, W, 3), got "
                f"{spec[0].shape} — call .unbatch() on it."
            )
        dataset = data
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = np.asarray(data[0]), np.asarray(data[1])
        if images.ndim != 4 or len(images) != len(labels):
            raise EvaluationError(
                f"{what} as arrays must be (images (N, H, W, 3), labels (N,)), "
                f"got shapes {images.shape} and {labels.shape} — give one "
                "label per image."
            )
        dataset = tf.data.Dataset.from_tensor_slices((images, labels.reshape(-1)))
    else:
        raise EvaluationError(
            f"{what} must be a tf.data.Dataset of (image, label) or a tuple "
            f"(images, labels) of arrays, got {type(data).__name__} — pass "
            "data.load(...) or (images, labels)."
        )
    dataset = dataset.map(lambda image, label: (image, tf.cast(label, tf.int32)))
    if keep_unlabelled:
        return dataset
    return dataset.filter(lambda image, label: label >= 0)


def labels_of(dataset):
    """The labels of a dataset of (image, label), in order.

    Args:
        dataset: a dataset of `(image, label)`, e.g. from `as_dataset`.

    Returns:
        An int32 array (N,).

    Example:

    >>> labels_of(as_dataset((np.zeros((2, 4, 4, 3)), [1, 0]), "data"))
    array([1, 0], dtype=int32)
    """
    return np.fromiter(
        dataset.map(lambda image, label: label).as_numpy_iterator(), dtype=np.int32
    )


def image_size_for(image_size, encoder_size, dataset):
    """The (height, width) an evaluation feeds the encoder.

    Args:
        image_size: the size asked for (int or (height, width)), or None.
        encoder_size: the encoder's static (height, width), None entries
            (or None) when it accepts any size.
        dataset: the images, a dataset of `(image, label)`.

    Returns:
        `image_size` if given, else the encoder's size if fully static,
        else the images' own size.

    Raises:
        EvaluationError: none of these is known (images of varying sizes
            and an encoder that accepts any size).

    Example:

    >>> data = as_dataset((np.zeros((2, 24, 24, 3)), [0, 1]), "data")
    >>> image_size_for(None, (16, 16), data), image_size_for(None, (None, None), data)
    ((16, 16), (24, 24))
    """
    size = as_image_size(image_size)
    if size is None and encoder_size is not None and None not in encoder_size:
        size = tuple(encoder_size)
    if size is None:
        size = tuple(dataset.element_spec[0].shape[:2])
        if None in size:
            raise EvaluationError(
                "The images vary in size and the encoder accepts any size, so "
                "the size to evaluate at is unknown — pass image_size (the size "
                "the encoder was pretrained at)."
            )
    return size


def count_classes(num_classes, *label_arrays):
    """The number of classes: as given, else the largest label + 1.

    Args:
        num_classes: the number given, or None.
        *label_arrays: int arrays of labels.

    Returns:
        An int.

    Example:

    >>> count_classes(None, np.array([0, 3]), np.array([1]))
    4
    """
    if num_classes is not None:
        return int(num_classes)
    return int(max(int(labels.max()) for labels in label_arrays)) + 1


def check_labels(labels, num_classes, what):
    """Refuses labels outside [0, num_classes).

    Args:
        labels: an int array of labels (unlabelled ones already dropped).
        num_classes: the number of classes.
        what: the data's name, for the message.

    Raises:
        EvaluationError: a label >= `num_classes`.

    Example:

    >>> check_labels(np.array([0, 2]), 3, "test_data")  # fine: no output
    """
    if labels.size and labels.max() >= num_classes:
        raise EvaluationError(
            f"{what} has label {labels.max()} >= num_classes={num_classes} — "
            "pass a larger num_classes, or leave it out to count the labels."
        )


def check_test_is_not_train(train_data, test_data):
    """Refuses evaluation data that is the training data itself.

    Catches the same object, or arrays of equal images; datasets are
    compared later, on their features (`check_features_differ`).

    Args:
        train_data: the training data, either form.
        test_data: the evaluation data, either form.

    Raises:
        EvaluationError: the test images are the training images.

    Example:

    >>> data = (np.zeros((2, 4, 4, 3)), [0, 1])
    >>> check_test_is_not_train(data, (np.ones((2, 4, 4, 3)), [0, 1]))  # fine
    """
    same = train_data is test_data
    if not same and all(isinstance(d, (tuple, list)) for d in (train_data, test_data)):
        same = np.shape(train_data[0]) == np.shape(test_data[0]) and np.array_equal(
            train_data[0], test_data[0]
        )
    if same:
        raise EvaluationError(_SAME_DATA)


def check_features_differ(train_x, train_y, test_x, test_y):
    """Refuses test features and labels equal to the training ones.

    Args:
        train_x, train_y: training features and labels.
        test_x, test_y: test features and labels.

    Raises:
        EvaluationError: both are equal (the test set is the training set).

    Example:

    >>> x, y = np.eye(2), np.array([0, 1])
    >>> check_features_differ(x, y, 2 * x, y)  # fine: no output
    """
    if (
        train_x.shape == test_x.shape
        and np.array_equal(train_y, test_y)
        and (np.array_equal(train_x, test_x))
    ):
        raise EvaluationError(_SAME_DATA)
