import keras
import numpy as np
import pytest

import keras_simclr as ks


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_resnet18_cifar_matches_the_reference_parameter_count():
    encoder = ks.encoders.ResNet(18, cifar_stem=True, input_shape=(32, 32, 3))
    assert trainable_count(encoder) == 11_173_056
    assert encoder.output_shape == (None, 512)


def test_resnet50_has_the_standard_size_and_width():
    encoder = ks.encoders.ResNet(50)
    # torchvision's ResNet-50 without its classifier: 23,508,032.
    assert trainable_count(encoder) == 23_508_032
    assert encoder.output_shape == (None, 2048)


def test_reference_details():
    encoder = ks.encoders.ResNet(34, width_multiplier=2, input_shape=(64, 64, 3))
    assert encoder.output_shape == (None, 1024)
    convs = [l for l in encoder.layers if isinstance(l, keras.layers.Conv2D)]
    assert convs and not any(c.use_bias for c in convs)
    bns = [l for l in encoder.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert all(b.synchronized and b.momentum == 0.9 and b.epsilon == 1e-5 for b in bns)
    # The last BN of every residual branch starts at gamma = 0 (3+4+6+3 blocks),
    # so every block starts as its shortcut.
    zero = [b.name for b in bns if not np.any(b.gamma.numpy())]
    assert len(zero) == 16 and all(name.endswith("_bn2") for name in zero)
    # Projection shortcuts on the first block of every group, the first too.
    assert sorted(l.name for l in convs if l.name.endswith("_proj")) == [
        f"group{g}_block1_proj" for g in range(1, 5)
    ]


def test_bottleneck_strides_on_the_3x3_convolution():
    encoder = ks.encoders.ResNet(50, input_shape=(64, 64, 3))
    conv2 = encoder.get_layer("group2_block1_conv2")
    assert conv2.kernel_size == (3, 3) and conv2.strides == (2, 2)
    assert encoder.get_layer("group2_block1_conv1").strides == (1, 1)


def test_any_image_size_and_output():
    encoder = ks.encoders.ResNet(18, cifar_stem=True, synchronized_batch_norm=False)
    for size in (16, 20):
        h = encoder(np.random.uniform(size=(2, size, size, 3)).astype("float32"))
        assert h.shape == (2, 512)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"depth": 20}, "depth must be one of"), ({"width_multiplier": 1.5}, "width_multiplier"),
     ({"input_shape": (32, 32, 1)}, "input_shape")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ks.encoders.ResNet(**kwargs)


def test_projection_head_structure():
    head = ks.layers.ProjectionHead(num_layers=3, output_dim=32)
    h = np.random.default_rng(0).normal(size=(8, 64)).astype("float32")
    outputs = head.hidden_outputs(h, training=True)
    assert [o.shape[-1] for o in outputs] == [64, 64, 64, 32]
    assert head.layer_widths(64) == [64, 64, 64, 32]
    assert all(not d.use_bias for d in head.dense_layers)
    assert [bn.center for bn in head.bn_layers] == [True, True, False]
    # ReLU after all but the last layer.
    assert np.all(outputs[1].numpy() >= 0) and np.all(outputs[2].numpy() >= 0)
    assert np.any(outputs[3].numpy() < 0)
    # Kernels ~ N(0, 0.01^2).
    assert abs(np.std(head.dense_layers[0].kernel.numpy()) - 0.01) < 0.002
    restored = ks.layers.ProjectionHead.from_config(head.get_config())
    assert restored.num_layers == 3 and restored.output_dim == 32


def test_synchronize_batch_norm_keeps_weights_and_outputs():
    base = keras.applications.ResNet50(weights=None, include_top=False, pooling="avg",
                                       input_shape=(32, 32, 3))
    synced = ks.layers.synchronize_batch_norm(base)
    bns = [l for l in synced.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert bns and all(b.synchronized for b in bns)
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(synced(x, training=False), base(x, training=False), atol=1e-5)
    with pytest.raises(ValueError, match="Functional or Sequential"):
        ks.layers.synchronize_batch_norm(ks.layers.ProjectionHead())
