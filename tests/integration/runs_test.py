"""The Python run API end to end: pretrain, crash, resume, evaluate and export on ram://."""

import io
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import runs


def _write_npz(url, images, labels):
    buffer = io.BytesIO()
    np.savez(buffer, images=images, labels=labels)
    tf.io.gfile.makedirs(url.rsplit("/", 1)[0])
    with tf.io.gfile.GFile(url, "wb") as f:
        f.write(buffer.getvalue())


class _Crash(keras.callbacks.Callback):
    """Stands for a kill: raises once the optimizer has taken `step` steps."""

    def __init__(self, step):
        super().__init__()
        self.at = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.at:
            raise KeyboardInterrupt


def test_pretrain_resume_evaluate_export_on_ram(capsys):
    images, labels = ks.data.make_shapes(48, seed=1)
    dataset = "ram://test_runs/data/tiny.npz"  # only tf.io.gfile can read it
    _write_npz(dataset, images, labels)
    model_dir = "ram://test_runs/run"
    recipe = ks.recipes.Recipe.from_preset(
        "demo",
        dataset=dataset,
        batch_size=8,
        train_steps=4,
        checkpoint_steps=2,
        proj_dim=16,
    )
    with pytest.raises(KeyboardInterrupt):
        ks.pretrain(recipe, model_dir, callbacks=[_Crash(3)], verbose=0)
    assert tf.io.gfile.listdir(f"{model_dir}/checkpoints") == ["ckpt-2"]
    assert not tf.io.gfile.exists(f"{model_dir}/model.keras")

    summary = ks.pretrain(recipe, model_dir, verbose=0)  # the same call resumes
    assert "resuming from step 2" in capsys.readouterr().out
    assert (summary["steps"], summary["steps_this_run"]) == (4, 2)
    assert np.isfinite(summary["loss"])
    config = json.loads(tf.io.gfile.GFile(f"{model_dir}/config.json").read())
    assert (config["image_size"], config["cifar_stem"], config["proj_dim"]) == (
        32,
        False,
        16,
    )
    assert "loss" in tf.io.gfile.GFile(f"{model_dir}/logs/metrics.csv").read()

    _, model = runs.load_run(model_dir)
    assert int(model.optimizer.iterations.numpy()) == 4
    metrics = runs.linear_eval(
        model_dir, split="train[:32]", eval_split="train[32:]", epochs=2, verbose=0
    )
    assert (metrics["num_train"], metrics["num_test"]) == (32, 16)
    target = runs.export(model_dir, "ram://test_runs/encoder", include_projection=False)
    served = tf.saved_model.load(target).signatures["serving_default"](
        images=tf.constant(images[:4])
    )
    expected = model.encoder(images[:4].astype("float32") / 255.0, training=False)
    np.testing.assert_allclose(served["representation"], expected, atol=1e-5)
    results = runs.read_results(model_dir)
    assert results["pretrain"]["steps"] == 4
    assert results["linear_eval"]["top1"] == pytest.approx(metrics["top1"])
