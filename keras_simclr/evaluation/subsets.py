"""Class-balanced subsets of the labels, for semi-supervised evaluation."""

import math

import numpy as np

from keras_simclr.evaluation.errors import EvaluationError

__all__ = ["class_balanced_subset"]


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
        raise EvaluationError(
            f"fraction must be in (0, 1], got {fraction} — pass the share of "
            "labels to keep, e.g. 0.1."
        )
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
