"""Checkpoints: diverging losses, full disks, partial writes, generator states."""

import os

import keras
import numpy as np
import pytest

import keras_simclr as ks
from keras_simclr import runs


def _tiny_model(optimizer="sgd"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_non_finite_loss_stops_without_saving_it(tmp_path):
    model = _tiny_model(keras.optimizers.SGD(0.1, momentum=0.9))
    x = np.ones((5, 3), np.float32)
    x[3] = np.nan  # the 4th batch
    directory = str(tmp_path / "checkpoints")
    with pytest.raises(runs.NonFiniteLoss) as raised:
        model.fit(
            x,
            np.zeros((5, 2)),
            batch_size=1,
            shuffle=False,
            verbose=0,
            callbacks=[runs.AtomicCheckpoint(directory, 1, keep=10)],
        )
    assert str(raised.value).startswith(
        "loss is nan at step 4; training stopped, the "
        "last checkpoint (step 3) is kept — lower"
    )
    assert [step for step, _ in runs.list_checkpoints(directory)] == [1, 2, 3]
    # The weights went NaN in step 4: saving them is refused too.
    assert not np.all(np.isfinite(model.weights[0].numpy()))
    with pytest.raises(
        runs.NonFiniteLoss, match="is not finite at step 4; no checkpoint"
    ):
        runs.save_checkpoint(model, directory, 4)
    assert runs.latest_checkpoint(directory)[0] == 3


def test_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = _tiny_model(keras.optimizers.SGD(0.1, momentum=0.9))
    directory = str(tmp_path / "checkpoints")
    runs.save_checkpoint(model, directory, 1)
    good = [w.numpy() for w in model.weights]
    for w in model.weights:
        w.assign(w + 1.0)

    def full_disk(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"\x89HDF half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model, "save_weights", full_disk)
    with pytest.raises(runs.CheckpointWriteError) as raised:
        runs.save_checkpoint(model, directory, 2)
    assert str(raised.value) == (
        f"cannot write the checkpoint of step 2 in {directory} (No space left on "
        "device) — free space there (or point model_dir elsewhere) and run again; "
        "the previous checkpoint is intact"
    )
    assert [step for step, _ in runs.list_checkpoints(directory)] == [1]
    step, path, _ = runs.latest_checkpoint(directory)
    runs.restore_checkpoint(model, path)
    for w, value in zip(model.weights, good):
        np.testing.assert_array_equal(w.numpy(), value)


def test_generator_states_are_restored_by_owner(tmp_path):
    def model():
        layer = ks.layers.SimCLRAugment(8, 8, strength=0.5, blur=False, seed=1)
        net = keras.Sequential(
            [
                keras.Input((8, 8, 3)),
                layer,
                keras.layers.Flatten(),
                keras.layers.Dense(2),
            ]
        )
        net.compile(optimizer="sgd", loss="mse")
        net.optimizer.build(net.trainable_variables)
        return net, layer

    first, augment = model()
    augment(np.zeros((2, 8, 8, 3), np.float32), training=True)  # advances its state
    states = runs.checkpoints._generators(first)
    assert sorted(states) == ["RandomFlip:0/0", "SimCLRAugment:0/0"]
    path = runs.save_checkpoint(first, str(tmp_path), 1)
    # A second model in the same process: Keras names its generators anew
    # (seed_generator_2, ...), the owners stay the same.
    second, _ = model()
    assert not np.array_equal(
        runs.checkpoints._generators(second)["SimCLRAugment:0/0"],
        states["SimCLRAugment:0/0"],
    )
    runs.restore_checkpoint(second, path)
    for name, variable in runs.checkpoints._generators(second).items():
        np.testing.assert_array_equal(variable.numpy(), states[name].numpy())


def test_incomplete_checkpoints_are_never_loaded(tmp_path):
    """A kill during a write leaves a folder without a manifest: ignored."""
    model = _tiny_model()
    directory = str(tmp_path / "checkpoints")
    runs.save_checkpoint(model, directory, 4)
    saved = [w.numpy() for w in model.weights]
    # What a kill in the middle of writing step 6 leaves behind.
    partial = tmp_path / "checkpoints" / "ckpt-6"
    partial.mkdir()
    (partial / "model.weights.h5").write_bytes(b"\x89HDF\r\n half a file")
    step, path, state = runs.latest_checkpoint(directory, warn=False)
    assert (step, path, state) == (4, os.path.join(directory, "ckpt-4"), {"step": 4})

    for w in model.weights:
        w.assign(np.zeros(w.shape))
    runs.restore_checkpoint(model, path)
    for w, value in zip(model.weights, saved):
        np.testing.assert_array_equal(w.numpy(), value)
    # Saving step 6 for real replaces the leftover.
    runs.save_checkpoint(model, directory, 6)
    assert sorted(os.listdir(directory)) == ["ckpt-4", "ckpt-6"]
    assert runs.latest_checkpoint(directory)[0] == 6


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(every_n_steps=0), "every_n_steps must be >= 1, got 0."),
        (dict(every_n_steps=2, keep=1.5), "keep must be an integer >= 1, got 1.5."),
        (dict(every_n_steps=True), "every_n_steps must be an integer >= 1, got True."),
    ],
)
def test_atomic_checkpoint_checks_its_arguments(arguments, message):
    with pytest.raises(ks.errors.UserInputError) as refused:
        runs.AtomicCheckpoint("checkpoints", **arguments)
    assert str(refused.value) == message


def test_the_latest_checkpoint_has_named_fields(tmp_path):
    model = _tiny_model()
    directory = str(tmp_path / "checkpoints")
    runs.save_checkpoint(model, directory, 7, state={"recipe": {"seed": 1}})
    latest = runs.latest_checkpoint(directory)
    assert (latest.step, latest.path, latest.state) == (
        7,
        f"{directory}/ckpt-7",
        {"recipe": {"seed": 1}, "step": 7},
    )


@pytest.mark.backend_neutral
def test_fit_saves_generator_states_and_the_other_backends_misfit_is_named(tmp_path):
    def noisy(units=2):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.GaussianNoise(0.5, seed=1),
                keras.layers.Dense(units),
            ]
        )
        model.compile(optimizer="adam", loss="mse")
        model.optimizer.build(model.trainable_variables)
        return model

    model = noisy()
    directory = str(tmp_path / "checkpoints")
    checkpoint = runs.AtomicCheckpoint(directory, 4)
    model.fit(
        np.ones((6, 3)),
        np.zeros((6, 2)),
        batch_size=1,
        verbose=0,
        callbacks=[checkpoint],
    )
    # The generator draws once a step; the checkpoint of step 4 holds its
    # state then (on JAX, the step's state is synced into the model first).
    again = noisy()
    runs.restore_checkpoint(again, os.path.join(directory, "ckpt-4"))
    (state,) = runs.checkpoints._generators(again).values()
    assert keras.ops.convert_to_numpy(state).tolist() == [1, 4]
    (state,) = runs.checkpoints._generators(model).values()
    assert keras.ops.convert_to_numpy(state).tolist() == [1, 6]

    here = keras.backend.backend()
    other = "jax" if here == "tensorflow" else "tensorflow"
    path = runs.save_checkpoint(model, directory, 7, state={"backend": other})
    with pytest.raises(runs.RunSettingError) as raised:
        runs.restore_checkpoint(noisy(units=3), path)
    assert str(raised.value).startswith(
        f"checkpoint {path} was written with the {other} backend and does not fit "
        f"this {here} model ("
    )
    assert str(raised.value).endswith(
        f" — resume it with KERAS_BACKEND={other}, or use a new model_dir"
    )
