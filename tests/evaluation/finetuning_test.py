"""Fine-tuning on label fractions."""

import math

import keras
import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import evaluation
from tests.evaluation.patches import (
    CLASSES,
    SIZE,
    patch_data,
    patch_encoder,
    unchanged,
    weights,
)

pytestmark = pytest.mark.backend_neutral


def _simclr_with(encoder):
    model = ks.SimCLR(
        encoder,
        projection_head=ks.layers.ProjectionHead(3, hidden_dim=24, output_dim=8),
        augment=keras.layers.Identity(),
    )
    model(np.zeros((1, SIZE, SIZE, 3), np.float32))
    return model


# Saved before any step, the optimizer has no variables yet.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_finetune_keeps_head_layers_and_leaves_the_model_alone(tmp_path):
    model = _simclr_with(patch_encoder(dense=True))
    before = weights(model)
    train, test = patch_data(160, seed=0), patch_data(40, seed=1)
    finetuned, results = evaluation.finetune(
        model, train, test, label_fraction=0.1, head_layer=2, epochs=0
    )
    names = [layer.name for layer in finetuned.layers]
    assert names == [
        "images",
        "patch_encoder",
        "dense_0",
        "bn_0",
        "head_relu_0",
        "dense_1",
        "bn_1",
        "head_relu_1",
        "classifier",
    ]
    head = model.projection_head
    for i in range(2):
        np.testing.assert_array_equal(
            finetuned.get_layer(f"dense_{i}").kernel.numpy(),
            head.dense_layers[i].kernel.numpy(),
        )
    assert finetuned.output_shape == (None, CLASSES)
    assert results["num_labelled"] == 16 and results["per_class"] == 2
    assert results["head_layer"] == 2
    # Paper defaults: LARS, 0.005 * sqrt(batch), batch capped at the subset.
    assert results["optimizer"] == "lars" and results["batch_size"] == 16
    assert results["learning_rate"] == pytest.approx(0.005 * math.sqrt(16))
    with pytest.raises(evaluation.EvaluationError, match="head_layer"):
        evaluation.finetune(model.encoder, train, test, head_layer=1, epochs=0)
    # Saved with the library's layers only: loads in safe mode.
    finetuned.save(tmp_path / "finetuned.keras")
    keras.saving.load_model(tmp_path / "finetuned.keras", safe_mode=True)
    assert unchanged(before, model)


def test_finetune_learns_from_a_label_fraction():
    model = _simclr_with(patch_encoder(dense=True))
    encoder_before = weights(model.encoder)
    train, test = patch_data(800, seed=0), patch_data(200, seed=1)
    finetuned, results = evaluation.finetune(
        model,
        train,
        test,
        label_fraction=0.1,
        epochs=40,
        batch_size=40,
        learning_rate=1.0,
        optimizer="momentum",
        augment=False,
    )
    assert results["num_labelled"] == 80 and results["per_class"] == 10
    assert results["top1"] >= 0.9 and results["top5"] == 1.0
    assert unchanged(encoder_before, model.encoder)
    tuned = finetuned.get_layer("patch_encoder").get_layer("features").kernel
    assert not np.allclose(tuned.numpy(), model.encoder.get_layer("features").kernel)
