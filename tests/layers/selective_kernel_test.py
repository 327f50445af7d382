"""Tests of keras_simclr/layers/selective_kernel.py."""

import numpy as np
import pytest

import keras_simclr as ks

pytestmark = pytest.mark.backend_neutral


def test_selective_kernel_mix_matches_numpy():
    rng = np.random.default_rng(0)
    mix = ks.layers.SelectiveKernelMix(sk_ratio=0.25, min_width=4)
    x = rng.normal(size=(3, 5, 5, 32)).astype("float32")
    mix.build(x.shape)
    for w in mix.weights:
        w.assign(
            rng.uniform(0.5, 1.5, size=w.shape).astype("float32")
            if "variance" in w.name
            else rng.normal(size=w.shape).astype("float32")
        )
    got = np.asarray(mix(x, training=False))
    bn = mix.squeeze_bn
    a, b = x[..., :16], x[..., 16:]
    g = (a + b).mean(axis=(1, 2), keepdims=True) @ mix.squeeze.kernel.numpy()[0, 0]
    assert g.shape[-1] == 4  # max(int(16 * 0.25), 4)
    g = (g - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 1e-5)
    g = np.maximum(g * bn.gamma.numpy() + bn.beta.numpy(), 0)
    m = g @ mix.expand.kernel.numpy()[0, 0]
    wa = 1 / (1 + np.exp(m[..., 16:] - m[..., :16]))
    np.testing.assert_allclose(got, a * wa + b * (1 - wa), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="sk_ratio"):
        ks.layers.SelectiveKernelMix(sk_ratio=0)
