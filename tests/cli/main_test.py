"""The keras-simclr command line: its commands, user errors, --help, the script."""

import dataclasses
import os

import pytest

from keras_simclr import cli, recipes
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
        (  # in this process Keras was imported before the flag
            ["export", "--model_dir=x", "--backend=jax"],
            "--backend=jax but Keras was imported with tensorflow before the flag "
            "was read — run `keras-simclr ... --backend=jax` as its own command",
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


@pytest.mark.parametrize(
    "argv, line",
    [
        (
            ["linear-eval", "--model_dir=x", "--label_fraction=0.01"],
            "keras-simclr: error: --label_fraction is not a flag of linear-eval "
            "(finetune and distill read it) — drop it; linear-eval's flags are "
            "--model_dir, --dataset, --split, --eval_split, --data_dir, --image_size, "
            "--epochs, --batch_size, --learning_rate, --momentum, --weight_decay",
        ),
        (
            ["finetune", "--model_dir=x", "--weight_decay=0.5", "--momentum=0.1"],
            "keras-simclr: error: --weight_decay and --momentum are not flags of "
            "finetune (pretrain and linear-eval read them) — drop them; finetune's "
            "flags are --model_dir, --dataset, --split, --eval_split, --data_dir, "
            "--image_size, --label_fraction, --head_layer, --epochs, --batch_size, "
            "--learning_rate, --seed",
        ),
        (
            ["pretrain", "--preset=demo", "--model_dir=x", "--export_dir=y"],
            "keras-simclr: error: --export_dir is not a flag of pretrain (export "
            "reads it) — drop it; see `keras-simclr pretrain --help` for its flags",
        ),
        (
            ["export", "--model_dir=x", "--preset=demo"],
            "keras-simclr: error: --preset is not a flag of export (pretrain reads "
            "it) — drop it; export's flags are --model_dir, --export_dir, "
            "--include_projection, --overwrite",
        ),
    ],
)
def test_a_flag_the_command_does_not_read_is_refused(argv, line, capsys, tmp_path):
    argv = [a.replace("--model_dir=x", f"--model_dir={tmp_path}") for a in argv]
    code, err = run_in_process(argv, capsys)
    assert (code, err.splitlines()) == (2, [line])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "command, more",
    [
        ("import", ["--epochs=2"]),
        ("distill", ["--teacher_dir=t", "--momentum=0.5"]),
        ("linear-eval", ["--preset=demo"]),
        ("finetune", ["--distill_alpha=0.5"]),
        ("export", ["--image_size=32"]),
    ],
)
def test_every_command_refuses_another_commands_flag(command, more, capsys, tmp_path):
    code, err = run_in_process([command, f"--model_dir={tmp_path}", *more], capsys)
    flag = more[-1].split("=")[0]
    assert code == 2
    assert err.startswith(f"keras-simclr: error: {flag} is not a flag of {command} (")
    assert len(err.splitlines()) == 1


def test_each_command_maps_its_flags_to_arguments_the_library_takes():
    import inspect

    from keras_simclr import distillation, evaluation, runs, strategy
    from keras_simclr.cli import commands

    def parameters(*functions):
        return {p for f in functions for p in inspect.signature(f).parameters}

    takes = {
        "linear-eval": parameters(runs.linear_eval, evaluation.linear_eval),
        "finetune": parameters(runs.finetune, evaluation.finetune),
        "distill": parameters(runs.distill, distillation.distill),
        "export": parameters(runs.export) | {"overwrite"},  # runs' new argument
        "import": parameters(runs.import_checkpoint),
        "pretrain": parameters(strategy.resolve_strategy)
        | {f.name for f in dataclasses.fields(recipes.Recipe)},
    }
    assert sorted(commands.COMMANDS) == sorted(takes)
    for name, command in commands.COMMANDS.items():
        assert set(command.arguments.values()) <= takes[name], name
        assert command.flags[0] == "model_dir"
        assert set(command.flags) <= set(FLAGS), name  # each flag is defined
    # What each command read before the table: nothing that worked is refused.
    data = {"dataset", "split", "eval_split", "data_dir", "image_size"}
    assert set(commands.COMMANDS["linear-eval"].arguments) == data | {
        "epochs",
        "batch_size",
        "learning_rate",
        "momentum",
        "weight_decay",
    }
    assert set(commands.COMMANDS["distill"].arguments) == data | {
        "teacher_dir",
        "label_fraction",
        "epochs",
        "batch_size",
        "learning_rate",
        "seed",
        "distill_temperature",
        "distill_alpha",
    }
    assert {"tpu", "num_gpus", "cpu_replicas", "preset", "sk_ratio"} <= set(
        commands.COMMANDS["pretrain"].arguments
    )


def _help(capsys, *argv):
    with pytest.raises(SystemExit) as exit:
        cli._parse_flags(["keras-simclr", *argv])
    return exit.value.code, capsys.readouterr().out


def test_helpfull_exits_0_with_the_librarys_flags_first(capsys):
    code, out = _help(capsys, "pretrain", "--helpfull")
    assert code == 0
    assert out.startswith("keras-simclr pretrain: Pretrains a SimCLR model")
    lines = out.splitlines()
    ours = lines.index("Flags of pretrain:")
    theirs = lines.index("Flags of absl and TensorFlow:")
    assert (
        ours
        < lines.index(
            "  --batch_size: Global batch size (all replicas). (default: 512)"
        )
        < theirs
    )
    assert theirs < lines.index("absl.logging:")
    assert "--export_dir" not in out  # export's flag, not pretrain's
    code, out = _help(capsys, "--helpfull")
    assert code == 0 and out.index("--teacher_dir") < out.index("absl.logging:")


def test_command_help_lists_its_own_flags(capsys):
    code, out = _help(capsys, "linear-eval", "--help")
    assert code == 0
    assert "Needs --model_dir. Other flags are refused." in out
    listed = {
        line.split(":")[0].strip()
        for line in out.splitlines()
        if line.startswith("  --")
    }
    assert listed == {f"--{flag}" for flag in cli.COMMANDS["linear-eval"].flags}


def test_help_examples_have_no_gaps(capsys):
    _, out = _help(capsys, "--help")
    examples = [line for line in out.splitlines() if "keras-simclr " in line]
    for command in ("distill", "import"):
        (line,) = [e for e in examples if f"keras-simclr {command} --" in e]
        assert "  " not in line.strip(), line
    assert (
        "keras-simclr distill --model_dir=runs/demo --teacher_dir=runs/demo "
        "--label_fraction=0.1" in out
    )
