"""SimCLRAugment refuses sizes that are not integers >= 1."""

import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr.errors import UserInputError


@pytest.mark.parametrize(
    "make, message",
    [
        # 32.5 was truncated to 32.
        (
            lambda: ks.layers.SimCLRAugment(32.5, 32),
            "height must be an integer >= 1, got 32.5",
        ),
        (lambda: ks.layers.SimCLRAugment(32, 0), "width must be >= 1, got 0"),
    ],
    ids=["augment_height", "augment_width"],
)
def test_augment_sizes_are_integers(make, message):
    with pytest.raises(UserInputError, match=message):
        make()
    assert ks.layers.SimCLRAugment(np.int64(32), 32).height == 32
