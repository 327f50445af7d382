"""ProjectionHead refuses layer counts and widths that are not integers >= 1."""

import pytest

import keras_simclr as ks
from keras_simclr.errors import UserInputError

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: ks.layers.ProjectionHead(num_layers=2.5),
            "num_layers must be an integer",
        ),
        (lambda: ks.layers.ProjectionHead(output_dim=0), "output_dim must be >= 1"),
        (
            lambda: ks.layers.ProjectionHead(hidden_dim="512"),
            "hidden_dim must be an integer",
        ),
    ],
    ids=["head_layers", "head_output", "head_hidden"],
)
def test_head_sizes_are_integers(make, message):
    with pytest.raises(UserInputError, match=message):
        make()
