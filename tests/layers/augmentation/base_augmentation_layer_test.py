"""Tests of what every augmentation layer does (AugmentationLayer)."""

import keras
import numpy as np
import pytest

from keras_simclr import layers
from tests.layers.augmentation.layer_inputs import (
    PUBLIC,
    make_layer,
    random_images,
    smooth_images,
)

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize("cls", PUBLIC)
def test_dtypes_ranks_and_output_range(cls):
    layer = make_layer(cls)
    size = (
        (16, 16)
        if cls in (layers.RandomResizedCrop, layers.SimCLRAugment)
        else (24, 30)
    )
    for dtype in ("uint8", "float32", "float64"):
        batch = random_images(dtype=dtype)
        out = layer(batch)
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
        assert tuple(out.shape) == (4,) + size + (3,)
        assert 0.0 <= float(np.min(out))
        assert float(np.max(out)) <= 1.0
        single = layer(batch[0])
        assert tuple(single.shape) == size + (3,)
        assert keras.backend.standardize_dtype(single.dtype) == "float32"
        assert tuple(layer.compute_output_shape((None, 24, 30, 3))) == (
            (None,) + size + (3,)
        )


@pytest.mark.parametrize("cls", PUBLIC)
def test_identical_images_give_different_views(cls):
    kwargs = {}  # Solarize: probability 0.5 (see make_layer)
    if cls is layers.GaussianBlur:  # sigma below ~0.25 barely blurs
        kwargs = {"probability": 1.0, "sigma": (0.5, 2.0)}
    if cls is layers.ColorDistortion:
        kwargs = {"jitter_probability": 1.0}
    layer = make_layer(cls, **kwargs)
    if cls is layers.Solarize:  # one draw (on / off) per image
        image = smooth_images(1)
        out = np.asarray(layer(np.repeat(image, 64, axis=0)))
        solarized = np.all(
            np.isclose(out, np.where(image < 0.5, image, 1 - image)), (1, 2, 3)
        )
        assert np.all(solarized | np.all(np.isclose(out, image), (1, 2, 3)))
        assert 16 < solarized.sum() < 48
        return
    # Noise shows the blur's sigma most (smooth images barely change).
    image = (
        random_images(1, dtype="float32")
        if cls is layers.GaussianBlur
        else smooth_images(1)
    )
    out = np.asarray(layer(np.repeat(image, 8, axis=0)))
    flat = out.reshape(8, -1)
    distances = np.abs(flat[:, None] - flat[None]).max(-1)
    assert np.all(distances[~np.eye(8, dtype=bool)] > 1e-4)


@pytest.mark.parametrize("cls", PUBLIC)
def test_config_round_trip_and_registration(cls):
    layer = make_layer(cls, seed=9)
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == f"keras_simclr>{cls.__name__}"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls and restored.get_config() == config
    images = random_images(2, 20, 26)
    np.testing.assert_array_equal(layer(images), restored(images))
    doc = cls.__doc__
    for section in ("Args:", "Returns:", "Example:"):
        assert section in doc, f"{cls.__name__} docstring lacks {section}"
