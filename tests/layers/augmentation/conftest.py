"""Fixtures of the augmentation layers' tests."""

import pytest

from keras_simclr.layers.augmentation.base_augmentation_layer import AugmentationLayer


@pytest.fixture(autouse=True)
def plain_ops(monkeypatch):
    """Most tests run the transforms as plain TensorFlow ops: the same numbers
    as the XLA-compiled default (which
    test_xla_matches_tf_data_and_eager_for_one_seed checks), without a
    compilation per shape. Tests that use the `xla` fixture run the
    default."""
    monkeypatch.setattr(AugmentationLayer, "jit_compile", False)


@pytest.fixture
def xla(monkeypatch, plain_ops):
    monkeypatch.setattr(AugmentationLayer, "jit_compile", True)
