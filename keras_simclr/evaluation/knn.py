"""Weighted k-nearest-neighbour accuracy of features."""

import numpy as np
from keras import ops

from keras_simclr import errors
from keras_simclr import losses as simclr_losses
from keras_simclr.evaluation.inputs import count_classes

__all__ = ["DEFAULT_KNN_TEMPERATURE", "knn_accuracy"]

#: Temperature of the neighbours' vote weights exp(similarity / T), as in
#: InstDisc and solo-learn's kNN monitor. Not NT-Xent's temperature
#: (`keras_simclr.losses.DEFAULT_TEMPERATURE`), though both are 0.1 here.
DEFAULT_KNN_TEMPERATURE = 0.1


def knn_accuracy(
    train_features,
    train_labels,
    test_features,
    test_labels,
    k=200,
    temperature=DEFAULT_KNN_TEMPERATURE,
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

    >>> bank = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> queries = np.array([[1.0, 0.2], [0.2, 1.0], [0.0, 1.0]])
    >>> knn_accuracy(bank, [0, 0, 1, 1], queries, [0, 1, 0], k=2)
    0.6666666666666666
    """
    temperature = simclr_losses.check_temperature(temperature)
    k = errors.check_positive_int("k", k)
    batch_size = errors.check_positive_int("batch_size", batch_size)
    test_features = np.asarray(test_features)
    bank = _l2_normalize(ops.cast(train_features, "float32"))
    bank_labels = ops.cast(ops.reshape(train_labels, [-1]), "int32")
    test_labels = np.asarray(test_labels).reshape(-1)
    classes = count_classes(num_classes, np.asarray(train_labels), test_labels)
    k = min(int(k), int(bank.shape[0]))
    correct = 0
    for start in range(0, len(test_labels), batch_size):
        queries = _l2_normalize(
            ops.cast(test_features[start : start + batch_size], "float32")
        )
        similarity = ops.matmul(queries, ops.transpose(bank))
        top_similarity, top_index = ops.top_k(similarity, k=k)
        weights = ops.exp(top_similarity / temperature)
        votes = ops.sum(
            ops.one_hot(ops.take(bank_labels, top_index), classes) * weights[..., None],
            axis=1,
        )
        predictions = ops.convert_to_numpy(ops.argmax(votes, axis=-1))
        correct += int(np.sum(predictions == test_labels[start : start + batch_size]))
    return correct / max(1, len(test_labels))


def _l2_normalize(x):
    """Rows divided by their norm, as `tf.math.l2_normalize` (epsilon 1e-12)."""
    square_sum = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x * ops.rsqrt(ops.maximum(square_sum, 1e-12))
