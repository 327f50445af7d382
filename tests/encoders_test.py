import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from tests.backend_marks import tensorflow_only

pytestmark = pytest.mark.backend_neutral
# Keras refuses synchronized batch norm on JAX, where DataParallel makes it global.
SYNCHRONIZED = keras.backend.backend() == "tensorflow"


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
    convs = [
        layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert convs and not any(c.use_bias for c in convs)
    bns = [
        layer
        for layer in encoder.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert all(
        b.synchronized == SYNCHRONIZED and b.momentum == 0.9 and b.epsilon == 1e-5
        for b in bns
    )
    # The last BN of every residual branch starts at gamma = 0 (3+4+6+3 blocks),
    # so every block starts as its shortcut.
    zero = [b.name for b in bns if not np.any(np.asarray(b.gamma))]
    assert len(zero) == 16 and all(name.endswith("_bn2") for name in zero)
    # Projection shortcuts on the first block of every group, the first too.
    assert sorted(c.name for c in convs if c.name.endswith("_proj")) == [
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
    [
        ({"depth": 20}, "depth must be one of"),
        ({"width_multiplier": 1.5}, "width_multiplier"),
        ({"input_shape": (32, 32, 1)}, "input_shape"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ks.encoders.ResNet(**kwargs)


@pytest.mark.parametrize(
    "depth, width, sk_ratio, expected",
    [
        (50, 1, 0.0, 23_508_032),
        (50, 1, 0.0625, 35_215_584),
        (101, 2, 0.0625, 257_132_224),
        (152, 3, 0.0625, 794_704_160),
    ],
)
def test_sk_resnets_match_the_reference_parameter_counts(
    depth, width, sk_ratio, expected
):
    # Counted from the variables' shapes, never allocated (R152 3x is 3 GB).
    with keras.StatelessScope(initialize_variables=False):
        encoder = ks.encoders.ResNet(
            depth, width, sk_ratio=sk_ratio, input_shape=(224, 224, 3)
        )
    assert trainable_count(encoder) == expected
    assert encoder.output_shape == (None, 2048 * width)


def small_sk_resnet(**kwargs):
    return ks.encoders.ResNet(50, sk_ratio=0.0625, input_shape=(32, 32, 3), **kwargs)


def test_sk_resnet_structure():
    encoder = small_sk_resnet()
    assert encoder.name == "resnet50_sk"
    convs = [
        layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert not any(c.use_bias for c in convs)
    # Deep stem: 3x3/2 to 32, 3x3 to 32, 3x3 to 64.
    assert [
        (
            encoder.get_layer(n).kernel_size,
            encoder.get_layer(n).strides,
            encoder.get_layer(n).filters,
        )
        for n in ("stem_conv1", "stem_conv2", "stem_conv")
    ] == [((3, 3), (2, 2), 32), ((3, 3), (1, 1), 32), ((3, 3), (1, 1), 64)]
    sks = [
        layer
        for layer in encoder.layers
        if isinstance(layer, ks.layers.SelectiveKernelMix)
    ]
    assert len(sks) == 16
    sk = encoder.get_layer("group4_block1_sk")
    assert tuple(sk.squeeze.kernel.shape) == (1, 1, 512, 32)
    assert tuple(sk.expand.kernel.shape) == (1, 1, 32, 1024)
    assert encoder.get_layer("group4_block1_conv2").filters == 1024
    assert encoder.get_layer("group4_block1_conv2").strides == (2, 2)
    # ResNet-D shortcut: (pad), average pool, stride-1 1x1 convolution.
    pool = encoder.get_layer("group2_block1_proj_pool")
    assert (
        pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    )
    assert encoder.get_layer("group2_block1_proj").strides == (1, 1)
    assert encoder.get_layer("group1_block1_proj_pool").padding == "same"
    bns = [
        layer
        for layer in encoder.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    bns += [s.squeeze_bn for s in sks]
    assert all(
        b.synchronized == SYNCHRONIZED and b.epsilon == 1e-5 and b.momentum == 0.9
        for b in bns
    )
    zero = [b.name for b in bns if not np.any(np.asarray(b.gamma))]
    assert len(zero) == 16 and all(name.endswith("_bn3") for name in zero)
    unsynced = small_sk_resnet(synchronized_batch_norm=False)
    assert not any(
        s.squeeze_bn.synchronized
        for s in unsynced.layers
        if isinstance(s, ks.layers.SelectiveKernelMix)
    )


@tensorflow_only("tf.function XLA")
def test_sk_resnet_config_xla_and_mixed_precision():
    encoder = small_sk_resnet()
    x = np.random.default_rng(1).uniform(size=(2, 32, 32, 3)).astype("float32")
    expected = np.asarray(encoder(x, training=False))
    restored = keras.Model.from_config(encoder.get_config())
    restored.set_weights(encoder.get_weights())
    np.testing.assert_allclose(
        restored(x, training=False), expected, rtol=1e-5, atol=1e-5
    )
    xla = tf.function(lambda v: encoder(v, training=False), jit_compile=True)
    np.testing.assert_allclose(xla(x), expected, rtol=1e-4, atol=1e-4)
    keras.config.set_dtype_policy("mixed_float16")
    try:
        half = small_sk_resnet()
    finally:
        keras.config.set_dtype_policy("float32")
    half.set_weights(encoder.get_weights())
    sk = half.get_layer("group1_block1_sk")
    assert (
        sk.squeeze.compute_dtype == "float16" and sk.squeeze.kernel.dtype == "float32"
    )
    h = np.asarray(half(x, training=False)).astype("float32")
    assert np.linalg.norm(h - expected) / np.linalg.norm(expected) < 2e-2


def test_bad_sk_ratio():
    with pytest.raises(ValueError, match="sk_ratio must be a number in"):
        ks.encoders.ResNet(50, sk_ratio=-0.1)
