"""Running the keras-simclr command line from tests: in this process or in a
fresh one, and the datasets the runs read.

Example:

    code, err = run_in_process(["pretrain", "--preset=huge"], capsys)
    assert code == 2
    subprocess.run(CLI + ["export", f"--model_dir={run}"], env=CPU_ENV)
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
from absl import flags

from keras_simclr import cli, data, runs

FLAGS = flags.FLAGS
# The command line in a fresh interpreter, as `keras-simclr` runs it.
CLI = [sys.executable, "-m", "keras_simclr.cli"]
# TensorFlow's C++ logs off; QUIET_ENV keeps the accelerators, CPU_ENV hides them.
QUIET_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
CPU_ENV = dict(QUIET_ENV, CUDA_VISIBLE_DEVICES="")


def as_in_a_fresh_process():
    """Unsets TensorFlow's global seed, as it is when a command starts.

    tf.data's `shuffle(seed=s)` pairs `s` with the global seed, which
    earlier tests in this worker set (`keras.utils.set_random_seed`): to
    recompute here what a command computed in its own process, start from
    the state that process had.
    """
    tf.random.set_seed(None)


def demo_pretrain(dataset, model_dir, *flags):
    """The command line of `keras-simclr pretrain --preset=demo` on `dataset`."""
    return CLI + [
        "pretrain",
        "--preset=demo",
        f"--dataset={dataset}",
        f"--model_dir={model_dir}",
        *flags,
    ]


def run_in_process(argv, capsys):
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


def recipe_config(argv):
    """The recipe (as a dict) that the flags in `argv` give."""
    FLAGS.unparse_flags()
    try:
        FLAGS(["keras-simclr"] + argv)
        return cli.options.recipe_from_flags(cli._given()).to_dict()
    finally:
        FLAGS.unparse_flags()


def shapes_npz(path, count, seed, **kwargs):
    """Writes `count` images of the "shapes" dataset to the .npz `path`.

    Returns:
        (path as a string, images, labels).
    """
    images, labels = data.make_shapes(count, seed=seed, **kwargs)
    np.savez(str(path), images=images, labels=labels)
    return str(path), images, labels


def held_out_accuracy(classifier, dataset, split):
    """(top-1, top-5) of `classifier` on `split` of `dataset`, images at their size.

    Independent of keras_simclr.evaluation: the images are only scaled to
    [0, 1], as its evaluation preprocessing leaves images already at the
    run's size.
    """
    pairs = list(data.load(dataset, split=split).as_numpy_iterator())
    images = np.stack([image for image, _ in pairs]).astype(np.float32) / 255.0
    labels = np.array([label for _, label in pairs])
    logits = classifier.predict(images, verbose=0)
    above = np.sum(logits > logits[np.arange(len(labels)), labels][:, None], axis=-1)
    return float(np.mean(above < 1)), float(np.mean(above < 5))


def latest_checkpoint(model_dir):
    """The run's latest complete checkpoint, or None."""
    return runs.latest_checkpoint(os.path.join(model_dir, "checkpoints"), warn=False)


def kill_after_first_checkpoint(command, model_dir, env=CPU_ENV, timeout=400):
    """Starts a run, SIGKILLs it once a checkpoint exists; returns its step."""
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        deadline = time.time() + timeout
        while latest_checkpoint(model_dir) is None:
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
    return latest_checkpoint(model_dir).step
