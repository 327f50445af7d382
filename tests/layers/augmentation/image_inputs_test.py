"""Tests of the image checks and the uint8 -> float conversion."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_simclr.layers.augmentation import image_inputs
from tests.layers.augmentation.layer_inputs import PUBLIC, make_layer


@pytest.mark.backend_neutral
@pytest.mark.parametrize("cls", PUBLIC)
def test_clear_errors_for_bad_inputs(cls):
    layer = make_layer(cls)
    with pytest.raises(ValueError, match="batch"):
        layer(np.zeros((24, 30), "uint8"))
    with pytest.raises(ValueError, match="grayscale_to_rgb"):
        layer(np.zeros((2, 24, 30, 1), "uint8"))
    with pytest.raises(ValueError, match="alpha"):
        layer(np.zeros((2, 24, 30, 4), "uint8"))
    with pytest.raises(ValueError, match="unsupported dtype int32"):
        layer(np.zeros((2, 24, 30, 3), "int32"))


@pytest.mark.backend_neutral
def test_to_float32_divides_uint8_by_255_and_clips_only_when_asked():
    pixels = np.arange(256, dtype=np.uint8)
    # x / 255 exactly on TensorFlow; XLA (JAX, and TensorFlow under XLA)
    # multiplies by the float32 reciprocal: within one unit in the last place.
    ulps = 0 if keras.backend.backend() == "tensorflow" else 1
    np.testing.assert_array_max_ulp(
        np.asarray(image_inputs.to_float32(pixels)),
        np.arange(256, dtype=np.float32) / np.float32(255),
        maxulp=ulps,
    )
    np.testing.assert_array_equal(
        image_inputs.to_float32(pixels, clip=True), image_inputs.to_float32(pixels)
    )
    floats = keras.ops.convert_to_tensor([-0.5, 0.25, 1.5], "float16")
    out = image_inputs.to_float32(floats)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    np.testing.assert_array_equal(out, [-0.5, 0.25, 1.5])
    np.testing.assert_array_equal(
        image_inputs.to_float32(floats, clip=True), [0.0, 0.25, 1.0]
    )


@pytest.mark.backend_neutral
def test_check_images_takes_single_images_only_when_asked():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"got shape \(8, 8, 3\)"):
        image_inputs.check_images(image)
    assert image_inputs.check_images(image, single_image_ok=True).shape == (8, 8, 3)
    batch, unbatched = image_inputs.as_image_batch(image)
    assert tuple(batch.shape) == (1, 8, 8, 3) and unbatched
    assert keras.backend.standardize_dtype(batch.dtype) == "uint8"


def test_ragged_batches_and_unknown_channels_in_tensorflow_graphs():
    ragged = tf.ragged.constant([[[1.0]], [[1.0], [2.0]]])
    with pytest.raises(ValueError, match="ragged batch"):
        image_inputs.check_images(ragged)
    # An unknown channel count is checked when the graph runs.
    fn = tf.function(
        lambda x: image_inputs.as_image_batch(x)[0],
        input_signature=[tf.TensorSpec((None, None, None, None), tf.uint8)],
    )
    assert fn.get_concrete_function().structured_outputs.shape[-1] == 3
    with pytest.raises(tf.errors.InvalidArgumentError):
        fn(np.zeros((1, 2, 2, 4), np.uint8))
