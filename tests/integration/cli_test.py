"""The keras-simclr command line end to end: a whole run, its files, reruns."""

import json
import os
import subprocess

import keras
import numpy as np
import pytest

from keras_simclr import runs
from tests.command_line import (
    CLI,
    CPU_ENV,
    as_in_a_fresh_process,
    held_out_accuracy,
    run_in_process,
    shapes_npz,
)


def test_corrupt_image_is_named(tmp_path, capsys):
    from PIL import Image

    for i in range(4):
        (tmp_path / "a").mkdir(exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a" / f"{i}.png")
    bad = tmp_path / "a" / "1b.jpg"  # read in step 2: sorted, no shuffle
    bad.write_text("<html>not an image</html>")
    argv = [
        "pretrain",
        "--preset=demo",
        f"--dataset={tmp_path}",
        f"--model_dir={tmp_path / 'run'}",
        "--batch_size=2",
        "--train_steps=2",
        "--shuffle_buffer=0",
        "--noexport",
        "--noprobe",
    ]
    code, err = run_in_process(argv, capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"keras-simclr: error: corrupt image file {bad} — delete or replace it, "
        "or pass --skip_corrupt to skip unreadable files"
    )


# As a user runs it: TensorFlow's log level not set.
USER_ENV = {k: v for k, v in CPU_ENV.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def test_batch_not_divisible_by_replicas(tmp_path):
    proc = subprocess.run(
        CLI
        + [
            "pretrain",
            "--preset=demo",
            f"--model_dir={tmp_path}",
            "--cpu_replicas=2",
            "--batch_size=7",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=USER_ENV,
    )
    assert proc.returncode == 2
    # Only the error: no TensorFlow start-up lines (the devices were listed:
    # no cuInit error either), no traceback.
    assert proc.stderr.splitlines() == [
        "keras-simclr: error: --batch_size=7 does not split over 2 replicas — use "
        "a multiple of 2, e.g. --batch_size=6."
    ]


def test_a_mistake_prints_one_line_unless_tensorflow_logs_are_asked_for(tmp_path):
    argv = CLI + ["linear-eval", f"--model_dir={tmp_path}", "--label_fraction=0.01"]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=300, env=USER_ENV
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.splitlines() == [
        "keras-simclr: error: --label_fraction is not a flag of linear-eval "
        "(finetune and distill read it) — drop it; linear-eval's flags are "
        "--model_dir, --dataset, --split, --eval_split, --data_dir, --image_size, "
        "--epochs, --batch_size, --learning_rate, --momentum, --weight_decay"
    ]
    # The user's own TF_CPP_MIN_LOG_LEVEL holds: at 0, TensorFlow's own
    # start-up lines come back.
    env = dict(USER_ENV, TF_CPP_MIN_LOG_LEVEL="0")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2 and lines[-1].startswith("keras-simclr: error: ")
    assert len(lines) > 1, proc.stderr


def test_pretrain_writes_the_model_dir_then_evaluates(tmp_path, capsys):
    dataset, _, _ = shapes_npz(tmp_path / "tiny.npz", 48, seed=1)
    model_dir = tmp_path / "run"
    proc = subprocess.run(
        CLI
        + [
            "pretrain",
            "--preset=demo",
            f"--dataset={dataset}",
            f"--model_dir={model_dir}",
            "--batch_size=8",
            "--train_steps=3",
            "--proj_dim=16",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        env=CPU_ENV,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("keras-simclr: pretrained 3 steps (3 in this run)")
    assert "images/s" in summary and "probe_accuracy" in summary
    assert str(model_dir / "model.keras") in summary

    config = json.loads((model_dir / "config.json").read_text())
    assert (config["dataset"], config["image_size"], config["batch_size"]) == (
        dataset,
        32,
        8,
    )
    assert (config["resnet_depth"], config["proj_dim"], config["probe"]) == (
        18,
        16,
        True,
    )
    results = json.loads((model_dir / "results.json").read_text())
    assert results["pretrain"]["steps"] == 3
    assert np.isfinite(results["pretrain"]["loss"])
    assert sorted(os.listdir(model_dir / "checkpoints")) == ["ckpt-3"]
    assert "loss" in (model_dir / "logs" / "metrics.csv").read_text()
    model = keras.saving.load_model(str(model_dir / "model.keras"))
    assert int(model.optimizer.iterations.numpy()) == 3
    assert model.encoder.output_shape == (None, 512)
    assert (model_dir / "saved_encoder" / "saved_model.pb").exists()

    # The same command again: already done, nothing trained, files kept.
    rerun = CLI + [
        "pretrain",
        "--preset=demo",
        f"--dataset={dataset}",
        f"--model_dir={model_dir}",
        "--batch_size=8",
        "--train_steps=3",
        "--proj_dim=16",
        "--noexport",
    ]
    proc = subprocess.run(
        rerun, capture_output=True, text=True, timeout=400, env=CPU_ENV
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "finished at step 3; nothing trained or written" in proc.stdout
    assert "(0 in this run)" in proc.stdout
    assert sorted(os.listdir(model_dir / "checkpoints")) == ["ckpt-3"]

    # A different architecture in the same model_dir is refused.
    code, err = run_in_process(
        [
            "pretrain",
            "--preset=demo",
            f"--dataset={dataset}",
            f"--model_dir={model_dir}",
            "--batch_size=8",
            "--train_steps=3",
            "--proj_dim=32",
        ],
        capsys,
    )
    assert code == 2
    assert "holds a run with proj_dim=16, not 32 — pass --proj_dim=16" in err

    # A run whose config.json was lost is still refused by its checkpoint's
    # own record, and the record is not rewritten.
    (model_dir / "config.json").unlink()
    code, err = run_in_process(
        [
            "pretrain",
            "--preset=demo",
            f"--dataset={dataset}",
            f"--model_dir={model_dir}",
            "--batch_size=8",
            "--train_steps=3",
            "--proj_dim=16",
            "--resnet_depth=34",
        ],
        capsys,
    )
    assert code == 2
    assert "holds a run with resnet_depth=18, not 34 — pass --resnet_depth=18" in err
    assert not (model_dir / "config.json").exists()
    proc = subprocess.run(
        rerun, capture_output=True, text=True, timeout=400, env=CPU_ENV
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        "finished at step 3; nothing trained; its missing config.json written again"
        in proc.stdout
    )
    assert json.loads((model_dir / "config.json").read_text())["resnet_depth"] == 18

    # linear-eval and export read the run's config and model.
    code, err = run_in_process(
        ["linear-eval", f"--model_dir={model_dir}", "--image_size=64"], capsys
    )
    assert code == 2 and "pretrained at 32" in err
    code, _ = run_in_process(
        [
            "linear-eval",
            f"--model_dir={model_dir}",
            "--split=train[:75%]",
            "--eval_split=train[75%:]",
            "--epochs=2",
        ],
        capsys,
    )
    assert code == 0
    results = json.loads((model_dir / "results.json").read_text())
    # What the library gives for the same run and splits. (Top-1 is 0.0 of
    # the 12 held-out images for pretraining seeds 0, 1 and 2: chance level
    # after 3 steps, so no bound above chance.)
    as_in_a_fresh_process()
    again = runs.linear_eval(
        str(model_dir),
        split="train[:75%]",
        eval_split="train[75%:]",
        epochs=2,
        verbose=0,
    )
    assert (results["linear_eval"]["top1"], results["linear_eval"]["top5"]) == (
        again["top1"],
        again["top5"],
    )
    assert results["pretrain"]["steps"] == 3  # merged, not replaced
    code, _ = run_in_process(
        ["export", f"--model_dir={model_dir}", f"--export_dir={tmp_path / 'enc'}"],
        capsys,
    )
    assert code == 0 and (tmp_path / "enc" / "saved_model.pb").exists()
    code, err = run_in_process(
        [
            "finetune",
            f"--model_dir={model_dir}",
            "--split=train[:75%]",
            "--eval_split=train[75%:]",
            "--head_layer=9",
        ],
        capsys,
    )
    assert code == 2 and "head_layer" in err and len(err.strip().splitlines()) == 1
    code, _ = run_in_process(
        [
            "finetune",
            f"--model_dir={model_dir}",
            "--split=train[:75%]",
            "--eval_split=train[75%:]",
            "--epochs=1",
            "--batch_size=8",
            "--label_fraction=0.5",
        ],
        capsys,
    )
    assert code == 0
    results = json.loads((model_dir / "results.json").read_text())
    assert results["finetune_50pct"]["label_fraction"] == 0.5
    finetuned = keras.saving.load_model(results["finetune_50pct"]["model"])
    assert finetuned.output_shape == (None, 10)
    # The saved classifier's own accuracy on the held-out images.
    top1, top5 = held_out_accuracy(finetuned, dataset, "train[75%:]")
    assert results["finetune_50pct"]["top1"] == pytest.approx(top1)
    assert results["finetune_50pct"]["top5"] == pytest.approx(top5)
