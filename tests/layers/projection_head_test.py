"""Tests of keras_simclr/layers/projection_head.py."""

import numpy as np
import pytest

import keras_simclr as ks

pytestmark = pytest.mark.backend_neutral


def test_projection_head_structure():
    head = ks.layers.ProjectionHead(num_layers=3, output_dim=32)
    h = np.random.default_rng(0).normal(size=(8, 64)).astype("float32")
    outputs = head.hidden_outputs(h, training=True)
    assert [o.shape[-1] for o in outputs] == [64, 64, 64, 32]
    assert head.layer_widths(64) == [64, 64, 64, 32]
    assert all(not d.use_bias for d in head.dense_layers)
    assert [bn.center for bn in head.bn_layers] == [True, True, False]
    # ReLU after all but the last layer.
    assert np.all(np.asarray(outputs[1]) >= 0) and np.all(np.asarray(outputs[2]) >= 0)
    assert np.any(np.asarray(outputs[3]) < 0)
    # Kernels ~ N(0, 0.01^2).
    assert abs(np.std(head.dense_layers[0].kernel.numpy()) - 0.01) < 0.002
    restored = ks.layers.ProjectionHead.from_config(head.get_config())
    assert restored.num_layers == 3 and restored.output_dim == 32
