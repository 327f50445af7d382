"""The five batch formats of SimCLR, read once into one `Batch`."""

import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import batch_checks, batch_formats
from keras_simclr import model as model_module
from keras_simclr.batch_formats import Batch
from keras_simclr.errors import UserInputError
from tests.backend_marks import tensorflow_only
from tests.random_images import images
from tests.tiny_models import tiny_encoder, tiny_simclr

pytestmark = pytest.mark.backend_neutral

IMAGES = images(4)
VIEW2 = IMAGES[:, ::-1]
LABELS = np.arange(4) % 2


def same(a, b):
    """Batches with the same fields set to the very same arrays."""
    for field, x, y in zip(Batch._fields, a, b):
        if isinstance(x, tuple):
            assert isinstance(y, tuple) and len(x) == len(y), field
            assert all(u is v for u, v in zip(x, y)), field
        else:
            assert x is y, field
    return True


@pytest.mark.parametrize(
    "data, expected",
    [
        # 1. images
        (IMAGES, Batch(images=IMAGES)),
        # 2. (images, labels)
        ((IMAGES, LABELS), Batch(images=IMAGES, labels=LABELS)),
        # 3. views as a tuple, three ways
        (((IMAGES, VIEW2),), Batch(views=(IMAGES, VIEW2))),
        (((IMAGES, VIEW2), LABELS), Batch(views=(IMAGES, VIEW2), labels=LABELS)),
        ((IMAGES, VIEW2), Batch(views=(IMAGES, VIEW2))),
        # 4. views as a dict
        ({"view1": IMAGES, "view2": VIEW2}, Batch(views=(IMAGES, VIEW2))),
        (
            ({"view2": VIEW2, "view1": IMAGES}, LABELS),
            Batch(views=(IMAGES, VIEW2), labels=LABELS),
        ),
        # 5. crops made in tf.data
        ({"crop2": VIEW2, "crop1": IMAGES}, Batch(crops=(IMAGES, VIEW2))),
        (
            ({"crop1": IMAGES, "crop2": VIEW2}, LABELS),
            Batch(crops=(IMAGES, VIEW2), labels=LABELS),
        ),
    ],
    ids=[
        "images",
        "labelled",
        "views_tuple",
        "views_tuple_labelled",
        "view_pair",
        "views_dict",
        "views_dict_labelled",
        "crops",
        "crops_labelled",
    ],
)
def test_each_format_gives_one_batch(data, expected):
    batch = batch_formats.from_data(data)
    assert same(batch, expected)
    assert len(batch.parts) == (1 if expected.images is not None else 2)


def test_a_tuple_of_three_inputs_is_one_line():
    with pytest.raises(UserInputError) as error:
        batch_formats.from_data(((IMAGES, IMAGES, IMAGES), LABELS))
    assert str(error.value) == (
        "A tuple of inputs must be the two views (view1, view2), got 3 elements."
    )


@pytest.mark.parametrize(
    "input_shape, field",
    [
        ((None, 8, 8, 3), "images"),
        ([None, 8, 8, 3], "images"),
        (((None, 8, 8, 3), (None, 8, 8, 3)), "views"),
        ({"view1": (None, 8, 8, 3), "view2": (None, 8, 8, 3)}, "views"),
        ({"crop1": (None, 8, 8, 3), "crop2": (None, 8, 8, 3)}, "crops"),
    ],
)
def test_shapes_are_read_as_the_data_are(input_shape, field):
    batch = batch_formats.from_shapes(input_shape)
    assert [name for name in Batch._fields if getattr(batch, name) is not None] == [
        field
    ]
    assert tuple(batch.parts[0]) == (None, 8, 8, 3)


def test_with_parts_keeps_the_format():
    for batch in (Batch(images=1), Batch(views=(1, 2)), Batch(crops=(1, 2))):
        rebuilt = batch.with_parts([5, 6][: len(batch.parts)], LABELS)
        assert rebuilt.names == batch.names and rebuilt.labels is LABELS
        assert rebuilt.parts == (5, 6)[: len(batch.parts)]


@tensorflow_only("calls train_step(data), the TensorFlow step's signature")
@pytest.mark.parametrize(
    "data, calls",
    [
        (IMAGES, 1),
        ((IMAGES, LABELS), 1),
        (((IMAGES, VIEW2), LABELS), 2),
        ({"view1": IMAGES, "view2": VIEW2}, 2),
    ],
)
def test_a_step_checks_each_image_batch_once(monkeypatch, data, calls):
    # The step used to check every image batch twice.
    checked = []

    def counting(images, what="images", single_image_ok=False):
        checked.append(what)
        return original(images, what, single_image_ok)

    original = batch_checks.check_images
    monkeypatch.setattr(batch_checks, "check_images", counting)
    monkeypatch.setattr(model_module, "check_images", counting)
    simclr = tiny_simclr(num_classes=2)
    simclr.build((None, 8, 8, 3))
    logs = simclr.train_step(data)
    assert np.isfinite(float(logs["loss"]))
    assert len(checked) == calls, checked


@tensorflow_only("calls train_step(data), the TensorFlow step's signature")
def test_the_view_formats_give_the_same_loss():
    simclr = tiny_simclr()
    simclr.build((None, 8, 8, 3))
    losses = []
    for data in (
        (IMAGES, VIEW2),
        ((IMAGES, VIEW2),),
        {"view1": IMAGES, "view2": VIEW2},
    ):
        simclr.reset_metrics()
        losses.append(float(simclr.test_step(data)["loss"]))
    assert losses[0] > 0 and losses == [losses[0]] * 3


@tensorflow_only("calls train_step(data), the TensorFlow step's signature")
def test_crops_made_in_tf_data_train_through_the_augmentation(monkeypatch):
    checked = []
    original = batch_checks.check_images

    def counting(images, what="images", single_image_ok=False):
        checked.append(what)
        return original(images, what, single_image_ok)

    monkeypatch.setattr(batch_checks, "check_images", counting)
    simclr = ks.SimCLR(
        tiny_encoder(8),
        ks.layers.ProjectionHead(2, output_dim=8),
        augment=ks.layers.SimCLRAugment(8, 8, blur=False, seed=1),
        num_classes=2,
    )
    simclr.compile(optimizer="sgd")
    simclr.build((None, 8, 8, 3))
    crops = {"crop1": IMAGES, "crop2": VIEW2}
    logs = simclr.train_step((crops, LABELS))
    assert np.isfinite(float(logs["loss"])) and np.isfinite(float(logs["probe_loss"]))
    assert checked == ["crop1", "crop2"]
