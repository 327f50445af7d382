import keras
import pytest

import keras_simclr as ks
from keras_simclr import backends
from keras_simclr.errors import UserInputError
from tests.tiny_models import tiny_encoder

pytestmark = pytest.mark.backend_neutral


def test_torch_gets_one_line_naming_the_supported_backends(monkeypatch):
    encoder = tiny_encoder()
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(UserInputError) as error:
        ks.SimCLR(encoder)
    assert str(error.value) == (
        "keras_simclr runs on the tensorflow and jax Keras backends, not torch - "
        "set KERAS_BACKEND=jax or KERAS_BACKEND=tensorflow before importing keras."
    )


def test_the_backend_in_use_is_supported():
    assert backends.check_backend() == keras.backend.backend()
    assert backends.replicas_in_sync() == 1


def test_batch_norm_is_synchronized_on_tensorflow_only():
    layer = ks.layers.batch_norm()
    assert layer.synchronized == (not backends.is_jax())
