"""Runs a snippet of Python in a fresh process with the CPU split into N devices.

TensorFlow and JAX fix their devices once per process, so every device count
(and every backend) gets its own interpreter. The snippet sees `tf`, `keras`,
`np`, `save(**arrays)`, which hands NumPy arrays back to the test, and
- on TensorFlow, `strategy`: a MirroredStrategy over the N CPU devices, or
  the default strategy for N = 1;
- on JAX (`backend="jax"`), `jax` and `distribution`: a
  `keras.distribution.DataParallel` over the N host CPU devices
  (`XLA_FLAGS=--xla_force_host_platform_device_count=N`), or None for N = 1;
  the snippet sets it with `keras.distribution.set_distribution`.
The repository root is on its path (`from tests.tiny_models import
tiny_encoder`).

Example:

    out = run_with_replicas("save(n=strategy.num_replicas_in_sync)", 2)
    assert out["n"] == 2
    out = run_with_replicas("save(n=len(jax.devices()))", 4, backend="jax")
    assert out["n"] == 4
"""

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

_TENSORFLOW_PRELUDE = """
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

_JAX_PRELUDE = """
import os, sys
import numpy as np
import jax
import tensorflow as tf
import keras
_n = int(sys.argv[1])
assert len(jax.devices()) == _n, jax.devices()
distribution = keras.distribution.DataParallel(devices=jax.devices()) if _n > 1 else None
def save(**arrays):
    np.savez(sys.argv[2], **arrays)
"""


def run_with_replicas(
    snippet, num_replicas, timeout=600, env=None, backend="tensorflow"
):
    """Runs `snippet` on `num_replicas` CPU devices; returns what it saved.

    Args:
        snippet: Python source; see the module docstring for its names.
        num_replicas: number of logical CPU devices (and replicas).
        backend: "tensorflow" or "jax", the Keras backend of the process.
        timeout: seconds before the process is killed.
        env: extra environment variables.

    Returns:
        A dict of the NumPy arrays passed to `save`.
    """
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "snippet.py")
        result = os.path.join(tmp, "result.npz")
        with open(script, "w") as f:
            prelude = _JAX_PRELUDE if backend == "jax" else _TENSORFLOW_PRELUDE
            f.write(prelude + textwrap.dedent(snippet))
        # The repository root is importable, for shared helpers (tests.tiny_models).
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        full_env = dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONPATH=path,
            KERAS_BACKEND=backend,
            CUDA_VISIBLE_DEVICES="",
        )
        if backend == "jax":
            full_env.update(
                JAX_PLATFORMS="cpu",
                XLA_FLAGS=f"--xla_force_host_platform_device_count={num_replicas}",
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
                f"snippet failed on {num_replicas} {backend} replicas:\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
            )
        with np.load(result, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
