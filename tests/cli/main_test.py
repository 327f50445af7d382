"""The keras-simclr command line: its commands, user errors, --help, the script."""

import pytest

from keras_simclr import cli
from tests.command_line import FLAGS, run_in_process


@pytest.mark.parametrize(
    "argv, message",
    [
        (["pretrain", "--preset=huge", "--model_dir=x"], "--preset=huge"),
        (["pretrain", "--preset=demo"], "no --model_dir"),
        (["pretrain", "--model_dir=x"], "no dataset — pass --dataset"),
        (["train", "--model_dir=x"], "'train' is not a command"),
        ([], "no command is not a command"),
        (
            ["pretrain", "--preset=demo", "--model_dir=x", "--temperature=0"],
            "--temperature=0.0 is out of range — use T > 0",
        ),
        (
            ["pretrain", "--preset=demo", "--model_dir=x", "--resnet_depth=19"],
            "not a ResNet",
        ),
        (
            ["pretrain", "--dataset=no_such_set", "--model_dir=x"],
            "unknown dataset 'no_such_set'",
        ),
        (
            [
                "pretrain",
                "--dataset=cifar10",
                "--data_dir=/no/such/dir",
                "--model_dir=x",
            ],
            "data_dir /no/such/dir does not exist",
        ),
        (["pretrain", "--dataset=/no/such/folder/", "--model_dir=x"], "no folder"),
        (
            [
                "pretrain",
                "--preset=demo",
                "--image_size=16",
                "--nocifar_stem",
                "--model_dir=x",
            ],
            "too small for the ImageNet stem",
        ),
        (
            ["pretrain", "--preset=demo", "--batch_size=6000", "--model_dir=x"],
            "fewer than one batch of 6000",
        ),
        (["linear-eval", "--model_dir=/no/such/run"], "no pretrained model"),
        (
            ["pretrain", "--preset=demo", "--model_dir=x", "--learning_rate=inf"],
            "--learning_rate=inf is out of range — use a finite",
        ),
        (
            ["pretrain", "--preset=demo", "--model_dir=x", "--weight_decay=inf"],
            "--weight_decay=inf is out of range",
        ),
        (
            ["pretrain", "--preset=demo", "--model_dir=x", "--warmup_epochs=inf"],
            "--warmup_epochs=inf is out of range",
        ),
        (
            ["pretrain", "--preset=demo", "--model_dir=x", "--shuffle_buffer=-5"],
            "--shuffle_buffer=-5 is out of range — use 0 (no shuffle)",
        ),
        (
            ["pretrain", "--preset=demo", "--model_dir=x", "--seed=-1"],
            "--seed=-1 is out of range — use a non-negative seed",
        ),
        (
            ["linear-eval", "--model_dir=x", "--epochs=0"],
            "--epochs=0 is out of range — use --epochs >= 1",
        ),
        (
            ["linear-eval", "--model_dir=x", "--batch_size=0"],
            "--batch_size=0 is out of range — use --batch_size >= 1",
        ),
        (
            ["finetune", "--model_dir=x", "--batch_size=0"],
            "--batch_size=0 is out of range",
        ),
        (
            ["export", "--model_dir=x", "--export_dir=x/file.txt"],
            "file.txt is an existing file — pass a folder path",
        ),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, message, capsys, tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    argv = [
        a.replace("--model_dir=x", f"--model_dir={tmp_path}").replace(
            "--export_dir=x", f"--export_dir={tmp_path}"
        )
        for a in argv
    ]
    code, err = run_in_process(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keras-simclr: error: ")
    assert message in lines[0]
    assert " — " in lines[0]  # what is wrong — how to fix it


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit) as exit:
        cli._parse_flags(["keras-simclr", "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "keras-simclr pretrain --preset=demo" in out
    assert "--preset: <demo|cifar10|imagenet|imagenet_v2>" in out
    for flag in (
        "--learning_rate_scaling",
        "--sk_ratio",
        "--head_layer",
        "--teacher_dir",
        "--distill_temperature",
        "--checkpoint",
        "keras-simclr import",
    ):
        assert flag in out, flag


def test_console_script_is_declared():
    from importlib.metadata import entry_points

    (script,) = [
        e for e in entry_points(group="console_scripts") if e.name == "keras-simclr"
    ]
    assert script.value == "keras_simclr.cli:run"


def test_import_refuses_bad_arguments(tmp_path, capsys):
    code, err = run_in_process(["import", f"--model_dir={tmp_path / 'x'}"], capsys)
    assert code == 2 and "--checkpoint" in err
    code, err = run_in_process(
        [
            "import",
            f"--checkpoint={tmp_path / 'none'}",
            f"--model_dir={tmp_path / 'x'}",
        ],
        capsys,
    )
    assert (
        code == 2 and "checkpoint prefix" in err and len(err.strip().splitlines()) == 1
    )
    code, err = run_in_process(
        [
            "import",
            f"--checkpoint={tmp_path}",
            f"--model_dir={tmp_path / 'x'}",
            "--image_size=4",
        ],
        capsys,
    )
    assert code == 2 and "--image_size=4" in err
    code, err = run_in_process(
        ["pretrain", "--preset=demo", "--sk_ratio=-1", f"--model_dir={tmp_path / 'x'}"],
        capsys,
    )
    assert code == 2 and "--sk_ratio=-1.0" in err
    assert not FLAGS["sk_ratio"].present
