"""make_optimizer refuses bad numbers in one line, for every optimizer."""

import keras
import pytest

import keras_simclr as ks
from keras_simclr.errors import UserInputError
from keras_simclr.recipes import Recipe, build_optimizer, make_optimizer
from tests.tiny_models import tiny_encoder


@pytest.mark.parametrize("name", ["lars", "sgd", "momentum", "adam"])
def test_a_negative_weight_decay_is_one_line(name):
    # SGD and Adam used to accept it; the CLI's --weight_decay=-1 gave a trace.
    with pytest.raises(UserInputError) as error:
        make_optimizer(name, 0.1, weight_decay=-10)
    assert str(error.value) == (
        "weight_decay must be a finite number >= 0, got -10. Use 0 for none."
    )


@pytest.mark.parametrize("name", ["lars", "sgd", "momentum"])
@pytest.mark.parametrize(
    "momentum, message",
    [
        (-3, "momentum must be a finite number >= 0, got -3. SimCLR uses 0.9."),
        (2, "momentum must be in [0, 1], got 2. SimCLR uses 0.9."),
    ],
)
def test_a_bad_momentum_is_one_line(name, momentum, message):
    # Keras's SGD raised a ValueError the CLI printed as a 37-line trace.
    with pytest.raises(UserInputError) as error:
        make_optimizer(name, 0.1, momentum=momentum)
    assert str(error.value) == message


def test_weight_decay_leaves_out_the_probe_biases_and_batch_norm():
    model = ks.SimCLR(tiny_encoder(), augment=keras.layers.Identity(), num_classes=4)
    model.build((None, 8, 8, 3))
    recipe = Recipe.from_preset("cifar10", optimizer="sgd", weight_decay=1e-4)
    optimizer = build_optimizer(recipe, model, 10, 100)
    decayed = [v for v in model.trainable_variables if optimizer._use_weight_decay(v)]
    # The conv's kernel and the head's three dense kernels; no probe kernel.
    kernels = [
        v
        for v in model.encoder.trainable_variables
        + model.projection_head.trainable_variables
        if len(v.shape) > 1
    ]
    assert len(kernels) == 4 and [id(v) for v in decayed] == [id(v) for v in kernels]
    assert model.probe.kernel.trainable and not optimizer._use_weight_decay(
        model.probe.kernel
    )
