"""extract_features names a missing or damaged SavedModel."""

import os

import pytest

from keras_simclr import evaluation
from keras_simclr.errors import ModelFileError
from tests.random_images import labelled

pytestmark = pytest.mark.backend_neutral


def test_a_missing_or_damaged_saved_model_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="no SavedModel at"):
        evaluation.extract_features(str(tmp_path / "nowhere"), labelled())
    os.makedirs(tmp_path / "empty")
    with pytest.raises(
        ModelFileError, match=r"SavedModel .*empty is damaged or incomplete"
    ):
        evaluation.extract_features(str(tmp_path / "empty"), labelled())
