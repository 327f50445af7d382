"""Marks for tests that only make sense on one Keras backend.

Example:

    @tensorflow_only("tf.function's XLA compilation")
    def test_...
"""

import keras
import pytest


def tensorflow_only(what):
    """Skips a backend-neutral module's test on other backends, saying why.

    Args:
        what: the TensorFlow machinery the test is about.

    Returns:
        A pytest mark.
    """
    return pytest.mark.skipif(
        keras.backend.backend() != "tensorflow", reason=f"TensorFlow-only: {what}"
    )
