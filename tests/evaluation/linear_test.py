"""Linear evaluation, fine-tuning on label fractions, kNN accuracy."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import evaluation

SIZE = 16
CLASSES = 8
MOVING_MEAN, MOVING_STD = 0.3, 0.2


def patch_data(n, seed=0, size=SIZE):
    """Class c is a bright patch in cell c of a 4 x 4 grid, on dark noise."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % CLASSES).astype(np.int32)
    images = rng.integers(0, 60, (n, size, size, 3))
    cell = size // 4
    for i, c in enumerate(labels):
        row, col = divmod(int(c), 4)
        images[i, row * cell : (row + 1) * cell, col * cell : (col + 1) * cell] += 150
    return images.astype(np.uint8), labels


def patch_encoder(size=SIZE, dense=False):
    """Mean of each 4 x 4 cell, then batch norm (moving stats set apart)."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.AveragePooling2D(size // 4)(inputs)
    x = keras.layers.Flatten()(x)
    if dense:
        x = keras.layers.Dense(32, name="features")(x)
    bn = keras.layers.BatchNormalization(name="bn")
    x = bn(x)
    encoder = keras.Model(inputs, x, name="patch_encoder")
    bn.moving_mean.assign(np.full(bn.moving_mean.shape, MOVING_MEAN, "float32"))
    bn.moving_variance.assign(
        np.full(bn.moving_variance.shape, MOVING_STD**2 - bn.epsilon, "float32")
    )
    return encoder


def _weights(model):
    return [v.numpy().copy() for v in model.variables]


def _unchanged(before, model):
    return all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.variables))


def test_features_are_computed_in_inference_mode():
    images, labels = patch_data(50)
    encoder = patch_encoder()
    features, got_labels = evaluation.extract_features(encoder, (images, labels))
    cells = images.astype(np.float32).reshape(50, 4, 4, 4, 4, 3) / 255.0
    expected = (cells.mean(axis=(2, 4)).reshape(50, -1) - MOVING_MEAN) / MOVING_STD
    np.testing.assert_allclose(features, expected, atol=1e-5)
    np.testing.assert_array_equal(got_labels, labels)


def test_linear_eval_on_informative_and_uninformative_features():
    train, test = patch_data(400, seed=0), patch_data(200, seed=1)
    encoder = patch_encoder()
    before = _weights(encoder)
    results = evaluation.linear_eval(
        encoder, train, test, epochs=20, batch_size=64, learning_rate=0.5
    )
    assert results["top1"] >= 0.98 and results["top5"] == 1.0
    assert results["train_top1"] >= 0.98
    assert results["num_train"] == 400 and results["num_test"] == 200
    assert results["num_classes"] == CLASSES and results["feature_dim"] == 48
    # Frozen: weights and batch-norm statistics untouched.
    assert _unchanged(before, encoder)
    shuffled = (test[0], np.random.default_rng(0).permutation(test[1]))
    chance = evaluation.linear_eval(
        encoder, (train[0], np.random.default_rng(1).permutation(train[1])),
        shuffled, epochs=20, batch_size=64, learning_rate=0.5,
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
        encoder, train, (test_images, np.zeros(8, np.int32)),
        num_classes=CLASSES, epochs=2, batch_size=32,
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
    before = _weights(encoder)
    results = evaluation.linear_eval(
        encoder, (images[:90], labels[:90]), (images[90:], labels[90:]),
        epochs=15, batch_size=30, learning_rate=0.5, augment=True,
    )
    assert results["augment"] and results["top1"] >= 0.95
    assert _unchanged(before, encoder)


def test_class_balanced_subset():
    rng = np.random.default_rng(0)
    labels = np.concatenate([np.full(500, 0), np.full(300, 1), np.full(200, 2)])
    labels = rng.permutation(labels)
    labels[:30] = -1  # unlabelled
    n = int(np.sum(labels >= 0))
    for fraction in (0.01, 0.1, 0.5):
        subset = evaluation.class_balanced_subset(labels, fraction, seed=3)
        per_class = max(1, math.floor(fraction * n / 3 + 0.5))
        counts = np.bincount(labels[subset], minlength=3)
        assert np.all(labels[subset] >= 0)
        np.testing.assert_array_equal(counts, np.minimum(per_class, [500, 300, 200]))
        assert len(np.unique(subset)) == len(subset)
        np.testing.assert_array_equal(
            subset, evaluation.class_balanced_subset(labels, fraction, seed=3)
        )
        assert not np.array_equal(
            subset, evaluation.class_balanced_subset(labels, fraction, seed=4)
        )
    # A class with fewer images than its share gives all it has.
    counts = np.bincount(
        labels[evaluation.class_balanced_subset(labels, 0.9, seed=0)], minlength=3
    )
    assert counts.tolist() == [
        min(c, round(0.9 * n / 3)) for c in np.bincount(labels[labels >= 0])
    ]
    assert len(evaluation.class_balanced_subset(np.arange(100) % 10, 0.001)) == 10
    np.testing.assert_array_equal(
        evaluation.class_balanced_subset(labels, 1.0), np.flatnonzero(labels >= 0)
    )
    with pytest.raises(evaluation.EvaluationError, match="fraction"):
        evaluation.class_balanced_subset(labels, 0.0)


def _simclr_with(encoder):
    model = ks.SimCLR(
        encoder,
        projection_head=ks.layers.ProjectionHead(3, hidden_dim=24, output_dim=8),
        augment=keras.layers.Identity(),
    )
    model(np.zeros((1, SIZE, SIZE, 3), np.float32))
    return model


# Saved before any step, the optimizer has no variables yet.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_finetune_keeps_head_layers_and_leaves_the_model_alone(tmp_path):
    model = _simclr_with(patch_encoder(dense=True))
    before = _weights(model)
    train, test = patch_data(160, seed=0), patch_data(40, seed=1)
    finetuned, results = evaluation.finetune(
        model, train, test, label_fraction=0.1, head_layer=2, epochs=0
    )
    names = [layer.name for layer in finetuned.layers]
    assert names == [
        "images", "patch_encoder", "dense_0", "bn_0", "head_relu_0",
        "dense_1", "bn_1", "head_relu_1", "classifier",
    ]
    head = model.projection_head
    for i in range(2):
        np.testing.assert_array_equal(
            finetuned.get_layer(f"dense_{i}").kernel.numpy(),
            head.dense_layers[i].kernel.numpy(),
        )
    assert finetuned.output_shape == (None, CLASSES)
    assert results["num_labelled"] == 16 and results["per_class"] == 2
    assert results["head_layer"] == 2
    # Paper defaults: LARS, 0.005 * sqrt(batch), batch capped at the subset.
    assert results["optimizer"] == "lars" and results["batch_size"] == 16
    assert results["learning_rate"] == pytest.approx(0.005 * math.sqrt(16))
    with pytest.raises(evaluation.EvaluationError, match="head_layer"):
        evaluation.finetune(model.encoder, train, test, head_layer=1, epochs=0)
    # Saved with the library's layers only: loads in safe mode.
    finetuned.save(tmp_path / "finetuned.keras")
    keras.saving.load_model(tmp_path / "finetuned.keras", safe_mode=True)
    assert _unchanged(before, model)


def test_finetune_learns_from_a_label_fraction():
    model = _simclr_with(patch_encoder(dense=True))
    encoder_before = _weights(model.encoder)
    train, test = patch_data(800, seed=0), patch_data(200, seed=1)
    finetuned, results = evaluation.finetune(
        model, train, test, label_fraction=0.1, epochs=40, batch_size=40,
        learning_rate=1.0, optimizer="momentum", augment=False,
    )
    assert results["num_labelled"] == 80 and results["per_class"] == 10
    assert results["top1"] >= 0.9 and results["top5"] == 1.0
    assert _unchanged(encoder_before, model.encoder)
    tuned = finetuned.get_layer("patch_encoder").get_layer("features").kernel
    assert not np.allclose(tuned.numpy(), model.encoder.get_layer("features").kernel)


def _numpy_knn(bank, bank_labels, queries, labels, k, temperature, classes):
    bank = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    correct = 0
    for query, label in zip(queries, labels):
        similarity = bank @ query
        nearest = np.argsort(-similarity)[:k]
        votes = np.zeros(classes)
        np.add.at(votes, bank_labels[nearest], np.exp(similarity[nearest] / temperature))
        correct += int(np.argmax(votes) == label)
    return correct / len(labels)


@pytest.mark.parametrize("k,temperature", [(1, 0.1), (7, 0.07), (25, 0.5), (500, 0.1)])
def test_knn_accuracy_matches_numpy(k, temperature):
    rng = np.random.default_rng(k)
    centres = rng.normal(size=(5, 16))
    bank_labels = rng.integers(0, 5, 300)
    labels = rng.integers(0, 5, 120)
    bank = centres[bank_labels] + 1.5 * rng.normal(size=(300, 16))
    queries = centres[labels] + 1.5 * rng.normal(size=(120, 16))
    expected = _numpy_knn(bank, bank_labels, queries, labels, min(k, 300), temperature, 5)
    got = evaluation.knn_accuracy(
        bank.astype("float32"), bank_labels, queries.astype("float32"), labels,
        k=k, temperature=temperature, batch_size=50,
    )
    assert got == pytest.approx(expected, abs=1e-9)
    assert 0.3 < got < 1.0  # neither trivial nor perfect
