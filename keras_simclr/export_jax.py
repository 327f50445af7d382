"""Export on JAX: a TensorFlow process writes the very same SavedModel.

A JAX process cannot run Keras layers on TensorFlow tensors (Keras has one
backend per process), and Keras's own `export(format="tf_saved_model")`
goes through jax2tf: a different signature (no `"train"` endpoint that
updates batch norm's moving statistics, no `__call__(images, training)`
for fine-tuning) and XLA-only functions. So the model is saved as a
`.keras` file (backend-neutral), and a fresh Python process with
`KERAS_BACKEND=tensorflow` loads it and runs `export.export_encoder`: the
SavedModel, its signatures and its variables are exactly those of an export
on TensorFlow, and its outputs match the JAX model's (same weights, same
maths) to float32 rounding.
"""

import json
import os
import subprocess
import sys
import tempfile

import keras_simclr
from keras_simclr import errors

__all__ = ["export_in_tensorflow"]

# The child prints a user error as one line after this tag, exit status 2.
_USER_ERROR = "keras-simclr-user-error: "
_CHILD = f"""
import json, sys
from keras_simclr import errors, export
try:
    export.export_encoder(**json.loads(sys.argv[1]))
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


def export_in_tensorflow(model, path, include_projection, image_size, overwrite):
    """Exports `model` (built on JAX, or a `.keras` path) through TensorFlow.

    Args:
        model: a SimCLR model or a Keras encoder (saved to a temporary
            `.keras` file first), or the path of a `.keras` file.
        path: the SavedModel's folder, already checked by
            `export.check_export_path`.
        include_projection, image_size, overwrite: as
            `export.export_encoder`.

    Returns:
        `path`.

    Raises:
        UserInputError: what `export.export_encoder` refuses on TensorFlow,
            in its one line.
        RuntimeError: the TensorFlow process failed otherwise (its last
            error line, e.g. an encoder layer Keras cannot load: register
            it with `keras.saving.register_keras_serializable`).

    Example:

    >>> import tempfile, keras
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> path = export_in_tensorflow(  # doctest: +SKIP
    ...     encoder, tempfile.mkdtemp() + "/encoder", True, None, False)
    """
    with tempfile.TemporaryDirectory(prefix="keras-simclr-export-") as scratch:
        if isinstance(model, (str, os.PathLike)):
            source = os.fspath(model)
        else:
            source = os.path.join(scratch, "model.keras")
            model.save(source)
        settings = dict(
            model=source,
            path=os.fspath(path),
            include_projection=include_projection,
            image_size=image_size,
            overwrite=overwrite,
        )
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
