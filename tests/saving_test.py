"""load_model, and every loader built on it, names a damaged .keras file."""

import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import evaluation, export
from keras_simclr.errors import ModelFileError
from tests.random_images import images, labelled
from tests.tiny_models import tiny_simclr

LABELS = np.arange(8) % 4


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    model = tiny_simclr(num_classes=4)
    model.fit(images(), LABELS, batch_size=4, verbose=0)
    whole = str(folder / "model.keras")
    model.save(whole)
    with open(whole, "rb") as f:
        contents = f.read()
    truncated = str(folder / "truncated.keras")
    with open(truncated, "wb") as f:
        f.write(contents[: len(contents) // 2])
    return whole, truncated


def test_a_truncated_keras_file_is_named_as_damaged(keras_files, tmp_path):
    # Keras says "File not found" though the file exists.
    whole, truncated = keras_files
    damaged = rf"model file {truncated} is damaged \(not a complete .keras archive"
    with pytest.raises(ModelFileError, match=damaged):
        ks.saving.load_model(truncated)
    with pytest.raises(ModelFileError, match=damaged):
        evaluation.extract_features(truncated, labelled())
    with pytest.raises(ModelFileError, match=damaged):
        export.export_encoder(truncated, tmp_path / "encoder")
    with pytest.raises(ModelFileError, match="no model file"):
        ks.saving.load_model(str(tmp_path / "missing.keras"))
    assert isinstance(ks.saving.load_model(whole), ks.SimCLR)
    h, _ = evaluation.extract_features(whole, labelled(4))
    assert h.shape == (4, 8)
