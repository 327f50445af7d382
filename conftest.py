"""pytest set-up shared by the tests and the docstring examples.

`python -m pytest tests keras_simclr --doctest-modules` runs both. The
examples see `np`, `tf`, `keras`, `keras_simclr` and `ks` without importing
them, and each runs in its own empty working directory with the
environment (e.g. `TF_CONFIG`) restored afterwards, so that relative paths
such as "runs/demo" land in a temporary folder and no example leaks state
into the tests that run after it in the same process.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_doctest(request):
    """For docstring examples only: the names, a fresh folder, the environment."""
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_simclr

    request.getfixturevalue("doctest_namespace").update(
        np=np, tf=tf, keras=keras, keras_simclr=keras_simclr, ks=keras_simclr
    )
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.chdir(request.getfixturevalue("tmp_path"))
    saved_environment = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_environment)
