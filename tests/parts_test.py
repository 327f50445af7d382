"""The parts of a model: split, input size, copies, the walk over all layers."""

import inspect

import keras
import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr.parts import (
    all_layers,
    as_image_size,
    copy_layer,
    input_image_size,
    split_model,
)
from tests.tiny_models import tiny_encoder

pytestmark = pytest.mark.backend_neutral


def _public_walk(layer):
    """Every layer reachable through the public `Model.layers`, recursively."""
    found = [layer]
    for child in getattr(layer, "layers", []):
        found.extend(_public_walk(child))
    return found


def _simclr():
    model = ks.SimCLR(
        tiny_encoder(8),
        projection_head=ks.layers.ProjectionHead(2, output_dim=8),
        augment=keras.layers.RandomFlip("horizontal", seed=1, name="flip"),
    )
    model(np.zeros((1, 8, 8, 3), np.float32))
    return model


def test_flatten_layers_is_still_the_private_api_all_layers_relies_on():
    # Keras 3.15: Layer._flatten_layers(include_self=True, recursive=True).
    # If this fails, Keras changed it: all_layers (export's batch-norm walk,
    # the checkpoints' generator names) must be rewritten, keeping the order.
    signature = inspect.signature(keras.layers.Layer._flatten_layers)
    assert list(signature.parameters) == ["self", "include_self", "recursive"]
    assert signature.parameters["include_self"].default is True
    assert signature.parameters["recursive"].default is True


def test_all_layers_of_nested_models_holds_what_the_public_walk_finds():
    inner = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, name="d"),
            keras.layers.BatchNormalization(name="bn"),
        ],
        name="inner",
    )
    inputs = keras.Input((4,))
    outer = keras.Model(
        inputs, keras.layers.ReLU(name="r")(inner(inputs)), name="outer"
    )
    walked = all_layers(outer)
    assert walked[0] is outer
    public = {id(layer) for layer in _public_walk(outer)}
    # The public walk finds every layer but the Sequential's input layer
    # (Sequential.layers hides it): it cannot replace _flatten_layers.
    assert public < {id(layer) for layer in walked}
    missed = [layer for layer in walked if id(layer) not in public]
    assert [type(layer).__name__ for layer in missed] == ["InputLayer"]
    assert len(walked) == len({id(layer) for layer in walked})


def test_all_layers_of_a_simclr_model_reaches_what_model_layers_cannot():
    model = _simclr()
    # model.layers is one level deep; the encoder's batch norm and the
    # head's layers are only reached by the recursive walk, in this order
    # (the checkpoints' generator names depend on it).
    assert [type(layer).__name__ for layer in model.layers] == [
        "Functional",
        "ProjectionHead",
        "RandomFlip",
    ]
    assert [type(layer).__name__ for layer in all_layers(model)] == [
        "SimCLR",
        "Functional",
        "GlobalAveragePooling2D",
        "ReLU",
        "BatchNormalization",
        "Conv2D",
        "InputLayer",
        "ProjectionHead",
        "BatchNormalization",
        "Dense",
        "BatchNormalization",
        "Dense",
        "RandomFlip",
    ]


def test_split_model_and_input_image_size():
    model = _simclr()
    encoder, head = split_model(model)
    assert encoder is model.encoder and head is model.projection_head
    assert split_model(encoder) == (encoder, None)
    assert split_model(object()) == (None, None)
    assert input_image_size(encoder) == (8, 8)
    assert input_image_size(tiny_encoder(None)) == (None, None)
    assert as_image_size(np.int64(8)) == (8, 8) and as_image_size(None) is None


def test_copy_layer_is_independent_and_takes_config_changes():
    model = _simclr()
    bn = model.encoder.layers[2]
    copy = copy_layer(bn, synchronized=False)
    assert bn.synchronized == (keras.backend.backend() == "tensorflow")
    assert not copy.synchronized
    for a, b in zip(bn.weights, copy.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert a is not b
    encoder = copy_layer(model.encoder)
    encoder.layers[1].kernel.assign(np.zeros(encoder.layers[1].kernel.shape))
    assert np.any(model.encoder.layers[1].kernel.numpy())
