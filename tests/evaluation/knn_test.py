"""Weighted k-nearest-neighbour accuracy."""

import numpy as np
import pytest

from keras_simclr import evaluation
from tests.knn_reference import numpy_knn

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize("k,temperature", [(1, 0.1), (7, 0.07), (25, 0.5), (500, 0.1)])
def test_knn_accuracy_matches_numpy(k, temperature):
    rng = np.random.default_rng(k)
    centres = rng.normal(size=(5, 16))
    bank_labels = rng.integers(0, 5, 300)
    labels = rng.integers(0, 5, 120)
    bank = centres[bank_labels] + 1.5 * rng.normal(size=(300, 16))
    queries = centres[labels] + 1.5 * rng.normal(size=(120, 16))
    expected = numpy_knn(
        bank, bank_labels, queries, labels, min(k, 300), temperature, 5
    )
    got = evaluation.knn_accuracy(
        bank.astype("float32"),
        bank_labels,
        queries.astype("float32"),
        labels,
        k=k,
        temperature=temperature,
        batch_size=50,
    )
    assert got == pytest.approx(expected, abs=1e-9)
    assert 0.3 < got < 1.0  # neither trivial nor perfect
