"""A pretraining run killed with SIGKILL resumes and ends where an uninterrupted
run ends, on a file:// URL that only tf.io.gfile understands; a broken newest
checkpoint falls back to the previous one."""

import json
import os
import subprocess

import keras
import numpy as np
import tensorflow as tf

from tests.command_line import (
    CLI,
    CPU_ENV,
    demo_pretrain,
    kill_after_first_checkpoint,
    shapes_npz,
)

STEPS = 12


def _command(dataset, model_dir):
    return demo_pretrain(
        dataset,
        model_dir,
        "--batch_size=8",
        f"--train_steps={STEPS}",
        "--checkpoint_steps=3",
        "--proj_dim=16",
        "--deterministic",
        "--seed=3",
        "--noexport",
    )


def _finish(command, timeout=400):
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=CPU_ENV
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout, proc.stderr


def _assert_same_state(a, b):
    assert (
        int(a.optimizer.iterations.numpy())
        == int(b.optimizer.iterations.numpy())
        == STEPS
    )
    # The learning rate position came back with the optimizer's iterations.
    np.testing.assert_allclose(
        float(b.optimizer.learning_rate), float(a.optimizer.learning_rate)
    )
    for va, vb in zip(a.weights, b.weights):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-6, err_msg=va.path)
    for va, vb in zip(a.optimizer.variables, b.optimizer.variables):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-6, err_msg=va.path)


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    # 8 steps per epoch: resume crosses epochs.
    dataset, images, _ = shapes_npz(tmp_path / "tiny.npz", 64, seed=2)

    straight = tmp_path / "straight"
    _finish(_command(dataset, straight))

    resumed = tmp_path / "resumed"
    url = f"file://{resumed}"  # a URL: open() cannot write there, gfile can
    killed_at = kill_after_first_checkpoint(_command(dataset, url), str(resumed))
    assert 0 < killed_at < STEPS
    assert not (resumed / "model.keras").exists()
    out, _ = _finish(_command(dataset, url))
    assert f"resuming from step {killed_at}" in out
    assert f"({STEPS - killed_at} in this run)" in out

    a = keras.saving.load_model(str(straight / "model.keras"))
    _assert_same_state(a, keras.saving.load_model(str(resumed / "model.keras")))

    # A truncated newest checkpoint: one warning line, then the previous one.
    assert sorted(os.listdir(resumed / "checkpoints")) == ["ckpt-12", "ckpt-9"]
    weights = resumed / "checkpoints" / "ckpt-12" / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])
    out, err = _finish(_command(dataset, url))
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [
        f"keras-simclr: warning: skipping checkpoint {url}/checkpoints/ckpt-12: "
        f"model.weights.h5 has 1000 bytes, not {_manifest_size(weights)}"
    ]
    assert "resuming from step 9" in out and "(3 in this run)" in out
    _assert_same_state(a, keras.saving.load_model(str(resumed / "model.keras")))

    # linear-eval and export on the same URL.
    out, _ = _finish(
        CLI
        + [
            "linear-eval",
            f"--model_dir={url}",
            "--split=train[:48]",
            "--eval_split=train[48:]",
            "--epochs=2",
        ]
    )
    results = json.loads((resumed / "results.json").read_text())
    assert results["pretrain"]["steps"] == STEPS
    assert results["linear_eval"]["num_train"] == 48
    assert f"top-1 {results['linear_eval']['top1']:.4f}" in out
    _finish(CLI + ["export", f"--model_dir={url}"])
    served = tf.saved_model.load(str(resumed / "saved_encoder")).signatures[
        "serving_default"
    ](images=tf.constant(images[:4]))
    expected = a.encoder(images[:4].astype("float32") / 255.0, training=False)
    np.testing.assert_allclose(served["representation"], expected, atol=1e-5)


def _manifest_size(weights):
    manifest = json.loads((weights.parent / "manifest.json").read_text())
    return manifest["files"]["model.weights.h5"]["size"]
