"""Runs a snippet of Python in a fresh process with the CPU split into N devices.

TensorFlow fixes its logical devices once per process, so every strategy size
gets its own interpreter. The snippet sees `strategy` (a MirroredStrategy over
the N CPU devices, or the default strategy for N = 1), `tf`, `keras`, `np` and
`save(**arrays)`, which hands NumPy arrays back to the test; the repository
root is on its path (`from tests.tiny_models import tiny_encoder`).

Example:

    out = run_with_replicas("save(n=strategy.num_replicas_in_sync)", 2)
    assert out["n"] == 2
"""

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

_PRELUDE = """
import os, sys
import numpy as np
import tensorflow as tf
_n = int(sys.argv[1])
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * max(_n, 1))
import keras
if _n > 1:
    strategy = tf.distribute.MirroredStrategy(
        [f"/cpu:{i}" for i in range(_n)],
        cross_device_ops=tf.distribute.ReductionToOneDevice())
else:
    strategy = tf.distribute.get_strategy()
def save(**arrays):
    np.savez(sys.argv[2], **arrays)
"""


def run_with_replicas(snippet, num_replicas, timeout=600, env=None):
    """Runs `snippet` on `num_replicas` CPU devices; returns what it saved.

    Args:
        snippet: Python source; see the module docstring for its names.
        num_replicas: number of logical CPU devices (and replicas).
        timeout: seconds before the process is killed.
        env: extra environment variables.

    Returns:
        A dict of the NumPy arrays passed to `save`.
    """
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "snippet.py")
        result = os.path.join(tmp, "result.npz")
        with open(script, "w") as f:
            f.write(_PRELUDE + textwrap.dedent(snippet))
        # The repository root is importable, for shared helpers (tests.tiny_models).
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        full_env = dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONPATH=path,
            KERAS_BACKEND="tensorflow",
            CUDA_VISIBLE_DEVICES="",
        )
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, script, str(num_replicas), result],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"snippet failed on {num_replicas} replicas:\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
            )
        with np.load(result, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
