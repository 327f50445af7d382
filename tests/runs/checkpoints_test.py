"""The Python run API: a whole cycle on ram://, diverging losses, full disks."""

import io
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import runs


def _write_npz(url, images, labels):
    buffer = io.BytesIO()
    np.savez(buffer, images=images, labels=labels)
    tf.io.gfile.makedirs(url.rsplit("/", 1)[0])
    with tf.io.gfile.GFile(url, "wb") as f:
        f.write(buffer.getvalue())


class _Crash(keras.callbacks.Callback):
    """Stands for a kill: raises once the optimizer has taken `step` steps."""

    def __init__(self, step):
        super().__init__()
        self.at = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.at:
            raise KeyboardInterrupt


def test_pretrain_resume_evaluate_export_on_ram(capsys):
    images, labels = ks.data.make_shapes(48, seed=1)
    dataset = "ram://test_runs/data/tiny.npz"  # only tf.io.gfile can read it
    _write_npz(dataset, images, labels)
    model_dir = "ram://test_runs/run"
    recipe = ks.recipes.Recipe.from_preset(
        "demo", dataset=dataset, batch_size=8, train_steps=4, checkpoint_steps=2,
        proj_dim=16)
    with pytest.raises(KeyboardInterrupt):
        ks.pretrain(recipe, model_dir, callbacks=[_Crash(3)], verbose=0)
    assert tf.io.gfile.listdir(f"{model_dir}/checkpoints") == ["ckpt-2"]
    assert not tf.io.gfile.exists(f"{model_dir}/model.keras")

    summary = ks.pretrain(recipe, model_dir, verbose=0)  # the same call resumes
    assert "resuming from step 2" in capsys.readouterr().out
    assert (summary["steps"], summary["steps_this_run"]) == (4, 2)
    assert np.isfinite(summary["loss"])
    config = json.loads(tf.io.gfile.GFile(f"{model_dir}/config.json").read())
    assert (config["image_size"], config["cifar_stem"], config["proj_dim"]) == (32, False, 16)
    assert "loss" in tf.io.gfile.GFile(f"{model_dir}/logs/metrics.csv").read()

    _, model = runs.load_run(model_dir)
    assert int(model.optimizer.iterations.numpy()) == 4
    metrics = runs.linear_eval(model_dir, split="train[:32]", eval_split="train[32:]",
                               epochs=2, verbose=0)
    assert (metrics["num_train"], metrics["num_test"]) == (32, 16)
    target = runs.export(model_dir, "ram://test_runs/encoder", include_projection=False)
    served = tf.saved_model.load(target).signatures["serving_default"](
        images=tf.constant(images[:4]))
    expected = model.encoder(images[:4].astype("float32") / 255.0, training=False)
    np.testing.assert_allclose(served["representation"], expected, atol=1e-5)
    results = runs.read_results(model_dir)
    assert results["pretrain"]["steps"] == 4
    assert results["linear_eval"]["top1"] == pytest.approx(metrics["top1"])


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_non_finite_loss_stops_without_saving_it(tmp_path):
    model = _tiny_model()
    x = np.ones((5, 3), np.float32)
    x[3] = np.nan  # the 4th batch
    directory = str(tmp_path / "checkpoints")
    with pytest.raises(runs.NonFiniteLoss) as raised:
        model.fit(x, np.zeros((5, 2)), batch_size=1, shuffle=False, verbose=0,
                  callbacks=[runs.AtomicCheckpoint(directory, 1, keep=10)])
    assert str(raised.value).startswith("loss is nan at step 4; training stopped, the "
                                        "last checkpoint (step 3) is kept — lower")
    assert [step for step, _ in runs.list_checkpoints(directory)] == [1, 2, 3]
    # The weights went NaN in step 4: saving them is refused too.
    assert not np.all(np.isfinite(model.weights[0].numpy()))
    with pytest.raises(runs.NonFiniteLoss, match="is not finite at step 4; no checkpoint"):
        runs.save_checkpoint(model, directory, 4)
    assert runs.latest_checkpoint(directory)[0] == 3


def test_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = _tiny_model()
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
        "the previous checkpoint is intact")
    assert [step for step, _ in runs.list_checkpoints(directory)] == [1]
    step, path, _ = runs.latest_checkpoint(directory)
    runs.restore_checkpoint(model, path)
    for w, value in zip(model.weights, good):
        np.testing.assert_array_equal(w.numpy(), value)


def test_generator_states_are_restored_by_owner(tmp_path):
    def model():
        layer = ks.layers.SimCLRAugment(8, 8, strength=0.5, blur=False, seed=1)
        net = keras.Sequential([keras.Input((8, 8, 3)), layer, keras.layers.Flatten(),
                                keras.layers.Dense(2)])
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
    assert not np.array_equal(runs.checkpoints._generators(second)["SimCLRAugment:0/0"],
                              states["SimCLRAugment:0/0"])
    runs.restore_checkpoint(second, path)
    for name, variable in runs.checkpoints._generators(second).items():
        np.testing.assert_array_equal(variable.numpy(), states[name].numpy())
