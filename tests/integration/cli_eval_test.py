"""keras-simclr linear-eval, finetune and export on a pretraining run."""

import json
import subprocess

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import runs
from tests.command_line import (
    CLI,
    CPU_ENV,
    as_in_a_fresh_process,
    held_out_accuracy,
    shapes_npz,
)


def _cli(*args):
    proc = subprocess.run(
        CLI + list(args), capture_output=True, text=True, timeout=600, env=CPU_ENV
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# One pretraining serves every command: one test (a module fixture would run
# again on every pytest-xdist worker).
def test_evaluate_finetune_and_export_a_run(tmp_path):
    dataset, images, _ = shapes_npz(tmp_path / "tiny.npz", 160, seed=1)
    model_dir = tmp_path / "run"
    _cli(
        "pretrain",
        "--preset=demo",
        f"--dataset={dataset}",
        f"--model_dir={model_dir}",
        "--batch_size=16",
        "--train_steps=2",
        "--proj_layers=3",
        "--proj_dim=16",
    )
    model = keras.saving.load_model(str(model_dir / "model.keras"))

    # linear-eval: the run's dataset and image size, results merged.
    out = _cli(
        "linear-eval",
        f"--model_dir={model_dir}",
        "--split=train[:120]",
        "--eval_split=train[120:]",
        "--epochs=3",
        "--batch_size=32",
    )
    results = json.loads((model_dir / "results.json").read_text())
    linear = results["linear_eval"]
    assert "pretrain" in results
    assert (linear["num_train"], linear["num_test"], linear["num_classes"]) == (
        120,
        40,
        10,
    )
    assert (linear["epochs"], linear["batch_size"]) == (3, 32)
    assert linear["image_size"] == [32, 32] and linear["feature_dim"] == 512
    # What the library gives for the same run and splits.
    as_in_a_fresh_process()
    again = runs.linear_eval(
        str(model_dir),
        split="train[:120]",
        eval_split="train[120:]",
        epochs=3,
        batch_size=32,
        verbose=0,
    )
    assert (linear["top1"], linear["top5"]) == (again["top1"], again["top5"])
    assert f"top-1 {linear['top1']:.4f}" in out

    # finetune: 10% of 120 labels (12 images: 1 per class, rounded), from
    # head layer 1; the classifier is saved and loads in safe mode.
    _cli(
        "finetune",
        f"--model_dir={model_dir}",
        "--split=train[:120]",
        "--eval_split=train[120:]",
        "--label_fraction=0.1",
        "--head_layer=1",
        "--epochs=1",
    )
    results = json.loads((model_dir / "results.json").read_text())
    tuned = results["finetune_10pct"]
    assert (tuned["num_labelled"], tuned["per_class"], tuned["head_layer"]) == (
        10,
        1,
        1,
    )
    assert tuned["label_fraction"] == 0.1 and tuned["num_test"] == 40
    assert "linear_eval" in results
    classifier = keras.saving.load_model(tuned["model"], safe_mode=True)
    assert classifier.output_shape == (None, 10)
    # The saved classifier's own accuracy on the 40 held-out images.
    top1, top5 = held_out_accuracy(classifier, dataset, "train[120:]")
    assert (tuned["top1"], tuned["top5"]) == (pytest.approx(top1), pytest.approx(top5))
    assert [layer.name for layer in classifier.layers][-4:] == [
        "dense_0",
        "bn_0",
        "head_relu_0",
        "classifier",
    ]

    # export: h only with --noinclude_projection, equal to the model's.
    target = tmp_path / "encoder"
    _cli(
        "export",
        f"--model_dir={model_dir}",
        f"--export_dir={target}",
        "--noinclude_projection",
    )
    outputs = tf.saved_model.load(str(target)).signatures["serving_default"](
        images=tf.constant(images[:4])
    )
    assert sorted(outputs) == ["representation"]
    expected = model.encoder(images[:4].astype("float32") / 255.0, training=False)
    np.testing.assert_allclose(outputs["representation"], expected, atol=1e-5)
    # The run's own export, written by pretrain, has the whole head.
    outputs = tf.saved_model.load(str(model_dir / "saved_encoder")).signatures[
        "serving_default"
    ](images=tf.constant(images[:4]))
    assert sorted(outputs) == [
        "head_layer_1",
        "head_layer_2",
        "projection",
        "representation",
    ]
    assert outputs["projection"].shape == (4, 16)
