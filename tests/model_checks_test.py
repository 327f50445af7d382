"""Bad input to SimCLR: a one-line UserInputError, never a silent wrong answer.

Each case used to train, evaluate or build without a word (or with a deep
TensorFlow trace); the tests pin the message that replaces it.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr.errors import UserInputError
from tests.random_images import images, with_nan_in_image
from tests.tiny_models import tiny_encoder, tiny_simclr


def one_line(error):
    text = str(error.value)
    assert "\n" not in text, text
    return text


LABELS = np.arange(8) % 4


@pytest.fixture(scope="module", params=[False, True], ids=["asserts", "xla"])
def shared_model(request):
    """One model with a 4-class probe: fit reuses its traced step.

    Compiled with and without XLA: under `jit_compile=True` (and always on
    JAX) asserts do nothing and the checks return a record from the step.
    """
    model = tiny_simclr(num_classes=4)
    model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=request.param)
    return model


@pytest.mark.parametrize(
    "x, y, kwargs, message",
    [
        # Trained on views clipped to [0, 1]: 62% of the pixels saturated.
        (
            images() * 255,
            LABELS,
            {},
            r"float images must be in 0\.\.1, got a maximum of 2\d\d\.\d+ "
            r"in the images of training step 0 - divide them by 255, or pass uint8",
        ),
        # Trained to NaN weights.
        (
            with_nan_in_image(5),
            LABELS,
            {},
            "images of training step 1 hold NaN or Inf pixels",
        ),
        # Loss 0 and zero gradients, every step.
        (images(), LABELS, {"batch_size": 1}, "global batch of at least 2 images"),
        # InvalidArgumentError: Graph execution error.
        (
            images(),
            LABELS + 1,
            {},
            "labels must be < num_classes=4 for the probe, got label 4",
        ),
        # 2.7 was truncated to 2.
        (images(), LABELS + 0.7, {}, "non-integer float label"),
        # Mean/std-normalised images were clipped to [0, 1] too.
        (images() - 0.5, LABELS, {}, "got a minimum of -0.4"),
    ],
    ids=["255", "nan", "batch_of_1", "label_too_large", "float_label", "negative"],
)
@pytest.mark.backend_neutral
def test_fit_refuses_bad_batches(shared_model, x, y, kwargs, message):
    before = [np.array(w) for w in shared_model.trainable_weights]
    with pytest.raises(UserInputError, match=message) as error:
        shared_model.fit(
            x, y, batch_size=kwargs.get("batch_size", 4), shuffle=False, verbose=0
        )
    one_line(error)
    if "step 1" not in message:
        # The checks run before the update: a bad first batch trains nothing.
        after = shared_model.trainable_weights
        assert all(np.array_equal(a, np.array(w)) for a, w in zip(before, after))


@pytest.mark.backend_neutral
def test_integer_valued_float_labels_and_uint8_images_still_train(shared_model):
    history = shared_model.fit(
        (images() * 255).astype(np.uint8),
        LABELS.astype(np.float32),
        batch_size=4,
        verbose=0,
    )
    assert np.isfinite(history.history["probe_loss"][-1])


@pytest.mark.backend_neutral
def test_labels_must_match_the_images(shared_model):
    batch = tf.data.Dataset.from_tensors((images()[:4], LABELS[:3]))
    with pytest.raises(
        UserInputError, match="one id per image, got 3 labels for 4 images"
    ):
        shared_model.fit(batch, verbose=0)


@pytest.mark.backend_neutral
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
        (
            np.concatenate([images(), images()[..., :1]], -1),
            "3 channels \\(RGB\\), got 4",
        ),
    ],
    ids=["rank3", "rank5", "1_channel", "2_channels", "4_channels"],
)
@pytest.mark.backend_neutral
def test_image_shapes_are_checked_before_keras_builds(x, message):
    # Keras's own build error used to come first.
    simclr = tiny_simclr()
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
        tiny_simclr().fit(ragged, verbose=0)


@pytest.mark.parametrize(
    "temperature", [float("inf"), float("nan"), 0, -1, True, "0.5", None]
)
@pytest.mark.backend_neutral
def test_simclr_refuses_bad_temperatures(temperature):
    # inf was accepted, and nothing ever trained.
    with pytest.raises(UserInputError, match="temperature must be a finite number > 0"):
        ks.SimCLR(tiny_encoder(), temperature=temperature)


@pytest.mark.backend_neutral
def test_simclr_accepts_numpy_temperatures():
    # np.float32(0.5) was refused.
    simclr = ks.SimCLR(tiny_encoder(), temperature=np.float32(0.5))
    assert simclr.temperature == 0.5 and type(simclr.temperature) is float
    assert ks.SimCLR(tiny_encoder(), num_classes=np.int64(10)).num_classes == 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 1}, "num_classes must be >= 2"),
        ({"num_classes": 2.5}, "num_classes must be an integer"),
        ({"probe_layer": -1}, "probe_layer must be >= 0"),
    ],
)
@pytest.mark.backend_neutral
def test_simclr_refuses_bad_probe_settings(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        ks.SimCLR(tiny_encoder(), **kwargs)
