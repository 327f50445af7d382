"""Class-balanced label subsets."""

import math

import numpy as np
import pytest

from keras_simclr import evaluation

pytestmark = pytest.mark.backend_neutral


def test_class_balanced_subset():
    rng = np.random.default_rng(0)
    labels = np.concatenate([np.full(500, 0), np.full(300, 1), np.full(200, 2)])
    labels = rng.permutation(labels)
    labels[:30] = -1  # unlabelled
    n = int(np.sum(labels >= 0))
    for fraction in (0.01, 0.1, 0.5):
        subset = evaluation.class_balanced_subset(labels, fraction, seed=3)
        per_class = max(1, math.floor(fraction * n / 3 + 0.5))
        counts = np.bincount(labels[subset], minlength=3)
        assert np.all(labels[subset] >= 0)
        np.testing.assert_array_equal(counts, np.minimum(per_class, [500, 300, 200]))
        assert len(np.unique(subset)) == len(subset)
        np.testing.assert_array_equal(
            subset, evaluation.class_balanced_subset(labels, fraction, seed=3)
        )
        assert not np.array_equal(
            subset, evaluation.class_balanced_subset(labels, fraction, seed=4)
        )
    # A class with fewer images than its share gives all it has.
    counts = np.bincount(
        labels[evaluation.class_balanced_subset(labels, 0.9, seed=0)], minlength=3
    )
    assert counts.tolist() == [
        min(c, round(0.9 * n / 3)) for c in np.bincount(labels[labels >= 0])
    ]
    assert len(evaluation.class_balanced_subset(np.arange(100) % 10, 0.001)) == 10
    np.testing.assert_array_equal(
        evaluation.class_balanced_subset(labels, 1.0), np.flatnonzero(labels >= 0)
    )
    with pytest.raises(evaluation.EvaluationError, match="fraction"):
        evaluation.class_balanced_subset(labels, 0.0)
