import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


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
