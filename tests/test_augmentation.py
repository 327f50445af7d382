"""Tests of keras_simclr's augmentation layers (SPEC section 4).

Small images and batches; every test checks numbers against a reference
(tf.image, NumPy) or a statistic with a tolerance.
"""

import itertools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import layers
from keras_simclr.layers import augmentation as aug
from keras_simclr.layers import blur as blur_lib
from keras_simclr.layers import color as color_lib
from keras_simclr.layers import crop as crop_lib
from tests.replicas import run_with_replicas

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC = [layers.RandomResizedCrop, layers.ColorDistortion,
          layers.GaussianBlur, layers.Solarize, layers.SimCLRAugment]


@pytest.fixture(autouse=True)
def plain_ops(monkeypatch):
    """Most tests run the transforms as plain TensorFlow ops: the same numbers
    as the XLA-compiled default (which
    test_xla_matches_tf_data_and_eager_for_one_seed checks), without a
    compilation per shape. Tests that use the `xla` fixture run the
    default."""
    monkeypatch.setattr(aug.AugmentationLayer, "jit_compile", False)


@pytest.fixture
def xla(monkeypatch, plain_ops):
    monkeypatch.setattr(aug.AugmentationLayer, "jit_compile", True)


def _images(n=4, height=24, width=30, seed=0, dtype="uint8"):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, height, width, 3), dtype=np.uint8)
    return x if dtype == "uint8" else (x / 255.0).astype(dtype)


def _smooth_images(n=4, height=24, width=30, seed=0):
    """Colourful images with structure (random noise hides blur and crops)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    out = []
    for _ in range(n):
        a = rng.uniform(1, 6, 3)
        b = rng.uniform(0, 6, 3)
        out.append(0.5 + 0.5 * np.sin(a * (x[..., None] + 0.7 * y[..., None])
                                      + b))
    return np.stack(out).astype("float32")


def _make(cls, seed=0, **kwargs):
    if cls in (layers.RandomResizedCrop, layers.SimCLRAugment):
        kwargs.setdefault("height", 16)
        kwargs.setdefault("width", 16)
    if cls is layers.Solarize:
        kwargs.setdefault("probability", 0.5)
    if cls is layers.SimCLRAugment:
        kwargs.setdefault("blur", True)
    return cls(seed=seed, **kwargs)


# ------------------------------------------------------------------ inputs --


@pytest.mark.parametrize("cls", PUBLIC)
def test_dtypes_ranks_and_output_range(cls):
    layer = _make(cls)
    size = (16, 16) if cls in (layers.RandomResizedCrop,
                               layers.SimCLRAugment) else (24, 30)
    for dtype in ("uint8", "float32", "float64"):
        batch = _images(dtype=dtype)
        out = layer(batch)
        assert out.dtype == tf.float32
        assert tuple(out.shape) == (4,) + size + (3,)
        assert 0.0 <= float(tf.reduce_min(out))
        assert float(tf.reduce_max(out)) <= 1.0
        single = layer(batch[0])
        assert tuple(single.shape) == size + (3,)
        assert single.dtype == tf.float32
        assert tuple(layer.compute_output_shape((None, 24, 30, 3))) == (
            (None,) + size + (3,))


@pytest.mark.parametrize("cls", PUBLIC)
def test_clear_errors_for_bad_inputs(cls):
    layer = _make(cls)
    with pytest.raises(ValueError, match="batch"):
        layer(np.zeros((24, 30), "uint8"))
    with pytest.raises(ValueError, match="grayscale_to_rgb"):
        layer(np.zeros((2, 24, 30, 1), "uint8"))
    with pytest.raises(ValueError, match="alpha"):
        layer(np.zeros((2, 24, 30, 4), "uint8"))
    with pytest.raises(ValueError, match="unsupported dtype int32"):
        layer(np.zeros((2, 24, 30, 3), "int32"))


def test_dynamic_batch_and_size():
    augment = layers.SimCLRAugment(16, 12, blur=True, seed=1)
    spec = tf.TensorSpec((None, None, None, 3), tf.uint8)
    fn = tf.function(lambda x: augment(x, training=True),
                     input_signature=[spec])
    for shape in ((3, 20, 26), (2, 40, 17)):
        out = fn(_images(shape[0], shape[1], shape[2]))
        assert tuple(out.shape) == (shape[0], 16, 12, 3)
        assert 0.0 <= float(tf.reduce_min(out)) <= float(
            tf.reduce_max(out)) <= 1.0


def test_inference_views_are_deterministic_centre_crops():
    images = _images(2, 48, 64)
    augment = layers.SimCLRAugment(16, 16, seed=3)
    out = augment(images, training=False)
    # SPEC section 7: centre crop keeping 87.5% of the shorter side, resize.
    side = round(0.875 * 48)  # 42
    y0, x0 = (48 - side + 1) // 2, (64 - side + 1) // 2
    expected = tf.image.resize(
        images[:, y0:y0 + side, x0:x0 + side].astype("float32") / 255.0,
        (16, 16))
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_array_equal(out, augment(images, training=False))
    # Sources of 32 px or less: a plain resize (here: unchanged).
    small = _images(2, 16, 16)
    np.testing.assert_allclose(augment(small, training=False),
                               small / 255.0, atol=1e-6)
    # RandomResizedCrop: the largest centred box of the output's aspect.
    crop = layers.RandomResizedCrop(16, 32)
    expected = tf.image.resize(
        images[:, 8:40].astype("float32") / 255.0, (16, 32))
    np.testing.assert_allclose(crop(images, training=False), expected,
                               atol=1e-5)
    for cls in (layers.ColorDistortion, layers.GaussianBlur, layers.Solarize):
        np.testing.assert_allclose(
            _make(cls)(images, training=False), images / 255.0, atol=1e-7)


# --------------------------------------------------------------- per image --


@pytest.mark.parametrize("cls", PUBLIC)
def test_identical_images_give_different_views(cls):
    kwargs = {}  # Solarize: probability 0.5 (see _make)
    if cls is layers.GaussianBlur:  # sigma below ~0.25 barely blurs
        kwargs = {"probability": 1.0, "sigma": (0.5, 2.0)}
    if cls is layers.ColorDistortion:
        kwargs = {"jitter_probability": 1.0}
    layer = _make(cls, **kwargs)
    if cls is layers.Solarize:  # one draw (on / off) per image
        image = _smooth_images(1)
        out = layer(np.repeat(image, 64, axis=0)).numpy()
        solarized = np.all(np.isclose(out, np.where(image < 0.5, image,
                                                    1 - image)), (1, 2, 3))
        assert np.all(solarized | np.all(np.isclose(out, image), (1, 2, 3)))
        assert 16 < solarized.sum() < 48
        return
    out = layer(np.repeat(_smooth_images(1), 8, axis=0)).numpy()
    flat = out.reshape(8, -1)
    distances = np.abs(flat[:, None] - flat[None]).max(-1)
    assert np.all(distances[~np.eye(8, dtype=bool)] > 1e-4)


def test_every_call_draws_fresh_views_and_seed_reproduces():
    images = _images(3, 20, 26)
    a = layers.SimCLRAugment(16, 16, seed=11)
    b = layers.SimCLRAugment(16, 16, seed=11)
    a1, a2 = a(images), a(images)
    b1, b2 = b(images), b(images)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert np.abs(a1 - a2).max() > 0.05
    c = layers.SimCLRAugment(16, 16, seed=12)
    assert np.abs(c(images) - a1).max() > 0.05


# ------------------------------------------------------------- references --


@pytest.mark.parametrize("interpolation,tolerance",
                         [("bilinear", 2e-5), ("bicubic", 3e-3)])
@pytest.mark.parametrize("source", [(20, 26), (90, 120)])  # matmul, gather
def test_crop_matches_tf_image_resize_of_the_slice(interpolation, tolerance,
                                                   source):
    height, width = source
    images = _images(5, height, width, seed=4)
    boxes = [(0, 0, height, width), (3, 5, 9, 14), (1, 2, height - 1, 7),
             (height // 2, width // 3, height // 3, width // 2),
             (0, width - 4, 4, 4)]
    y0, x0, h, w = (tf.constant(v, tf.float32) for v in zip(*boxes))
    out = crop_lib.crop_and_resize(tf.constant(images), (y0, x0, h, w), 16,
                                   12, interpolation)
    for i, (by, bx, bh, bw) in enumerate(boxes):
        piece = images[i, by:by + bh, bx:bx + bw].astype("float32") / 255.0
        expected = tf.clip_by_value(
            tf.image.resize(piece, (16, 12), method=interpolation), 0.0, 1.0)
        np.testing.assert_allclose(out[i], expected, atol=tolerance)


def _reference_jitter(image, order, factors):
    """One image, the reference way: tf.image ops in `order`, clip each."""
    brightness, contrast, saturation, hue = factors
    for op in order:
        if op == color_lib.BRIGHTNESS:
            image = image * brightness
        elif op == color_lib.CONTRAST:
            image = tf.image.adjust_contrast(image, contrast)
        elif op == color_lib.SATURATION:
            image = tf.image.adjust_saturation(image, saturation)
        else:
            image = tf.image.adjust_hue(image, hue)
        image = tf.clip_by_value(image, 0.0, 1.0)
    return image


@pytest.mark.parametrize("jit", [True, False])
def test_colour_jitter_matches_tf_image_in_all_24_orders(jit):
    images = _smooth_images(24, 10, 12, seed=5)
    rng = np.random.default_rng(0)
    factors = np.stack([rng.uniform(0.2, 1.8, 24), rng.uniform(0.2, 1.8, 24),
                        rng.uniform(0.2, 1.8, 24), rng.uniform(-0.2, 0.2, 24)],
                       1).astype("float32")
    params = {
        "jitter": tf.ones([24], tf.bool),
        "brightness": factors[:, 0], "contrast": factors[:, 1],
        "saturation": factors[:, 2], "hue": factors[:, 3],
        "order": tf.range(24), "grayscale": tf.zeros([24], tf.bool),
    }
    layer = layers.ColorDistortion()
    layer.jit_compile = jit
    out = layer.transform_images(images, params)
    for i, order in enumerate(itertools.permutations(range(4))):
        assert tuple(color_lib.ORDERS[i]) == order
        expected = _reference_jitter(images[i], order, factors[i])
        np.testing.assert_allclose(out[i], expected, atol=2e-5,
                                   err_msg=f"order {order}")


def test_single_colour_ops_and_grayscale_match_tf_image():
    images = _smooth_images(5, 10, 12, seed=6)
    identity = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0,
                "hue": 0.0}
    cases = [("brightness", 1.4, lambda x: x * 1.4),
             ("contrast", 0.3, lambda x: tf.image.adjust_contrast(x, 0.3)),
             ("saturation", 1.7,
              lambda x: tf.image.adjust_saturation(x, 1.7)),
             ("hue", -0.15, lambda x: tf.image.adjust_hue(x, -0.15))]
    for name, value, reference in cases:
        values = {**identity, name: value}
        params = {k: tf.fill([5], float(v)) for k, v in values.items()}
        params.update(jitter=tf.ones([5], tf.bool),
                      order=tf.constant([0, 5, 11, 17, 23]),
                      grayscale=tf.zeros([5], tf.bool))
        out = color_lib.color_transform(tf.constant(images), params)
        expected = tf.clip_by_value(reference(images), 0.0, 1.0)
        np.testing.assert_allclose(out, expected, atol=2e-5, err_msg=name)
    gray = color_lib.grayscale(tf.constant(images))
    np.testing.assert_allclose(
        gray, tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(images)),
        atol=1e-6)


def _numpy_blur(image, sigma, radius):
    t = np.arange(-radius, radius + 1)
    k = np.exp(-t ** 2 / (2 * sigma ** 2))
    k /= k.sum()
    padded = np.pad(image, [(radius, radius), (radius, radius), (0, 0)],
                    mode="reflect")
    height, width = image.shape[:2]
    rows = sum(k[j] * padded[j:j + height] for j in range(2 * radius + 1))
    return sum(k[j] * rows[:, j:j + width] for j in range(2 * radius + 1))


@pytest.mark.parametrize("jit", [True, False])
def test_blur_matches_numpy_reflect_convolution(jit):
    images = _smooth_images(3, 26, 20, seed=7)
    sigma = np.array([0.3, 1.1, 2.0], "float32")
    params = {"blur": tf.constant([True, True, False]), "sigma": sigma}
    layer = layers.GaussianBlur(kernel_size=7)
    layer.jit_compile = jit
    out = layer.transform_images(images, params).numpy()
    for i in range(2):
        np.testing.assert_allclose(out[i], _numpy_blur(images[i], sigma[i], 3),
                                   atol=1e-5)
    np.testing.assert_array_equal(out[2], images[2])  # not blurred: exact
    # Default kernel: radius (side // 10) // 2; 23 taps at 224 px.
    assert blur_lib.default_radius(224) == 11
    assert layers.GaussianBlur().radius(26) == 1


def test_solarize():
    x = np.linspace(0, 1, 12, dtype="float32").reshape(1, 2, 2, 3)
    out = layers.Solarize(probability=1.0, threshold=0.5)(x)
    np.testing.assert_allclose(out, np.where(x < 0.5, x, 1 - x), atol=1e-7)
    np.testing.assert_allclose(layers.Solarize()(x), x)  # off by default


# --------------------------------------------------------- three places --


def test_tf_data_batched_map(xla):
    images = _images(6, 20, 26)
    augment = layers.SimCLRAugment(16, 16, seed=2)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(3).map(augment)
    batches = list(dataset)
    assert [tuple(b.shape) for b in batches] == [(3, 16, 16, 3)] * 2
    assert np.abs(batches[0] - batches[1]).max() > 0.05
    # Per-image map (rank 3) too, and views differ from batch to batch.
    singles = list(tf.data.Dataset.from_tensor_slices(images[:1]).repeat(
        2).map(augment))
    assert np.abs(singles[0] - singles[1]).max() > 0.05


def test_xla_matches_tf_data_and_eager_for_one_seed(xla):
    images = tf.constant(_images(4, 20, 26))
    augment = layers.SimCLRAugment(16, 16, blur=True, seed=2)
    params = augment.get_random_transformation(images, seed=[7, 9])
    eager = augment.transform_images(images, params)
    xla = tf.function(
        lambda x: augment.transform_images(
            x, augment.get_random_transformation(x, seed=[7, 9])),
        jit_compile=True)(images)
    np.testing.assert_allclose(xla, eager, atol=2e-5)
    augment.jit_compile = False
    plain = augment.transform_images(images, params)
    np.testing.assert_allclose(plain, eager, atol=2e-5)


def test_chunked_calls_match_one_call(xla):
    """Outside XLA a batch runs a few images per compiled call (8 at
    64 px); static and dynamic batches, with the overlapping last chunk,
    give the numbers of one uncompiled call."""
    assert aug.chunk_size(64, 64) == 8 and aug.chunk_size(224, 224) == 1
    images = tf.constant(_images(11, 70, 80, seed=8))
    augment = layers.SimCLRAugment(64, 64, blur=True, seed=3)
    params = augment.get_random_transformation(images, seed=[1, 2])
    static = augment.transform_images(images, params)
    dynamic = tf.function(
        augment.transform_images,
        input_signature=[tf.TensorSpec((None, 70, 80, 3), tf.uint8),
                         tf.nest.map_structure(
                             lambda t: tf.TensorSpec((None,), t.dtype),
                             params)])(images, params)
    augment.jit_compile = False
    plain = augment.transform_images(images, params)
    np.testing.assert_allclose(static, plain, atol=2e-5)
    np.testing.assert_allclose(dynamic, plain, atol=2e-5)


class TinySimCLR(keras.Model):
    """A custom train_step that augments twice, as SimCLR does."""

    def __init__(self):
        super().__init__()
        self.augment = layers.SimCLRAugment(8, 8, blur=True, seed=4)
        self.dense = keras.layers.Dense(4)

    def call(self, x):
        return self.dense(tf.reshape(x, [tf.shape(x)[0], -1]))

    def train_step(self, data):
        v1 = self.augment(data, training=True)
        v2 = self.augment(data, training=True)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((self(v1) - self(v2)) ** 2)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss, "gap": tf.reduce_max(tf.abs(v1 - v2))}


@pytest.mark.parametrize("run_eagerly,jit_compile",
                         [(True, False), (False, False), (False, True)])
def test_custom_train_step(run_eagerly, jit_compile, xla):
    model = TinySimCLR()
    model.compile(optimizer="sgd", run_eagerly=run_eagerly,
                  jit_compile=jit_compile)
    history = model.fit(_images(4, 12, 12), epochs=1, batch_size=4,
                        verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert history.history["gap"][0] > 0.05  # the two views differ


# -------------------------------------------------------- seeds, replicas --


def test_replicas_draw_different_views():
    snippet = """
    from keras_simclr.layers import SimCLRAugment
    images = np.random.default_rng(0).integers(
        0, 256, (2, 20, 26, 3), dtype=np.uint8)
    with strategy.scope():
        augment = SimCLRAugment(12, 12, blur=True, seed=5)

    @tf.function
    def step(x):
        return strategy.run(lambda: augment(x, training=True))

    views = [strategy.experimental_local_results(step(images))
             for _ in range(2)]
    single = SimCLRAugment(12, 12, blur=True, seed=5)
    save(r0=views[0][0].numpy(), r1=views[0][1].numpy(),
         r0_next=views[1][0].numpy(),
         single=single(images, training=True).numpy())
    """
    out = run_with_replicas(snippet, 2, env={"PYTHONPATH": REPO_ROOT})
    # Identical images on the two replicas: different views.
    assert np.abs(out["r0"] - out["r1"]).max(axis=(1, 2, 3)).min() > 0.05
    # Fresh views every step.
    assert np.abs(out["r0"] - out["r0_next"]).max() > 0.05
    # Replica 0 reproduces a single device with the same seed.
    np.testing.assert_allclose(out["r0"], out["single"], atol=1e-6)


# -------------------------------------------------------------- statistics --


def _expected_crop_area(height, width, scale=(0.08, 1.0),
                        ratio=(3 / 4, 4 / 3)):
    """Mean area fraction of the accepted boxes, by numerical integration.

    SPEC's sampler draws the area uniformly (mean 0.54 on [0.08, 1]) but
    keeps the first draw that fits: a large area fits only for ratios near
    the image's, so accepted boxes average less (0.478 on square images).
    """
    s = np.linspace(scale[0], scale[1], 20001)[:, None]
    r = np.exp(np.linspace(np.log(ratio[0]), np.log(ratio[1]), 2001))[None]
    area = s * height * width
    fits = ((np.sqrt(area * r) <= width) & (np.sqrt(area / r) <= height))
    p_fit = fits.mean(axis=1)
    return float((s[:, 0] * p_fit).sum() / p_fit.sum())


@pytest.mark.parametrize("height,width", [(400, 400), (300, 400)])
def test_crop_statistics(height, width):
    y0, x0, h, w = crop_lib.sample_crop_boxes(
        tf.constant([3, 4]), 20000, height, width)
    area = (h * w / (height * width)).numpy()
    expected = _expected_crop_area(height, width)
    assert abs(area.mean() - expected) < 0.006
    assert abs(_expected_crop_area(400, 400) - 0.478) < 0.001
    # Below 3/4 every draw fits the square image: uniform on [0.08, 0.75].
    if height == width:
        small = area[area <= 0.75]
        assert abs(small.mean() - (0.08 + 0.75) / 2) < 0.006
        assert abs(len(small) / len(area) - 0.67 / 0.789) < 0.015
    assert area.min() >= 0.079
    ratio = (w / h).numpy()
    assert ratio.min() >= 0.75 - 0.01 and ratio.max() <= 4 / 3 + 0.01
    if height == width:  # symmetric constraints: log-ratio centred on 0
        assert abs(np.mean(np.log(ratio))) < 0.01
    assert np.all((y0 >= 0) & (y0 + h <= height) & (x0 >= 0)
                  & (x0 + w <= width))
    # The offset is uniform over where the box fits.
    slack = (height - h).numpy()
    relative = (y0.numpy() / np.maximum(slack, 1))[slack > 50]
    assert abs(relative.mean() - 0.5) < 0.02


def test_flip_rate():
    augment = layers.SimCLRAugment(8, 8)
    params = augment.get_random_transformation(np.zeros((10000, 8, 8, 3),
                                                        "uint8"), seed=1)
    assert abs(float(tf.reduce_mean(tf.cast(params["flip"], tf.float32)))
               - 0.5) < 0.02
    # The flip is a mirror image: a left-to-right ramp, full box.
    ramp = np.tile(np.linspace(0, 1, 8, dtype="float32")[None, :, None],
                   (8, 1, 3))[None]
    flipped = augment._after_crop(  # takes (batch, height, 3, width)
        tf.transpose(ramp, [0, 1, 3, 2]), {"flip": tf.constant([True]),
                            "color": {"jitter": tf.constant([False]),
                                      "grayscale": tf.constant([False]),
                                      **{k: tf.ones([1]) for k in (
                                          "brightness", "contrast",
                                          "saturation", "hue")},
                                      "order": tf.zeros([1], tf.int32)},
                            "blur": {"blur": tf.constant([False]),
                                     "sigma": tf.ones([1])}})
    np.testing.assert_allclose(flipped[0], ramp[0, :, ::-1])


def test_grayscale_rate_and_strength_zero():
    images = np.repeat(_smooth_images(1, 4, 4), 3000, axis=0)
    out = layers.ColorDistortion(strength=1.0, seed=2)(images).numpy()
    gray = np.all(np.abs(out - out[..., :1]) < 1e-6, axis=(1, 2, 3))
    assert abs(gray.mean() - 0.2) < 0.025
    # Strength 0: every image unchanged, or its grayscale (p = 0.2).
    out = layers.ColorDistortion(strength=0.0, seed=3)(images).numpy()
    unchanged = np.abs(out - images).max(axis=(1, 2, 3)) < 1e-5
    expected_gray = color_lib.grayscale(tf.constant(images[:1])).numpy()
    as_gray = np.abs(out - expected_gray).max(axis=(1, 2, 3)) < 1e-5
    assert np.all(unchanged | as_gray)
    assert abs(as_gray.mean() - 0.2) < 0.025
    # No grayscale: colours exactly unchanged.
    out = layers.ColorDistortion(strength=0.0, grayscale_probability=0.0)(
        images[:50])
    np.testing.assert_allclose(out, images[:50], atol=1e-5)


@pytest.mark.parametrize("probability", [0.3, 0.5])
def test_blur_rate(probability):
    images = np.repeat(_images(1, 12, 12, dtype="float32"), 3000, axis=0)
    # (sigma from 0.5: below ~0.2 a blur changes pixels by less than 1e-6)
    out = layers.GaussianBlur(probability, sigma=(0.5, 2.0), kernel_size=5,
                              seed=4)(images)
    changed = np.abs(out.numpy() - images).max(axis=(1, 2, 3)) > 1e-6
    assert abs(changed.mean() - probability) < 0.025


def test_jitter_probability():
    params = layers.ColorDistortion().get_random_transformation(
        np.zeros((20000, 2, 2, 3), "uint8"), seed=5)
    rate = float(tf.reduce_mean(tf.cast(params["jitter"], tf.float32)))
    assert abs(rate - 0.8) < 0.01
    order = params["order"].numpy()
    assert np.bincount(order, minlength=24).min() > 20000 / 24 * 0.8
    low, high = color_lib.jitter_ranges(1.0)[0]
    assert low == pytest.approx(0.2) and high == pytest.approx(1.8)
    b = params["brightness"].numpy()
    assert b.min() >= 0.2 and b.max() < 1.8 and abs(b.mean() - 1.0) < 0.01


# ------------------------------------------------------------ serialization --


@pytest.mark.parametrize("cls", PUBLIC)
def test_config_round_trip_and_registration(cls):
    layer = _make(cls, seed=9)
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == f"keras_simclr>{cls.__name__}"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls and restored.get_config() == config
    images = _images(2, 20, 26)
    np.testing.assert_array_equal(layer(images), restored(images))
    doc = cls.__doc__
    for section in ("Args:", "Returns:", "Example:"):
        assert section in doc, f"{cls.__name__} docstring lacks {section}"


def test_saved_model_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((20, 26, 3), dtype="uint8"),
                              layers.SimCLRAugment(16, 16, seed=1)])
    path = str(tmp_path / "augment.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    images = _images(2, 20, 26)
    np.testing.assert_allclose(loaded(images, training=False),
                               model(images, training=False))
    assert loaded.layers[0].get_config() == model.layers[0].get_config()


def test_presets():
    imagenet = layers.SimCLRAugment.imagenet()
    assert (imagenet.height, imagenet.width, imagenet.strength,
            imagenet.blur) == (224, 224, 1.0, True)
    assert imagenet.blur_radius == 11
    cifar = layers.SimCLRAugment.from_preset("cifar10", seed=3)
    assert (cifar.height, cifar.width, cifar.strength, cifar.blur,
            cifar.seed) == (32, 32, 0.5, False, 3)
    with pytest.raises(ValueError, match="preset"):
        layers.SimCLRAugment.from_preset("mnist")


# ----------------------------------------------------------------- example --


def test_show_augmentations_example(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "show_augmentations",
        os.path.join(REPO_ROOT, "examples", "show_augmentations.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    out = str(tmp_path / "grid.png")
    example.main(["--out", out, "--views", "3", "--tile", "24"])
    grid = tf.io.decode_png(tf.io.read_file(out)).numpy()
    step = 24 + example.GAP
    assert grid.shape == (example.GAP + 2 * step, example.GAP + 4 * step, 3)
    # With an image file: the first tile of the first row is that image.
    source = str(tmp_path / "source.png")
    card = example.test_card(60, 90)
    tf.io.write_file(source, tf.io.encode_png(card))
    example.main([source, "--out", out, "--views", "3", "--tile", "24"])
    grid = tf.io.decode_png(tf.io.read_file(out)).numpy()
    first = grid[example.GAP:example.GAP + 24, example.GAP:example.GAP + 24]
    np.testing.assert_array_equal(first, example.tile(card, 24))
    assert grid[example.GAP:example.GAP + 24, step + example.GAP:].std() > 10
