"""Export on JAX: a TensorFlow process writes the very same SavedModel.

A JAX process cannot run Keras layers on TensorFlow tensors (Keras has one
backend per process), and Keras's own `export(format="tf_saved_model")`
goes through jax2tf: another signature (no `"train"` endpoint that
updates batch norm's moving statistics, no `__call__(images, training)`
for fine-tuning) and XLA-only functions. So the encoder and the projection
head are saved as `.keras` files (backend-neutral), and a fresh Python
process with `KERAS_BACKEND=tensorflow` loads them and writes the
SavedModel with the code of a TensorFlow export: the signatures and
variables are exactly those of an export on TensorFlow, and the outputs
match the JAX model's (same weights, same maths) to float32 rounding.
The rest of the model (augmentation, probe) is not saved: only the
encoder's and the head's layers must load in that process (Keras's own,
keras_simclr's, or registered with `keras.saving.register_keras_serializable`
in a module that keras_simclr's import imports).
"""

import json
import os
import subprocess
import sys
import tempfile

import keras

import keras_simclr
from keras_simclr import errors

__all__ = ["export_in_tensorflow"]

# The child prints a user error as one line after this tag, exit status 2.
_USER_ERROR = "keras-simclr-user-error: "
_CHILD = f"""
import json, sys
from keras_simclr import errors, export, saving
settings = json.loads(sys.argv[1])
try:
    encoder = saving.load_model(settings["encoder"])
    head = saving.load_model(settings["head"]).layers[0] if settings["head"] else None
    export._write_saved_model(encoder, head, settings["path"], settings["image_size"])
except errors.UserInputError as error:
    print({_USER_ERROR!r} + str(error), file=sys.stderr)
    sys.exit(2)
"""


def _child_env():
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    package_root = os.path.dirname(os.path.dirname(keras_simclr.__file__))
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, os.environ.get("PYTHONPATH")) if p
    )
    return env


def export_in_tensorflow(encoder, head, path, image_size):
    """Writes the SavedModel of `encoder` and `head` (built on JAX) through TensorFlow.

    Args:
        encoder: a built Keras encoder (a `keras.Model`).
        head: its built projection head, or None.
        path: the SavedModel's folder, checked by `export.check_export_path`
            (replaced if it exists).
        image_size: (height, width) of the input, None for a free dimension.

    Returns:
        `path`, as a string.

    Raises:
        UserInputError: what the TensorFlow export refuses, in its one line.
        RuntimeError: the TensorFlow process failed otherwise, with its
            last error line (e.g. an encoder layer it cannot load).

    Example:

    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> path = export_in_tensorflow(  # doctest: +SKIP
    ...     encoder, None, tempfile.mkdtemp() + "/encoder", (8, 8))
    """
    with tempfile.TemporaryDirectory(prefix="keras-simclr-export-") as scratch:
        settings = dict(
            encoder=os.path.join(scratch, "encoder.keras"),
            head=os.path.join(scratch, "head.keras") if head is not None else None,
            path=os.fspath(path),
            image_size=list(image_size),
        )
        encoder.save(settings["encoder"])
        if head is not None:
            width = encoder.output_shape[-1]
            keras.Sequential([keras.Input((width,)), head]).save(settings["head"])
        run = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(settings)],
            env=_child_env(),
            capture_output=True,
            text=True,
        )
    if run.returncode == 0:
        return os.fspath(path)
    lines = run.stderr.strip().splitlines() or ["no output"]
    for line in lines:
        if line.startswith(_USER_ERROR):
            raise errors.UserInputError(line[len(_USER_ERROR) :])
    raise RuntimeError(
        f"the TensorFlow process that writes the SavedModel failed: {lines[-1]}"
    )
