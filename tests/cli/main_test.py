"""The keras-simclr command line: flags, presets, user errors, a whole run."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from absl import flags

from keras_simclr import cli

FLAGS = flags.FLAGS
CLI = [sys.executable, "-m", "keras_simclr.cli"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def _run_in_process(argv, capsys):
    """Runs the command line in this process; returns (exit code, stderr)."""
    FLAGS.unparse_flags()
    try:
        cli.main(cli._parse_flags(["keras-simclr"] + argv))
        code = 0
    except SystemExit as exit:
        code = exit.code
    finally:
        FLAGS.unparse_flags()
    return code, capsys.readouterr().err


def _config(argv):
    FLAGS.unparse_flags()
    try:
        FLAGS(["keras-simclr"] + argv)
        return cli.options.recipe_from_flags(cli._given()).to_dict()
    finally:
        FLAGS.unparse_flags()


def test_presets_set_defaults_and_flags_override_them():
    config = _config(["--preset=cifar10"])
    assert (config["dataset"], config["batch_size"], config["learning_rate"]) == (
        "cifar10", 512, 1.0)
    assert config["learning_rate_scaling"] == "linear"
    assert (config["temperature"], config["color_jitter_strength"]) == (0.5, 0.5)
    assert (config["blur"], config["weight_decay"], config["epochs"]) == (
        False, 1e-4, 1000)
    assert (config["resnet_depth"], config["cifar_stem"]) == (18, True)

    config = _config(["--preset=imagenet", "--batch_size=1024", "--noblur"])
    assert config["batch_size"] == 1024 and config["blur"] is False
    assert (config["resnet_depth"], config["learning_rate"]) == (50, 0.075)
    assert (config["learning_rate_scaling"], config["temperature"]) == ("sqrt", 0.1)
    assert config["weight_decay"] == 1e-6

    config = _config(["--dataset=stl10"])  # no preset: reference defaults
    assert (config["batch_size"], config["learning_rate"], config["resnet_depth"]) == (
        512, 0.3, 50)
    assert config["image_size"] is None  # follows the dataset


@pytest.mark.parametrize(
    "argv, message",
    [
        (["pretrain", "--preset=huge", "--model_dir=x"], "--preset=huge"),
        (["pretrain", "--preset=demo"], "no --model_dir"),
        (["pretrain", "--model_dir=x"], "no dataset — pass --dataset"),
        (["train", "--model_dir=x"], "'train' is not a command"),
        ([], "no command is not a command"),
        (["pretrain", "--preset=demo", "--model_dir=x", "--temperature=0"],
         "--temperature=0.0 is out of range — use T > 0"),
        (["pretrain", "--preset=demo", "--model_dir=x", "--resnet_depth=19"],
         "not a ResNet"),
        (["pretrain", "--dataset=no_such_set", "--model_dir=x"],
         "unknown dataset 'no_such_set'"),
        (["pretrain", "--dataset=cifar10", "--data_dir=/no/such/dir", "--model_dir=x"],
         "data_dir /no/such/dir does not exist"),
        (["pretrain", "--dataset=/no/such/folder/", "--model_dir=x"], "no folder"),
        (["pretrain", "--preset=demo", "--image_size=16", "--nocifar_stem",
          "--model_dir=x"], "too small for the ImageNet stem"),
        (["pretrain", "--preset=demo", "--batch_size=6000", "--model_dir=x"],
         "fewer than one batch of 6000"),
        (["linear-eval", "--model_dir=/no/such/run"], "no pretrained model"),
        (["pretrain", "--preset=demo", "--model_dir=x", "--learning_rate=inf"],
         "--learning_rate=inf is out of range — use a finite"),
        (["pretrain", "--preset=demo", "--model_dir=x", "--weight_decay=inf"],
         "--weight_decay=inf is out of range"),
        (["pretrain", "--preset=demo", "--model_dir=x", "--warmup_epochs=inf"],
         "--warmup_epochs=inf is out of range"),
        (["pretrain", "--preset=demo", "--model_dir=x", "--shuffle_buffer=-5"],
         "--shuffle_buffer=-5 is out of range — use 0 (no shuffle)"),
        (["pretrain", "--preset=demo", "--model_dir=x", "--seed=-1"],
         "--seed=-1 is out of range — use a non-negative seed"),
        (["linear-eval", "--model_dir=x", "--epochs=0"],
         "--epochs=0 is out of range — use --epochs >= 1"),
        (["linear-eval", "--model_dir=x", "--batch_size=0"],
         "--batch_size=0 is out of range — use --batch_size >= 1"),
        (["finetune", "--model_dir=x", "--batch_size=0"], "--batch_size=0 is out of range"),
        (["export", "--model_dir=x", "--export_dir=x/file.txt"],
         "file.txt is an existing file — pass a folder path"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, message, capsys, tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    argv = [a.replace("--model_dir=x", f"--model_dir={tmp_path}")
            .replace("--export_dir=x", f"--export_dir={tmp_path}") for a in argv]
    code, err = _run_in_process(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keras-simclr: error: ")
    assert message in lines[0]
    assert " — " in lines[0]  # what is wrong — how to fix it


def test_library_value_errors_are_user_errors():
    import keras_simclr as ks
    from keras_simclr.cli import errors

    with pytest.raises(ValueError) as raised:  # a plain ValueError of the library
        ks.encoders.ResNet(19)
    line, code = errors.user_error_line(raised.value, set(FLAGS))
    assert code == 2 and line == (
        "keras-simclr: error: depth must be one of [18, 34, 50, 101, 152, 200], got 19.")
    diverged = ks.runs.NonFiniteLoss("loss is nan at step 7; training stopped — lower "
                                     "the learning rate")
    assert errors.user_error_line(diverged, set(FLAGS)) == (
        "keras-simclr: error: loss is nan at step 7; training stopped — lower the "
        "learning rate", 1)
    with pytest.raises(ValueError) as raised:  # not the library's: a bug, traced
        np.reshape(np.zeros(3), (2, 2))
    assert errors.user_error_line(raised.value, set(FLAGS)) is None


def test_corrupt_image_is_named(tmp_path, capsys):
    from PIL import Image

    for i in range(4):
        (tmp_path / "a").mkdir(exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a" / f"{i}.png")
    bad = tmp_path / "a" / "1b.jpg"  # read in step 2: sorted, no shuffle
    bad.write_text("<html>not an image</html>")
    argv = ["pretrain", "--preset=demo", f"--dataset={tmp_path}",
            f"--model_dir={tmp_path / 'run'}", "--batch_size=2", "--train_steps=2",
            "--shuffle_buffer=0", "--noexport", "--noprobe"]
    code, err = _run_in_process(argv, capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"keras-simclr: error: corrupt image file {bad} — delete or replace it, "
        "or pass --skip_corrupt to skip unreadable files")


def test_batch_not_divisible_by_replicas(tmp_path):
    proc = subprocess.run(
        CLI + ["pretrain", "--preset=demo", f"--model_dir={tmp_path}",
               "--cpu_replicas=2", "--batch_size=7"],
        capture_output=True, text=True, timeout=300, env=ENV)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "keras-simclr: error: --batch_size=7 does not split over 2 replicas — use "
        "a multiple of 2, e.g. --batch_size=6.")
    assert "Traceback" not in proc.stderr


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit) as exit:
        cli._parse_flags(["keras-simclr", "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "keras-simclr pretrain --preset=demo" in out
    assert "--preset: <demo|cifar10|imagenet|imagenet_v2>" in out
    for flag in ("--learning_rate_scaling", "--sk_ratio", "--head_layer", "--teacher_dir",
                 "--distill_temperature", "--checkpoint", "keras-simclr import"):
        assert flag in out, flag


def test_console_script_is_declared():
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts")
                 if e.name == "keras-simclr"]
    assert script.value == "keras_simclr.cli:run"


def _tiny_dataset(tmp_path, count=48):
    images, labels = __import__("keras_simclr").data.make_shapes(count, seed=1)
    path = str(tmp_path / "tiny.npz")
    np.savez(path, images=images, labels=labels)
    return path


def test_pretrain_writes_the_model_dir_then_evaluates(tmp_path, capsys):
    dataset = _tiny_dataset(tmp_path)
    model_dir = tmp_path / "run"
    proc = subprocess.run(
        CLI + ["pretrain", "--preset=demo", f"--dataset={dataset}",
               f"--model_dir={model_dir}", "--batch_size=8", "--train_steps=3",
               "--proj_dim=16"],
        capture_output=True, text=True, timeout=400, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("keras-simclr: pretrained 3 steps (3 in this run)")
    assert "images/s" in summary and "probe_accuracy" in summary
    assert str(model_dir / "model.keras") in summary

    config = json.loads((model_dir / "config.json").read_text())
    assert (config["dataset"], config["image_size"], config["batch_size"]) == (
        dataset, 32, 8)
    assert (config["resnet_depth"], config["proj_dim"], config["probe"]) == (18, 16, True)
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
    rerun = CLI + ["pretrain", "--preset=demo", f"--dataset={dataset}",
                   f"--model_dir={model_dir}", "--batch_size=8", "--train_steps=3",
                   "--proj_dim=16", "--noexport"]
    proc = subprocess.run(rerun, capture_output=True, text=True, timeout=400, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming from step 3" in proc.stdout
    assert "(0 in this run)" in proc.stdout
    assert sorted(os.listdir(model_dir / "checkpoints")) == ["ckpt-3"]


    # A different architecture in the same model_dir is refused.
    code, err = _run_in_process(
        ["pretrain", "--preset=demo", f"--dataset={dataset}", f"--model_dir={model_dir}",
         "--batch_size=8", "--train_steps=3", "--proj_dim=32"], capsys)
    assert code == 2
    assert "holds a run with proj_dim=16, not 32 — pass --proj_dim=16" in err

    # A run whose config.json was lost is still refused by its checkpoint's
    # own record, and the record is not rewritten.
    (model_dir / "config.json").unlink()
    code, err = _run_in_process(
        ["pretrain", "--preset=demo", f"--dataset={dataset}", f"--model_dir={model_dir}",
         "--batch_size=8", "--train_steps=3", "--proj_dim=16", "--resnet_depth=34"],
        capsys)
    assert code == 2
    assert "holds a run with resnet_depth=18, not 34 — pass --resnet_depth=18" in err
    assert not (model_dir / "config.json").exists()
    proc = subprocess.run(rerun, capture_output=True, text=True, timeout=400, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming from step 3" in proc.stdout
    assert json.loads((model_dir / "config.json").read_text())["resnet_depth"] == 18

    # linear-eval and export read the run's config and model.
    code, err = _run_in_process(
        ["linear-eval", f"--model_dir={model_dir}", "--image_size=64"], capsys)
    assert code == 2 and "pretrained at 32" in err
    code, _ = _run_in_process(
        ["linear-eval", f"--model_dir={model_dir}", "--split=train[:75%]",
         "--eval_split=train[75%:]", "--epochs=2"], capsys)
    assert code == 0
    results = json.loads((model_dir / "results.json").read_text())
    assert 0 <= results["linear_eval"]["top1"] <= 1
    assert results["pretrain"]["steps"] == 3  # merged, not replaced
    code, _ = _run_in_process(
        ["export", f"--model_dir={model_dir}", f"--export_dir={tmp_path / 'enc'}"],
        capsys)
    assert code == 0 and (tmp_path / "enc" / "saved_model.pb").exists()
    code, err = _run_in_process(
        ["finetune", f"--model_dir={model_dir}", "--split=train[:75%]",
         "--eval_split=train[75%:]", "--head_layer=9"], capsys)
    assert code == 2 and "head_layer" in err and len(err.strip().splitlines()) == 1
    code, _ = _run_in_process(
        ["finetune", f"--model_dir={model_dir}", "--split=train[:75%]",
         "--eval_split=train[75%:]", "--epochs=1", "--batch_size=8",
         "--label_fraction=0.5"], capsys)
    assert code == 0
    results = json.loads((model_dir / "results.json").read_text())
    assert results["finetune_50pct"]["label_fraction"] == 0.5
    assert 0 <= results["finetune_50pct"]["top1"] <= 1
    finetuned = keras.saving.load_model(results["finetune_50pct"]["model"])
    assert finetuned.output_shape == (None, 10)
