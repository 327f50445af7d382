"""Bad input to the Python API: a one-line UserInputError, never a silent wrong answer.

Each case used to train, evaluate or load without a word (or with a deep
TensorFlow trace); the tests pin the message that replaces it.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import data, evaluation, export
from keras_simclr.errors import ModelFileError, UserInputError
from tiny_models import tiny_encoder


def images(n=8, size=8, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, size, size, 3)).astype(np.float32)


def model(**kwargs):
    simclr = ks.SimCLR(
        tiny_encoder(8), ks.layers.ProjectionHead(2, output_dim=8),
        augment=keras.layers.Identity(), temperature=0.5, **kwargs,
    )
    simclr.compile(optimizer=keras.optimizers.SGD(0.1))
    return simclr


def one_line(error):
    text = str(error.value)
    assert "\n" not in text, text
    return text


# -- SimCLR.fit ---------------------------------------------------------------


def with_nan_in_image(index):
    x = images()
    x[index, 2, 3, 1] = np.nan
    return x


LABELS = np.arange(8) % 4


@pytest.fixture(scope="module")
def shared_model():
    """One model with a 4-class probe: fit reuses its traced step."""
    return model(num_classes=4)


@pytest.mark.parametrize(
    "x, y, kwargs, message",
    [
        # Trained on views clipped to [0, 1]: 62% of the pixels saturated.
        (images() * 255, LABELS, {}, r"float images must be in 0\.\.1, got a maximum of 2\d\d\.\d+ "
         r"in the images of training step 0 - divide them by 255, or pass uint8"),
        # Trained to NaN weights.
        (with_nan_in_image(5), LABELS, {}, "images of training step 1 hold NaN or Inf pixels"),
        # Loss 0 and zero gradients, every step.
        (images(), LABELS, {"batch_size": 1}, "global batch of at least 2 images"),
        # InvalidArgumentError: Graph execution error.
        (images(), LABELS + 1, {}, "labels must be < num_classes=4 for the probe, got label 4"),
        # 2.7 was truncated to 2.
        (images(), LABELS + 0.7, {}, "non-integer float label"),
        # Mean/std-normalised images were clipped to [0, 1] too.
        (images() - 0.5, LABELS, {}, "got a minimum of -0.4"),
    ],
    ids=["255", "nan", "batch_of_1", "label_too_large", "float_label", "negative"],
)
def test_fit_refuses_bad_batches(shared_model, x, y, kwargs, message):
    before = [w.numpy() for w in shared_model.trainable_weights]
    with pytest.raises(UserInputError, match=message) as error:
        shared_model.fit(x, y, batch_size=kwargs.get("batch_size", 4), shuffle=False, verbose=0)
    one_line(error)
    if "step 1" not in message:
        # The checks run before the update: a bad first batch trains nothing.
        after = shared_model.trainable_weights
        assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, after))


def test_integer_valued_float_labels_and_uint8_images_still_train(shared_model):
    history = shared_model.fit(
        (images() * 255).astype(np.uint8), LABELS.astype(np.float32), batch_size=4, verbose=0
    )
    assert np.isfinite(history.history["probe_loss"][-1])


def test_labels_must_match_the_images(shared_model):
    batch = tf.data.Dataset.from_tensors((images()[:4], LABELS[:3]))
    with pytest.raises(UserInputError, match="one id per image, got 3 labels for 4 images"):
        shared_model.fit(batch, verbose=0)


def test_evaluate_names_an_evaluation_batch(shared_model):
    with pytest.raises(UserInputError, match="images of an evaluation batch hold NaN"):
        shared_model.evaluate(with_nan_in_image(0), LABELS, batch_size=4, verbose=0)


@pytest.mark.parametrize(
    "x, message",
    [
        (images()[0], r"shape \(batch, height, width, 3\), got shape \(4, 8, 3\)"),
        (images()[:, None], r"got shape \(4, 1, 8, 8, 3\)"),
        (images()[..., :1], "3 channels \\(RGB\\), got 1"),
        (images()[..., :2], "3 channels \\(RGB\\), got 2"),
        (np.concatenate([images(), images()[..., :1]], -1), "3 channels \\(RGB\\), got 4"),
    ],
    ids=["rank3", "rank5", "1_channel", "2_channels", "4_channels"],
)
def test_image_shapes_are_checked_before_keras_builds(x, message):
    # Keras's own build error used to come first.
    simclr = model()
    with pytest.raises(UserInputError, match=message):
        simclr.fit(x, batch_size=4, verbose=0)
    assert not simclr.built


def test_a_ragged_batch_says_resize_to_one_size():
    # Used to be "needs the image size" or a TypeError on RaggedTensor.
    ragged = tf.data.Dataset.from_generator(
        lambda: iter([images(1)[0], images(1, size=6)[0]]),
        output_signature=tf.TensorSpec((None, None, 3), tf.float32),
    ).ragged_batch(2)
    with pytest.raises(UserInputError, match="ragged batch .* resize them to one size"):
        model().fit(ragged, verbose=0)


@pytest.mark.parametrize("temperature", [float("inf"), float("nan"), 0, -1, True, "0.5", None])
def test_simclr_refuses_bad_temperatures(temperature):
    # inf was accepted, and nothing ever trained.
    with pytest.raises(UserInputError, match="temperature must be a finite number > 0"):
        ks.SimCLR(tiny_encoder(), temperature=temperature)


def test_simclr_accepts_numpy_temperatures():
    # np.float32(0.5) was refused.
    simclr = ks.SimCLR(tiny_encoder(), temperature=np.float32(0.5))
    assert simclr.temperature == 0.5 and type(simclr.temperature) is float
    assert ks.SimCLR(tiny_encoder(), num_classes=np.int64(10)).num_classes == 10


@pytest.mark.parametrize(
    "kwargs, message",
    [({"num_classes": 1}, "num_classes must be >= 2"),
     ({"num_classes": 2.5}, "num_classes must be an integer"),
     ({"probe_layer": -1}, "probe_layer must be >= 0")],
)
def test_simclr_refuses_bad_probe_settings(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        ks.SimCLR(tiny_encoder(), **kwargs)


# -- data.load ------------------------------------------------------------------


def test_arrays_have_only_a_train_split():
    # Every split name used to return every image, typos included.
    x = (images(10) * 255).astype(np.uint8)
    with pytest.raises(data.DataError, match=r"has splits \['train'\], not 'test' — split"):
        data.load((x, np.arange(10) % 2), split="test")
    with pytest.raises(data.DataError, match="not 'trian'"):
        data.describe(x, split="trian")


def test_npz_test_arrays_and_a_fixed_shuffle_split(tmp_path):
    x = (images(10) * 255).astype(np.uint8)
    y = np.arange(10) // 5  # class-sorted
    path = str(tmp_path / "set.npz")
    np.savez(path, x=x, y=y)
    with pytest.raises(data.DataError, match="has no test arrays .* or split the training"):
        data.load(path, split="test")
    np.savez(path, x=x, y=y, x_test=x[:3], y_test=y[:3])
    test = list(data.load(path, split="test").as_numpy_iterator())
    assert [label for _, label in test] == [0, 0, 0]
    np.testing.assert_array_equal(test[2][0], x[2])
    assert data.describe(path, "test").num_examples == 3
    # Slices cut a fixed shuffle: both parts hold both classes and
    # together hold every image once.
    head = [label for _, label in data.load(path, split="train[:60%]").as_numpy_iterator()]
    tail = [label for _, label in data.load(path, split="train[60%:]").as_numpy_iterator()]
    assert sorted(head + tail) == sorted(y.tolist())
    assert set(head) == set(tail) == {0, 1}
    order = np.random.default_rng(0).permutation(10)
    assert head == y[order[:6]].tolist()


@pytest.mark.parametrize(
    "x, y, message",
    [
        # 100% of the pixels used to become 255.
        (images(4) * 255, None, r"float images must be in \[0, 1\], got values in \[0\.\d+, 2\d\d\.\d+\] "
         "— divide them by 255, or pass uint8"),
        (with_nan_in_image(2)[:4], None, r"NaN or Inf pixels \(image 2 is the first\)"),
        (images(4), np.array([0, 1, 2.7, 1]), "labels must be integer class ids, got 2.7"),
        (images(4), np.array(["a", "b", "a", "b"]), "got dtype <U1"),
    ],
    ids=["255", "nan", "float_label", "string_label"],
)
def test_load_refuses_bad_arrays(x, y, message):
    with pytest.raises(data.DataError, match=message):
        data.load(x if y is None else (x, y))


# -- evaluation, export, saving --------------------------------------------------


def features(n=40, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    return (np.eye(4)[labels] + 0.1 * rng.normal(size=(n, 4))).astype(np.float32), labels


@pytest.mark.parametrize("temperature", [0, float("inf"), -0.1])
def test_knn_accuracy_refuses_bad_temperatures(temperature):
    # temperature=0 gave 0.333 where the answer is 1.0.
    bank, bank_labels = features()
    with pytest.raises(UserInputError, match="temperature must be a finite number > 0"):
        evaluation.knn_accuracy(bank, bank_labels, bank, bank_labels, temperature=temperature)
    accuracy = evaluation.knn_accuracy(bank, bank_labels, *features(12, seed=1),
                                       k=5, temperature=np.float32(0.1))
    assert accuracy == 1.0


@pytest.mark.parametrize("kwargs, message",
                         [({"k": 0}, "k must be >= 1"), ({"temperature": 0}, "temperature"),
                          ({"every_n_epochs": 0}, "every_n_epochs must be >= 1")])
def test_knn_monitor_uses_the_same_checks(kwargs, message):
    bank = ((images(4) * 255).astype(np.uint8), np.arange(4) % 2)
    with pytest.raises(UserInputError, match=message):
        ks.callbacks.KNNMonitor(bank, bank, **kwargs)


def _labelled(n=16, seed=0):
    return (images(n, seed=seed) * 255).astype(np.uint8), np.arange(n) % 2


@pytest.mark.parametrize(
    "kwargs, message",
    [({"batch_size": 0}, "batch_size must be >= 1, got 0"),  # ZeroDivisionError
     ({"epochs": -1}, "epochs must be >= 0"),
     ({"feature_batch_size": 0}, "feature_batch_size must be >= 1"),
     ({"learning_rate": -1.0}, "learning_rate must be a finite number > 0")],
)
def test_linear_eval_refuses_bad_settings(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        evaluation.linear_eval(tiny_encoder(), _labelled(), _labelled(8, seed=1), **kwargs)


def test_evaluation_refuses_the_training_set_as_test_set():
    train = _labelled()
    copy = (train[0].copy(), train[1].copy())
    for test in (train, copy):
        with pytest.raises(evaluation.EvaluationError, match="test_data is the training data"):
            evaluation.linear_eval(tiny_encoder(), train, test, epochs=1)
    # Datasets (as the command line passes): caught on the features.
    as_dataset = tf.data.Dataset.from_tensor_slices(train)
    with pytest.raises(evaluation.EvaluationError, match="test_data is the training data"):
        evaluation.linear_eval(tiny_encoder(), as_dataset, tf.data.Dataset.from_tensor_slices(copy),
                               epochs=1)
    with pytest.raises(evaluation.EvaluationError, match="test_data is the training data"):
        evaluation.finetune(tiny_encoder(), train, train, epochs=1)


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory, shared_model):
    folder = tmp_path_factory.mktemp("files")
    if not shared_model.built:
        shared_model.fit(images(), LABELS, batch_size=4, verbose=0)
    whole = str(folder / "model.keras")
    shared_model.save(whole)
    with open(whole, "rb") as f:
        contents = f.read()
    truncated = str(folder / "truncated.keras")
    with open(truncated, "wb") as f:
        f.write(contents[: len(contents) // 2])
    return whole, truncated


def test_a_truncated_keras_file_is_named_as_damaged(keras_files, tmp_path):
    # Keras says "File not found" though the file exists.
    whole, truncated = keras_files
    damaged = rf"model file {truncated} is damaged \(not a complete .keras archive"
    with pytest.raises(ModelFileError, match=damaged):
        ks.saving.load_model(truncated)
    with pytest.raises(ModelFileError, match=damaged):
        evaluation.extract_features(truncated, _labelled())
    with pytest.raises(ModelFileError, match=damaged):
        export.export_encoder(truncated, tmp_path / "encoder")
    with pytest.raises(ModelFileError, match="no model file"):
        ks.saving.load_model(str(tmp_path / "missing.keras"))
    assert isinstance(ks.saving.load_model(whole), ks.SimCLR)
    h, _ = evaluation.extract_features(whole, _labelled(4))
    assert h.shape == (4, 8)


def test_a_missing_or_damaged_saved_model_is_named(keras_files, tmp_path):
    with pytest.raises(ModelFileError, match="no SavedModel at"):
        evaluation.extract_features(str(tmp_path / "nowhere"), _labelled())
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ModelFileError, match=r"SavedModel .*empty is damaged or incomplete"):
        evaluation.extract_features(str(tmp_path / "empty"), _labelled())


def test_every_user_error_is_a_user_input_error():
    from keras_simclr.strategy import StrategyError

    for error in (data.DataError, data.PipelineError, evaluation.EvaluationError,
                  StrategyError, ModelFileError):
        assert issubclass(error, UserInputError) and issubclass(error, ValueError)


@pytest.mark.parametrize(
    "make, message",
    [
        # 32.5 was truncated to 32.
        (lambda: ks.layers.SimCLRAugment(32.5, 32), "height must be an integer >= 1, got 32.5"),
        (lambda: ks.layers.SimCLRAugment(32, 0), "width must be >= 1, got 0"),
        (lambda: ks.layers.ProjectionHead(num_layers=2.5), "num_layers must be an integer"),
        (lambda: ks.layers.ProjectionHead(output_dim=0), "output_dim must be >= 1"),
        (lambda: ks.layers.ProjectionHead(hidden_dim="512"), "hidden_dim must be an integer"),
        # A TensorFlow resize error, at the first image, used to be the message.
        (lambda: data.load((images(2) * 255).astype(np.uint8), image_size=0),
         "image_size must be >= 1, got 0"),
    ],
    ids=["augment_height", "augment_width", "head_layers", "head_output", "head_hidden",
         "load_image_size"],
)
def test_layer_and_loader_sizes_are_integers(make, message):
    with pytest.raises(UserInputError, match=message):
        make()
    assert ks.layers.SimCLRAugment(np.int64(32), 32).height == 32
