"""The command line on data it cannot read: one line, exit status 2."""

import os
import subprocess

from tests.command_line import CLI, CPU_ENV

# Downloads fail at once: every proxy is a closed port on this machine.
OFFLINE_ENV = dict(
    CPU_ENV,
    **{
        name: "http://127.0.0.1:9"
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
    },
    NO_PROXY="",
    no_proxy="",
)


def _run(argv):
    env = dict(OFFLINE_ENV, PYTHONPATH=os.getcwd())
    return subprocess.run(
        CLI + argv, env=env, capture_output=True, text=True, timeout=120
    )


def test_pretrain_on_a_tfds_dataset_not_prepared_says_how_to_get_it(tmp_path):
    empty = tmp_path / "tfds"
    empty.mkdir()
    result = _run(
        [
            "pretrain",
            "--preset=cifar10",
            f"--data_dir={empty}",
            f"--model_dir={tmp_path / 'run'}",
        ]
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"keras-simclr: error: tfds dataset 'cifar10' is not downloaded and "
        f"prepared in {empty} — on a machine with network access run `tfds build "
        f"cifar10 --data_dir={empty}` (or tfds.load('cifar10', download=True) in "
        f"Python), copy that folder here if needed, and pass --data_dir={empty}."
    )
    assert "Traceback" not in result.stderr
    assert not os.listdir(empty)  # nothing downloaded, no half-prepared folder


def test_a_malformed_tfds_name_is_one_line(tmp_path):
    result = _run(
        [
            "pretrain",
            "--preset=demo",
            "--dataset=cifar-10",
            f"--model_dir={tmp_path / 'run'}",
        ]
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "keras-simclr: error: unknown dataset 'cifar-10' — did you mean cifar10"
    )
    assert "Traceback" not in result.stderr
