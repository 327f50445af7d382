"""Crash-safe checkpoints of a training run, on any TensorFlow filesystem.

A checkpoint is a folder `ckpt-<step>/` holding

    model.weights.h5   weights and optimizer (slots and `iterations`, hence
                       the learning-rate schedule's position)
    generators.json    the random generators' states, by owner
                       ("SimCLRAugment:0/0"): `save_weights` leaves them out,
                       and without them a resumed run would draw the
                       augmentations of step 0 again
    state.json         the step (the data stream's position: the batch of a
                       step depends on the step only) and what the caller
                       adds (the recipe)
    manifest.json      sizes and SHA-256 of the three files, written last

Each file is written under a temporary name and renamed into place; a folder
without a manifest that verifies is incomplete and never loaded. Folders are
never renamed (object stores and ram:// cannot rename a folder atomically).
"""

import re
import sys
from typing import NamedTuple

import keras
import numpy as np

from keras_simclr import errors
from keras_simclr.parts import all_layers
from keras_simclr.runs import files
from keras_simclr.runs.errors import (
    CheckpointWriteError,
    NonFiniteLoss,
    RunSettingError,
)

__all__ = [
    "AtomicCheckpoint",
    "Checkpoint",
    "latest_checkpoint",
    "list_checkpoints",
    "restore_checkpoint",
    "save_checkpoint",
    "verify_checkpoint",
]

WEIGHTS, GENERATORS, STATE, MANIFEST = (
    "model.weights.h5",
    "generators.json",
    "state.json",
    "manifest.json",
)
_NAME = re.compile(r"^ckpt-(\d+)/?$")


class Checkpoint(NamedTuple):
    """A complete checkpoint, as `latest_checkpoint` finds it.

    Attributes:
        step: the global step it holds.
        path: its folder, `.../ckpt-<step>`.
        state: its state.json dict (the step and what the caller added).

    Example:

    >>> step, path, state = Checkpoint(10, "checkpoints/ckpt-10", {"step": 10})
    >>> Checkpoint(10, "checkpoints/ckpt-10", {"step": 10}).path
    'checkpoints/ckpt-10'
    """

    step: int
    path: str
    state: dict


def _generators(model):
    """{owner name: seed-generator state variable} of every layer of `model`.

    The owner is the layer's class and its rank among the model's layers of
    that class, e.g. "SimCLRAugment:0/0": stable across processes and across
    models built in one notebook (Keras numbers auto-named layers globally).
    """
    found, seen = {}, {}
    # Keras 3.15 has no public list of a layer's seed generators.
    for layer in all_layers(model):
        kind = type(layer).__name__
        rank = seen.get(kind, 0)
        seen[kind] = rank + 1
        for index, generator in enumerate(getattr(layer, "_seed_generators", [])):
            found[f"{kind}:{rank}/{index}"] = generator.state
    return found


def list_checkpoints(directory):
    """Sorted [(step, path)] of the `ckpt-*` folders, complete or not.

    Args:
        directory: the checkpoints folder (any gfile URL); it may not exist.

    Returns:
        A list of `(step, path)`, oldest first.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> model.optimizer.build(model.trainable_variables)
    >>> _ = save_checkpoint(model, "checkpoints", 20)
    >>> _ = save_checkpoint(model, "checkpoints", 100)
    >>> list_checkpoints("checkpoints")
    [(20, 'checkpoints/ckpt-20'), (100, 'checkpoints/ckpt-100')]
    >>> list_checkpoints("no_such_folder")
    []
    """
    if not files.gfile.isdir(directory):
        return []
    found = []
    for name in files.gfile.listdir(directory):
        match = _NAME.match(name)
        if match:
            found.append((int(match.group(1)), files.join(directory, name.rstrip("/"))))
    return sorted(found)


def _check_finite(model, step):
    for variable in model.weights + model.optimizer.variables:
        if not np.all(np.isfinite(keras.ops.convert_to_numpy(variable))):
            raise NonFiniteLoss(
                f"{variable.path} is not finite at step {step}; no checkpoint was "
                "written — lower the learning rate, then run again to resume from "
                "the last checkpoint"
            )


def save_checkpoint(model, directory, step, state=None):
    """Writes the training state at `step` to `directory/ckpt-<step>/`.

    Args:
        model: a compiled Keras model whose optimizer is built.
        directory: the checkpoints folder (any gfile URL).
        step: the global step.
        state: a JSON-serialisable dict stored in state.json with the step.

    Returns:
        The checkpoint's path.

    Raises:
        NonFiniteLoss: a weight or optimizer variable is NaN or infinite
            (nothing is written).
        CheckpointWriteError: the write failed (e.g. a full disk); the
            previous checkpoints are untouched.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> model.optimizer.build(model.trainable_variables)
    >>> save_checkpoint(model, "checkpoints", 1000, state={"dataset": "shapes"})
    'checkpoints/ckpt-1000'
    >>> sorted(tf.io.gfile.listdir("checkpoints/ckpt-1000"))
    ['generators.json', 'manifest.json', 'model.weights.h5', 'state.json']
    """
    _check_finite(model, step)
    path = files.join(directory, f"ckpt-{step}")
    try:
        files.remove(path)  # an incomplete leftover of a killed write
        files.gfile.makedirs(path)
        with files.local_output(files.join(path, WEIGHTS)) as local:
            model.save_weights(local)
        generators = {k: v.numpy().tolist() for k, v in _generators(model).items()}
        files.write_json(files.join(path, GENERATORS), generators)
        files.write_json(files.join(path, STATE), dict(state or {}, step=step))
        manifest = {}
        for name in (WEIGHTS, GENERATORS, STATE):
            size, sha256 = files.digest(files.join(path, name))
            manifest[name] = {"size": size, "sha256": sha256}
        files.write_json(files.join(path, MANIFEST), {"step": step, "files": manifest})
    except (OSError, files.tf.errors.OpError) as error:
        files.remove(path)
        reason = getattr(error, "strerror", None) or getattr(error, "message", error)
        raise CheckpointWriteError(
            f"cannot write the checkpoint of step {step} in {directory} ({reason}) — "
            "free space there (or point model_dir elsewhere) and run again; the "
            "previous checkpoint is intact"
        ) from None
    return path


def verify_checkpoint(path):
    """Returns None if the checkpoint at `path` is complete, else why not.

    Args:
        path: a checkpoint folder (`.../ckpt-<step>`).

    Returns:
        None when every file matches the manifest's size and SHA-256,
        else a short reason.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> model.optimizer.build(model.trainable_variables)
    >>> path = save_checkpoint(model, "checkpoints", 5)
    >>> print(verify_checkpoint(path))
    None
    >>> with open(f"{path}/state.json", "a") as f:
    ...     _ = f.write(" ")
    >>> verify_checkpoint(path)
    'state.json has 17 bytes, not 16'
    """
    try:
        manifest = files.read_json(files.join(path, MANIFEST))
        if manifest is None:
            return "no manifest: its write did not finish"
        for name, expected in manifest["files"].items():
            size, sha256 = files.digest(files.join(path, name))
            if size != expected["size"]:
                return f"{name} has {size} bytes, not {expected['size']}"
            if sha256 != expected["sha256"]:
                return f"{name} does not match its checksum"
    except (OSError, ValueError, KeyError, TypeError, files.tf.errors.OpError) as error:
        return f"unreadable ({type(error).__name__})"
    return None


def latest_checkpoint(directory, warn=True):
    """The newest checkpoint that verifies, skipping broken ones.

    Args:
        directory: the checkpoints folder.
        warn: print one line to stderr for each newer, broken checkpoint
            skipped.

    Returns:
        A `Checkpoint(step, path, state)` with the state.json dict, or None.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> model.optimizer.build(model.trainable_variables)
    >>> _ = save_checkpoint(model, "checkpoints", 10, state={"epochs": 6})
    >>> latest_checkpoint("checkpoints")
    Checkpoint(step=10, path='checkpoints/ckpt-10', state={'epochs': 6, 'step': 10})
    >>> print(latest_checkpoint("empty"))
    None
    """
    for step, path in reversed(list_checkpoints(directory)):
        problem = verify_checkpoint(path)
        if problem is None:
            return Checkpoint(step, path, files.read_json(files.join(path, STATE)))
        if warn:
            print(
                f"keras-simclr: warning: skipping checkpoint {path}: {problem}",
                file=sys.stderr,
                flush=True,
            )
    return None


def restore_checkpoint(model, path):
    """Loads a checkpoint written by `save_checkpoint` into a built model.

    Weights, optimizer variables (slots, `iterations`) and the random
    generators' states.

    Args:
        model: a model of the same architecture, compiled, its optimizer
            built.
        path: the checkpoint folder, e.g. from `latest_checkpoint`.

    Returns:
        None.

    A checkpoint written on the other Keras backend (its state.json's
    "backend") restores the same way: the files are backend-neutral.

    Raises:
        RunSettingError: the checkpoint's weights or generators do not fit
            `model` (a different architecture); when it was written on
            another backend, the line names that backend.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> model.optimizer.build(model.trainable_variables)
    >>> path = save_checkpoint(model, "checkpoints", 1)
    >>> saved = model.weights[0].numpy()
    >>> _ = model.weights[0].assign(saved + 1.0)  # training moves on...
    >>> restore_checkpoint(model, path)  # ...and a restart brings it back
    >>> bool(np.all(model.weights[0].numpy() == saved))
    True
    """
    try:
        with files.local_input(files.join(path, WEIGHTS)) as local:
            model.load_weights(local)
    except ValueError as error:
        _refuse_crossing(path, str(error).splitlines()[0])
        raise RunSettingError(
            f"checkpoint {path} does not fit this model ({str(error).splitlines()[0]})"
            " — use the settings of the run that wrote it, or a new model_dir"
        ) from None
    saved = files.read_json(files.join(path, GENERATORS))
    generators = _generators(model)
    if set(saved) != set(generators):
        _refuse_crossing(path, f"random generators {sorted(saved)}")
        raise RunSettingError(
            f"checkpoint {path} has random generators {sorted(saved)}, this model "
            f"{sorted(generators)} — use the augmentation of the run that wrote it"
        )
    for name, variable in generators.items():
        variable.assign(np.asarray(saved[name], variable.dtype))


def _refuse_crossing(path, what):
    """Refuses, naming the backend, a checkpoint of another backend that does not fit."""
    written = (files.read_json(files.join(path, STATE)) or {}).get("backend")
    here = keras.backend.backend()
    if written and written != here:
        raise RunSettingError(
            f"checkpoint {path} was written with the {written} backend and does not "
            f"fit this {here} model ({what}) — resume it with KERAS_BACKEND={written}"
            ", or use a new model_dir",
            field="model_dir",
        )


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the full training state every `every_n_steps` and at the end.

    See the module docstring for what a checkpoint holds. A loss or metric
    that turns NaN or infinite stops `fit` with `NonFiniteLoss` naming the
    step and the metric, before anything non-finite is saved; the last
    checkpoint stays the newest. Old checkpoints are deleted once a newer
    one is complete, `keep` remain.

    Not `keras.callbacks.BackupAndRestore`: it writes its weights in place
    and its epoch counter in a second file (a kill between the two leaves
    them inconsistent), restores epochs, not steps, and leaves out the
    augmentation's random state.

    Args:
        directory: the checkpoints folder (any gfile URL).
        every_n_steps: steps between checkpoints.
        start_step: the global step `fit` starts at (a resumed run's).
        keep: how many checkpoints to keep.
        state: extra JSON stored with every checkpoint (e.g. the recipe).

    Example:

    Train, resuming from the last checkpoint if there is one (run the same
    code again after a crash):

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> model.optimizer.build(model.trainable_variables)
    >>> step = 0
    >>> latest = latest_checkpoint("checkpoints")
    >>> if latest:
    ...     step, path, _ = latest
    ...     restore_checkpoint(model, path)
    >>> x, y = np.ones((4, 3)), np.zeros((4, 2))
    >>> _ = model.fit(x, y, batch_size=1, verbose=0, callbacks=[
    ...     AtomicCheckpoint("checkpoints", every_n_steps=3, start_step=step)])
    >>> [step for step, _ in list_checkpoints("checkpoints")]  # keep=2
    [3, 4]

    With `keras_simclr.data.pretraining_dataset(..., start_step=step)` the
    data resumes at the same position too.
    """

    def __init__(self, directory, every_n_steps, start_step=0, keep=2, state=None):
        super().__init__()
        self.directory = directory
        self.every_n_steps = errors.check_positive_int("every_n_steps", every_n_steps)
        self.keep = errors.check_positive_int("keep", keep)
        self.step = self.saved_step = start_step
        self.state = state

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        for name, value in (logs or {}).items():
            value = np.asarray(keras.ops.convert_to_numpy(value), np.float64)
            if not np.all(np.isfinite(value)):
                raise NonFiniteLoss(
                    f"{name} is {value.reshape(-1)[0]} at step {self.step}; training "
                    f"stopped, the last checkpoint (step {self.saved_step}) is kept — "
                    "lower the learning rate, then run again to resume from it",
                    field=None,
                )
        if self.step % self.every_n_steps == 0:
            self.save()

    def on_train_end(self, logs=None):
        if self.step != self.saved_step:
            self.save()

    def save(self):
        """Writes a checkpoint now, then drops the oldest beyond `keep`.

        Called by `fit`'s hooks; call it to save at another moment.

        Returns:
            None.
        """
        save_checkpoint(self.model, self.directory, self.step, self.state)
        self.saved_step = self.step
        for _, path in list_checkpoints(self.directory)[: -self.keep]:
            files.remove(path)
