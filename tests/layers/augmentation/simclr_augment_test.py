"""Tests of SimCLRAugment: the whole chain in tf.data, eagerly, under XLA."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import layers
from tests.layers.augmentation.layer_inputs import REPO_ROOT, random_images


def test_dynamic_batch_and_size():
    augment = layers.SimCLRAugment(16, 12, blur=True, seed=1)
    spec = tf.TensorSpec((None, None, None, 3), tf.uint8)
    fn = tf.function(lambda x: augment(x, training=True), input_signature=[spec])
    for shape in ((3, 20, 26), (2, 40, 17)):
        out = fn(random_images(shape[0], shape[1], shape[2]))
        assert tuple(out.shape) == (shape[0], 16, 12, 3)
        assert 0.0 <= float(tf.reduce_min(out)) <= float(tf.reduce_max(out)) <= 1.0


def test_tf_data_batched_map(xla):
    images = random_images(6, 20, 26)
    augment = layers.SimCLRAugment(16, 16, seed=2)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(3).map(augment)
    batches = list(dataset)
    assert [tuple(b.shape) for b in batches] == [(3, 16, 16, 3)] * 2
    assert np.abs(batches[0] - batches[1]).max() > 0.05
    # Per-image map (rank 3) too, and views differ from batch to batch.
    singles = list(
        tf.data.Dataset.from_tensor_slices(images[:1]).repeat(2).map(augment)
    )
    assert np.abs(singles[0] - singles[1]).max() > 0.05


def test_xla_matches_tf_data_and_eager_for_one_seed(xla):
    images = tf.constant(random_images(4, 20, 26))
    augment = layers.SimCLRAugment(16, 16, blur=True, seed=2)
    params = augment.get_random_transformation(images, seed=[7, 9])
    eager = augment.transform_images(images, params)
    xla = tf.function(
        lambda x: augment.transform_images(
            x, augment.get_random_transformation(x, seed=[7, 9])
        ),
        jit_compile=True,
    )(images)
    np.testing.assert_allclose(xla, eager, atol=2e-5)
    augment.jit_compile = False
    plain = augment.transform_images(images, params)
    np.testing.assert_allclose(plain, eager, atol=2e-5)


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


@pytest.mark.parametrize(
    "run_eagerly,jit_compile", [(True, False), (False, False), (False, True)]
)
def test_custom_train_step(run_eagerly, jit_compile, xla):
    model = TinySimCLR()
    model.compile(optimizer="sgd", run_eagerly=run_eagerly, jit_compile=jit_compile)
    history = model.fit(random_images(4, 12, 12), epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert history.history["gap"][0] > 0.05  # the two views differ


@pytest.mark.backend_neutral
def test_flip_rate():
    augment = layers.SimCLRAugment(8, 8)
    params = augment.get_random_transformation(
        np.zeros((10000, 8, 8, 3), "uint8"), seed=1
    )
    assert abs(np.mean(np.asarray(params["flip"])) - 0.5) < 0.02
    # The flip is a mirror image: a left-to-right ramp, full box.
    ramp = np.tile(np.linspace(0, 1, 8, dtype="float32")[None, :, None], (8, 1, 3))[
        None
    ]
    flipped = augment._after_crop(  # takes (batch, height, 3, width)
        np.transpose(ramp, [0, 1, 3, 2]),
        {
            "flip": np.array([True]),
            "color": {
                "jitter": np.array([False]),
                "grayscale": np.array([False]),
                **{
                    k: np.ones([1], "float32")
                    for k in ("brightness", "contrast", "saturation", "hue")
                },
                "order": np.zeros([1], "int32"),
            },
            "blur": {"blur": np.array([False]), "sigma": np.ones([1], "float32")},
        },
    )
    np.testing.assert_allclose(flipped[0], ramp[0, :, ::-1])


@pytest.mark.backend_neutral
def test_saved_model_file_round_trip(tmp_path):
    model = keras.Sequential(
        [keras.Input((20, 26, 3), dtype="uint8"), layers.SimCLRAugment(16, 16, seed=1)]
    )
    path = str(tmp_path / "augment.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    images = random_images(2, 20, 26)
    np.testing.assert_allclose(
        loaded(images, training=False), model(images, training=False)
    )
    assert loaded.layers[0].get_config() == model.layers[0].get_config()


@pytest.mark.backend_neutral
def test_presets():
    imagenet = layers.SimCLRAugment.imagenet()
    assert (imagenet.height, imagenet.width, imagenet.strength, imagenet.blur) == (
        224,
        224,
        1.0,
        True,
    )
    assert imagenet.blur_radius == 11
    cifar = layers.SimCLRAugment.from_preset("cifar10", seed=3)
    assert (cifar.height, cifar.width, cifar.strength, cifar.blur, cifar.seed) == (
        32,
        32,
        0.5,
        False,
        3,
    )
    with pytest.raises(ValueError, match="preset"):
        layers.SimCLRAugment.from_preset("mnist")


def test_show_augmentations_example(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "show_augmentations",
        os.path.join(REPO_ROOT, "examples", "show_augmentations.py"),
    )
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
    first = grid[example.GAP : example.GAP + 24, example.GAP : example.GAP + 24]
    np.testing.assert_array_equal(first, example.tile(card, 24))
    assert grid[example.GAP : example.GAP + 24, step + example.GAP :].std() > 10
