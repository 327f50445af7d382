"""Accuracy of logits, computed once on a whole test set."""

import numpy as np

__all__ = ["topk_accuracy"]


def topk_accuracy(logits, labels, k):
    """Share of the rows whose label is among their k largest logits.

    Ties are broken by class order (a stable sort), so all-equal logits
    predict class 0 first.

    Args:
        logits: float array (N, C).
        labels: int array (N,).
        k: number of top classes that count (capped at C).

    Returns:
        The accuracy, a float in [0, 1].

    Example:

    >>> logits = np.array([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]])
    >>> topk_accuracy(logits, np.array([2, 2]), 1), topk_accuracy(logits, np.array([2, 2]), 2)
    (0.0, 1.0)
    """
    k = min(k, logits.shape[-1])
    top = np.argsort(-logits, axis=-1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=-1)))
