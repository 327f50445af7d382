"""A pretraining run killed with SIGKILL resumes and ends where an uninterrupted
run ends; checkpoints are written atomically."""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np

from keras_simclr import cli, data

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
STEPS = 12


def _command(dataset, model_dir):
    return [
        sys.executable, "-m", "keras_simclr.cli", "pretrain", "--preset=demo",
        f"--dataset={dataset}", f"--model_dir={model_dir}", "--batch_size=8",
        f"--train_steps={STEPS}", "--checkpoint_steps=3", "--proj_dim=16",
        "--deterministic", "--seed=3", "--noexport",
    ]


def _finish(command, timeout=400):
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=ENV)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


def _kill_after_first_checkpoint(command, model_dir, timeout=300):
    """Starts the run, SIGKILLs it once a checkpoint exists; returns its step."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)
    try:
        deadline = time.time() + timeout
        while cli._latest_checkpoint(model_dir) is None:
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.time() < deadline, "no checkpoint in time"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return cli._latest_checkpoint(model_dir)[0]


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    images, labels = data.make_shapes(64, seed=2)
    dataset = str(tmp_path / "tiny.npz")  # 8 steps per epoch: resume crosses epochs
    np.savez(dataset, images=images, labels=labels)

    straight = tmp_path / "straight"
    _finish(_command(dataset, straight))

    resumed = tmp_path / "resumed"
    killed_at = _kill_after_first_checkpoint(_command(dataset, resumed), str(resumed))
    assert 0 < killed_at < STEPS
    assert not (resumed / "model.keras").exists()
    out = _finish(_command(dataset, resumed))
    assert f"resuming from step {killed_at}" in out
    assert f"({STEPS - killed_at} in this run)" in out

    a = keras.saving.load_model(str(straight / "model.keras"))
    b = keras.saving.load_model(str(resumed / "model.keras"))
    assert int(a.optimizer.iterations.numpy()) == int(b.optimizer.iterations.numpy()) == STEPS
    # The learning rate position came back with the optimizer's iterations.
    np.testing.assert_allclose(float(b.optimizer.learning_rate), float(a.optimizer.learning_rate))
    for va, vb in zip(a.weights, b.weights):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-6, err_msg=va.path)
    for va, vb in zip(a.optimizer.variables, b.optimizer.variables):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-6, err_msg=va.path)


def test_partial_checkpoints_are_never_loaded(tmp_path):
    """A kill during a write leaves a hidden folder that resume ignores."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    directory = str(tmp_path / "checkpoints")
    cli.save_checkpoint(model, directory, 4)
    saved = [w.numpy() for w in model.weights]
    # What a kill in the middle of writing step 6 leaves behind.
    partial = tmp_path / "checkpoints" / ".partial-ckpt-6"
    partial.mkdir()
    (partial / "model.weights.h5").write_bytes(b"\x89HDF\r\n half a file")
    assert cli._latest_checkpoint(str(tmp_path)) == (4, os.path.join(directory, "ckpt-4"))

    for w in model.weights:
        w.assign(np.zeros(w.shape))
    cli.restore_checkpoint(model, os.path.join(directory, "ckpt-4"))
    for w, value in zip(model.weights, saved):
        np.testing.assert_array_equal(w.numpy(), value)
    # Saving step 6 for real replaces the leftover.
    cli.save_checkpoint(model, directory, 6)
    assert sorted(os.listdir(directory)) == ["ckpt-4", "ckpt-6"]
