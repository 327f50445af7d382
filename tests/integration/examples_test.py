"""Runs every example script and the Colab notebook with tiny settings.

Everything reads the embedded "shapes" dataset (generated, no download) at
16 px, for a few steps.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from tests.command_line import QUIET_ENV, as_in_a_fresh_process
from tests.knn_reference import numpy_knn
from tests.replicas import run_with_replicas

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# Runs a script with `import keras_simclr` failing, then the script itself.
_WITHOUT_KERAS_SIMCLR = """
import runpy, sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "keras_simclr" or name.startswith("keras_simclr."):
            raise ImportError("keras_simclr is blocked")
sys.meta_path.insert(0, _Block())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run(script, *args, cwd, block_keras_simclr=False):
    """Runs examples/`script`; returns the JSON objects it printed, one per line."""
    command = [sys.executable, str(EXAMPLES / script), *args]
    if block_keras_simclr:
        command = [sys.executable, "-c", _WITHOUT_KERAS_SIMCLR, *command[1:]]
    result = subprocess.run(
        command, cwd=cwd, env=QUIET_ENV, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return [
        json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")
    ]


# The chain shares one pretraining: one test (a module fixture would run on
# every pytest-xdist worker).
def test_cifar10_examples_on_generated_data(tmp_path):
    data = ["--dataset=shapes", "--train_split=train[:200]", "--test_split=test[:64]"]
    model_dir = tmp_path / "run"

    # Pretraining: the reference's recipe, 3 steps of batch 16 at 16 px.
    (summary,) = run(
        "pretrain_cifar10.py",
        "--dataset=shapes",
        "--image_size=16",
        "--batch_size=16",
        "--train_steps=3",
        "--knn_every=1",
        "--knn_bank=64",
        "--test_split=test[:64]",
        f"--model_dir={model_dir}",
        cwd=tmp_path,
    )
    assert summary["steps"] == 3
    assert np.isfinite(summary["loss"])
    assert (model_dir / "model.keras").is_file()
    # The saved model's kNN accuracy, recomputed in NumPy: the monitor's
    # bank and test images, k=200 (the whole bank votes), temperature 0.1.
    model = str(model_dir / "model.keras")
    bank = ks.evaluation.extract_features(
        model, ks.data.load("shapes", "train[:64]", image_size=16)
    )
    test = ks.evaluation.extract_features(
        model, ks.data.load("shapes", "test[:64]", image_size=16)
    )
    assert summary["knn_accuracy"] == pytest.approx(
        numpy_knn(*bank, *test, 64, 0.1, 10)
    )
    assert (model_dir / "saved_encoder" / "saved_model.pb").is_file()

    # Linear evaluation, with the random-encoder baseline.
    (results,) = run(
        "linear_eval.py",
        f"--model_dir={model_dir}",
        *data,
        "--epochs=2",
        "--batch_size=64",
        "--baseline",
        cwd=tmp_path,
    )
    for name in ("pretrained", "random"):
        assert results[name]["num_train"] == 200 and results[name]["num_test"] == 64
        assert results[name]["image_size"] == [16, 16]
        assert results[name]["top1"] <= results[name]["top5"]
    # The pretrained encoder's numbers are the library's for the same data
    # and settings (the random baseline is a fresh, unseeded draw).
    as_in_a_fresh_process()
    again = ks.evaluation.linear_eval(
        ks.runs.load_run(str(model_dir))[1],
        ks.data.load("shapes", "train[:200]"),
        ks.data.load("shapes", "test[:64]"),
        epochs=2,
        batch_size=64,
        learning_rate=0.1,
        verbose=0,
    )
    assert (results["pretrained"]["top1"], results["pretrained"]["top5"]) == (
        again["top1"],
        again["top5"],
    )

    # Fine-tuning on 5% of 200 labels: 1 per class, from head layer 1.
    (results,) = run(
        "finetune_semi_supervised.py",
        f"--model_dir={model_dir}",
        *data,
        "--label_fractions=0.05",
        "--epochs=1",
        cwd=tmp_path,
    )
    assert results["num_labelled"] == 10 and results["per_class"] == 1
    assert results["head_layer"] == 1 and results["epochs"] == 1
    assert Path(results["model"]).name == "finetuned_5pct.keras"
    assert Path(results["model"]).is_file()

    # Serving, in a process that cannot import keras_simclr.
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    pixels = [rng.integers(0, 256, (20 + i, 24, 3), np.uint8) for i in range(5)]
    for i, image in enumerate(pixels):
        tf.io.write_file(str(images / f"img{i}.png"), tf.io.encode_png(image))
    output = tmp_path / "embeddings.npy"
    *_, served = run(
        "serve_encoder.py",
        f"--saved_model={model_dir / 'saved_encoder'}",
        f"--images={images}",
        f"--output={output}",
        cwd=tmp_path,
        block_keras_simclr=True,
    )
    assert served == {"images": 5, "dim": 512, "output": str(output)}
    resized = tf.stack(
        [
            tf.cast(
                tf.clip_by_value(
                    tf.round(tf.image.resize(image, (16, 16), antialias=True)), 0, 255
                ),
                tf.uint8,
            )
            for image in pixels
        ]
    )
    signature = tf.saved_model.load(str(model_dir / "saved_encoder")).signatures[
        "serving_default"
    ]
    np.testing.assert_allclose(
        np.load(output), signature(images=resized)["representation"], atol=1e-5
    )


# Set in the parameters cell of the first run: the kernel SIGKILLs itself
# right after its first checkpoint, as a Colab VM that goes away mid-run.
_DIE_AFTER_FIRST_CHECKPOINT = """
import os, signal
from keras_simclr.runs import checkpoints as _checkpoints
_save = _checkpoints.AtomicCheckpoint.save
def _save_then_die(self):
    _save(self)
    os.kill(os.getpid(), signal.SIGKILL)
_checkpoints.AtomicCheckpoint.save = _save_then_die
"""


def _run_notebook(tmp_path, extra=""):
    """Runs the notebook with tiny parameters; returns its cells' JSON lines."""
    notebook = nbformat.read(EXAMPLES / "simclr_colab_tpu.ipynb", as_version=4)
    (parameters,) = [
        cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])
    ]
    parameters.source = (
        "\n".join(
            [
                'BACKEND = "jax"',
                'DATASET = "shapes"',
                "IMAGE_SIZE = 16",
                "BATCH_SIZE = 16",
                "EPOCHS = 1",
                "TRAIN_STEPS = 3",
                "CHECKPOINT_STEPS = 1",
                'TRAIN_SPLIT = "train[:64]"',
                'EVAL_TRAIN_SPLIT = "train[:128]"',
                'TEST_SPLIT = "test[:32]"',
                "LINEAR_EVAL_EPOCHS = 2",
                f"MODEL_DIR = {str(tmp_path / 'run')!r}",
                'KERAS_SIMCLR = "keras-simclr"',
            ]
        )
        + extra
    )
    nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    return [
        json.loads(line)
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("name") == "stdout"
        for line in output["text"].splitlines()
        if line.startswith("{")
    ], notebook


def test_colab_notebook_resumes_after_its_kernel_dies(tmp_path):
    with pytest.raises(nbclient.exceptions.DeadKernelError):
        _run_notebook(tmp_path, _DIE_AFTER_FIRST_CHECKPOINT)
    assert not (tmp_path / "run" / "model.keras").exists()
    assert os.listdir(tmp_path / "run" / "checkpoints") == ["ckpt-1"]

    # What the notebook says to do after a disconnect: run it again.
    printed, notebook = _run_notebook(tmp_path)
    assert any(
        "resuming from step 1" in output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    pretrained, linear, shapes, served = printed
    assert pretrained == {"steps": 3, "steps_this_run": 2}
    assert linear["num_train"] == 128 and linear["num_test"] == 32
    assert shapes == {
        "representation": [8, 512],
        "head_layer_1": [8, 512],
        "head_layer_2": [8, 512],
        "projection": [8, 128],
    }
    assert served["export_max_abs_difference"] < 1e-5
    assert (tmp_path / "run" / "model.keras").is_file()
    assert (tmp_path / "run" / "saved_encoder" / "saved_model.pb").is_file()
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["pretrain"]["steps"] == 3
    assert results["linear_eval"]["top1"] == linear["top1"]
    # The library's linear evaluation of the same run and splits, on JAX as
    # the notebook ran it, with the global seed the notebook's ks.pretrain
    # set (the recipe's seed).
    again = run_with_replicas(
        f"""
import keras_simclr as ks
run = {str(tmp_path / "run")!r}
keras.utils.set_random_seed(ks.runs.load_run(run)[0]["seed"])
again = ks.runs.linear_eval(
    run, split="train[:128]", eval_split="test[:32]", epochs=2, verbose=0)
save(top1=again["top1"], top5=again["top5"])
""",
        1,
        backend="jax",
    )
    assert (linear["top1"], linear["top5"]) == (again["top1"], again["top5"])


def test_pretrain_image_folder(tmp_path):
    folder = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for c, name in enumerate(["red", "green", "blue"]):
        (folder / name).mkdir(parents=True)
        for i in range(16):
            image = rng.integers(0, 100, (20, 20, 3), np.uint8)
            image[..., c] += 150
            tf.io.write_file(str(folder / name / f"{i}.png"), tf.io.encode_png(image))
    out = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "pretrain_image_folder.py"),
            f"--folder={folder}",
            "--image_size=16",
            "--cifar_stem",
            "--batch_size=16",
            "--epochs=1",
            f"--out={out}",
        ],
        cwd=tmp_path,
        env=QUIET_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "38 training images, classes: ['blue', 'green', 'red']" in result.stdout
    (top1,) = [
        float(line.rsplit(" ", 1)[1])
        for line in result.stdout.splitlines()
        if line.startswith("linear evaluation top-1:")
    ]
    # One colour per class: a linear probe on any encoder separates them
    # (measured 1.000 on the 10 held-out images, for two draws of the
    # images); chance is 1/3.
    assert top1 >= 0.8
    assert (out / "model.keras").is_file()
    outputs = tf.saved_model.load(str(out / "saved_encoder")).signatures[
        "serving_default"
    ](images=tf.zeros((2, 16, 16, 3), tf.uint8))
    assert outputs["representation"].shape == (2, 512)


def test_simclr_v2_three_stages_distillation_beats_the_labels_alone(tmp_path):
    # A CPU-sized run: 2,000 images of 32 px, a 16-32-64 convnet, 8 epochs
    # of pretraining, fine-tuning on 10% of the labels (200), 10 epochs of
    # self-distillation; measured (two runs): teacher 0.26 / 0.27, student
    # 0.282 / 0.288, the same network trained on the 200 labels alone
    # 0.19 / 0.202 (500 test images).
    (summary,) = run(
        "simclr_v2_three_stages.py",
        f"--model_dir={tmp_path / 'run'}",
        "--width=16",
        "--train_split=train[:2000]",
        "--test_split=test[:500]",
        "--batch_size=256",
        "--pretrain_epochs=8",
        "--finetune_epochs=10",
        "--finetune_batch_size=50",
        "--distill_epochs=10",
        "--baseline",
        cwd=tmp_path,
    )
    print(json.dumps(summary))  # the numbers, in CI's log
    assert summary["num_train"] == 2000 and summary["num_labelled"] == 200
    assert summary["student_top1"] > summary["baseline_top1"] + 0.04
    assert summary["teacher_top1"] > summary["baseline_top1"] + 0.03
    for name in ("pretrained", "teacher", "student"):
        assert (tmp_path / "run" / f"{name}.keras").is_file()
    outputs = tf.saved_model.load(summary["student_encoder"]).signatures[
        "serving_default"
    ](images=tf.zeros((2, 32, 32, 3), tf.uint8))
    assert outputs["representation"].shape == (2, 64)
