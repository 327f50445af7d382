import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# JAX compiles each step once per process; the tests start many processes
# (CLI runs, other device counts) that compile the same steps. A shared
# persistent cache (set before JAX is imported, inherited by subprocesses)
# turns a ResNet-18 step's 30 s of compilation into a read.
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR",
    os.path.join(os.path.dirname(os.path.dirname(__file__)), ".jax_cache"),
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")


def pytest_collection_modifyitems(config, items):
    """On a backend other than TensorFlow, only backend-neutral tests run.

    CI's second pass (`KERAS_BACKEND=jax pytest -m backend_neutral`) selects
    them anyway; this keeps a plain `pytest` on JAX from running the
    TensorFlow-only tests (strategies, tf.data views, SavedModel internals).
    """
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        return
    skip = pytest.mark.skip(reason="TensorFlow-only test (not backend_neutral)")
    for item in items:
        if "backend_neutral" not in item.keywords:
            item.add_marker(skip)
