"""knn_accuracy refuses temperatures that are not finite numbers > 0."""

import numpy as np
import pytest

from keras_simclr import evaluation
from keras_simclr.errors import UserInputError

pytestmark = pytest.mark.backend_neutral


def features(n=40, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    return (np.eye(4)[labels] + 0.1 * rng.normal(size=(n, 4))).astype(
        np.float32
    ), labels


@pytest.mark.parametrize("temperature", [0, float("inf"), -0.1])
def test_knn_accuracy_refuses_bad_temperatures(temperature):
    # temperature=0 gave 0.333 where the answer is 1.0.
    bank, bank_labels = features()
    with pytest.raises(UserInputError, match="temperature must be a finite number > 0"):
        evaluation.knn_accuracy(
            bank, bank_labels, bank, bank_labels, temperature=temperature
        )
    accuracy = evaluation.knn_accuracy(
        bank, bank_labels, *features(12, seed=1), k=5, temperature=np.float32(0.1)
    )
    assert accuracy == 1.0
