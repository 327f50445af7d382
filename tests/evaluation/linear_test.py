"""Linear evaluation on the frozen representation."""

import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import evaluation
from tests.evaluation.patches import (
    CLASSES,
    MOVING_MEAN,
    MOVING_STD,
    SIZE,
    patch_data,
    patch_encoder,
    unchanged,
    weights,
)

pytestmark = pytest.mark.backend_neutral


def test_linear_eval_on_informative_and_uninformative_features():
    train, test = patch_data(400, seed=0), patch_data(200, seed=1)
    encoder = patch_encoder()
    before = weights(encoder)
    results = evaluation.linear_eval(
        encoder, train, test, epochs=20, batch_size=64, learning_rate=0.5
    )
    assert results["top1"] >= 0.98 and results["top5"] == 1.0
    assert results["train_top1"] >= 0.98
    assert results["num_train"] == 400 and results["num_test"] == 200
    assert results["num_classes"] == CLASSES and results["feature_dim"] == 48
    # Frozen: weights and batch-norm statistics untouched.
    assert unchanged(before, encoder)
    shuffled = (test[0], np.random.default_rng(0).permutation(test[1]))
    chance = evaluation.linear_eval(
        encoder,
        (train[0], np.random.default_rng(1).permutation(train[1])),
        shuffled,
        epochs=20,
        batch_size=64,
        learning_rate=0.5,
    )
    assert chance["top1"] < 0.3


def test_linear_eval_takes_datasets_skips_unlabelled_and_crops_large_images():
    images, labels = patch_data(160, seed=2, size=48)
    labels[:10] = -1  # unlabelled: skipped
    train = tf.data.Dataset.from_tensor_slices((images, labels))
    # The 87.5% centre crop of a 48 px image keeps 42 px: a border of 3 px
    # that the encoder never sees.
    test_images = np.full((8, 48, 48, 3), 200, np.uint8)
    test_images[:, 3:45, 3:45] = 0
    encoder = patch_encoder(size=32)
    results = evaluation.linear_eval(
        encoder,
        train,
        (test_images, np.zeros(8, np.int32)),
        num_classes=CLASSES,
        epochs=2,
        batch_size=32,
    )
    assert results["num_train"] == 150
    assert results["image_size"] == [32, 32]
    features, _ = evaluation.extract_features(
        encoder, (test_images, np.zeros(8, np.int32))
    )
    # Black after the crop: every cell mean is 0 (to interpolation round-off).
    np.testing.assert_allclose(features, -MOVING_MEAN / MOVING_STD, atol=0.05)


def test_linear_eval_with_augmentation_keeps_the_encoder_frozen():
    rng = np.random.default_rng(0)
    labels = (np.arange(120) % 3).astype(np.int32)
    images = rng.integers(0, 40, (120, SIZE, SIZE, 3))
    images[np.arange(120), :, :, labels] += 200  # class = dominant channel
    images = images.astype(np.uint8)
    encoder = patch_encoder(dense=True)
    before = weights(encoder)
    results = evaluation.linear_eval(
        encoder,
        (images[:90], labels[:90]),
        (images[90:], labels[90:]),
        epochs=15,
        batch_size=30,
        learning_rate=0.5,
        augment=True,
    )
    assert results["augment"] and results["top1"] >= 0.95
    assert unchanged(before, encoder)


def test_progress_lines_name_the_training_accuracy(capsys):
    train, test = patch_data(64, seed=0), patch_data(32, seed=1)
    results = evaluation.linear_eval(
        patch_encoder(), train, test, epochs=2, batch_size=32, verbose=2
    )
    epochs = [line for line in capsys.readouterr().out.splitlines() if "loss" in line]
    assert len(epochs) == 2
    # Keras's lines show the classifier's training accuracy, named as such;
    # the test top-1 is the result's "top1".
    assert all("train_top1:" in line and " top1:" not in line for line in epochs)
    shown = float(epochs[-1].split("train_top1: ")[1].split()[0])
    assert set(results) >= {"top1", "top5", "train_top1"}
    assert 0 <= shown <= 1
