"""Run folders on JAX and across backends, through the command line.

A run pretrained on JAX (killed, then resumed to the weights of a run left
alone) is resumed, evaluated and exported on TensorFlow; a run pretrained on
TensorFlow is evaluated, fine-tuned, distilled, exported and resumed on JAX.
Each command runs in a fresh process of its backend.
"""

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
    latest_checkpoint,
    shapes_npz,
)

ENV = {
    "tensorflow": dict(CPU_ENV, KERAS_BACKEND="tensorflow"),
    "jax": dict(CPU_ENV, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu"),
}
# A tiny pretraining: 16 px, batch 8, a checkpoint every 2 steps.
SMALL = [
    "--batch_size=8",
    "--image_size=16",
    "--cifar_stem",
    "--proj_dim=16",
    "--seed=3",
]
EVAL = ["--split=train[:48]", "--eval_split=train[48:]", "--epochs=1"]


def _run(backend, command, timeout=600):
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=ENV[backend]
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


def _pretrain(dataset, model_dir, steps, *flags):
    return demo_pretrain(
        dataset,
        model_dir,
        *SMALL,
        f"--train_steps={steps}",
        "--checkpoint_steps=2",
        *flags,
    )


def _weights(model_dir):
    """Weights and optimizer variables of a run's model.keras, loaded here (TF)."""
    model = keras.saving.load_model(os.path.join(model_dir, "model.keras"))
    return model, [v.numpy() for v in model.weights + model.optimizer.variables]


def _served(model_dir, images):
    loaded = tf.saved_model.load(os.path.join(model_dir, "saved_encoder"))
    out = loaded.signatures["serving_default"](images=tf.constant(images))
    return out["representation"].numpy()


def test_a_killed_jax_run_resumes_to_the_same_weights_then_tensorflow_takes_over(
    tmp_path,
):
    dataset, images, _ = shapes_npz(tmp_path / "tiny.npz", 64, seed=2, image_size=16)
    straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
    # --backend sets Keras's backend before Keras is imported.
    _run(
        "tensorflow",
        _pretrain(dataset, straight, 6, "--deterministic", "--noexport")
        + ["--backend=jax"],
    )
    command = _pretrain(dataset, resumed, 6, "--deterministic", "--noexport")
    killed_at = kill_after_first_checkpoint(command, resumed, env=ENV["jax"])
    assert 0 < killed_at < 6
    out = _run("jax", command)
    assert f"resuming from step {killed_at}" in out
    assert f"({6 - killed_at} in this run)" in out
    assert latest_checkpoint(resumed).state["backend"] == "jax"
    _, a = _weights(straight)
    _, b = _weights(resumed)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-6)

    # TensorFlow resumes the JAX run from its checkpoint, evaluates and exports it.
    out = _run("tensorflow", _pretrain(dataset, resumed, 8, "--deterministic"))
    assert "resuming from step 6" in out and "(2 in this run)" in out
    summary = json.loads((tmp_path / "resumed" / "results.json").read_text())[
        "pretrain"
    ]
    assert (summary["steps"], summary["backend"]) == (8, "tensorflow")
    model, c = _weights(resumed)
    assert int(model.optimizer.iterations.numpy()) == 8
    assert all(np.all(np.isfinite(x)) for x in c)
    assert any(not np.array_equal(x, y) for x, y in zip(b, c))
    out = _run("tensorflow", CLI + ["linear-eval", f"--model_dir={resumed}", *EVAL])
    assert "linear evaluation top-1" in out
    expected = model.encoder(images[:4].astype("float32") / 255.0, training=False)
    np.testing.assert_allclose(_served(resumed, images[:4]), expected, atol=1e-5)


def test_a_tensorflow_run_is_evaluated_exported_and_resumed_on_jax(tmp_path):
    dataset, images, _ = shapes_npz(tmp_path / "tiny.npz", 64, seed=2, image_size=16)
    run = str(tmp_path / "run")
    _run("tensorflow", _pretrain(dataset, run, 4, "--noexport"))
    model, _ = _weights(run)

    # Every command on JAX, on the folder TensorFlow wrote.
    out = _run("jax", CLI + ["linear-eval", f"--model_dir={run}", *EVAL])
    assert "linear evaluation top-1" in out
    out = _run("jax", CLI + ["export", f"--model_dir={run}"])
    expected = model.encoder(images[:4].astype("float32") / 255.0, training=False)
    np.testing.assert_allclose(_served(run, images[:4]), expected, atol=1e-5)
    fraction = ["--label_fraction=0.5", *EVAL]
    _run("jax", CLI + ["finetune", f"--model_dir={run}", *fraction])
    out = _run(
        "jax",
        CLI + ["distill", f"--model_dir={run}", f"--teacher_dir={run}", *fraction],
    )
    assert "distilled top-1" in out
    out = _run("jax", _pretrain(dataset, run, 6, "--noexport"))
    assert "resuming from step 4" in out and "(2 in this run)" in out
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["pretrain"]["steps"] == 6
    assert results["pretrain"]["backend"] == "jax"
    assert {"linear_eval", "finetune_50pct", "distill_50pct"} <= set(results)
