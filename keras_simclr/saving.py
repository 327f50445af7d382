"""Loading of a saved SimCLR model with errors that name the file.

A `.keras` file written on TensorFlow holds synchronized batch norms
(`synchronized=True`), which Keras on JAX refuses to build; on JAX they
load as plain batch norms, which `keras.distribution.DataParallel` makes
global anyway (the weights are the same four variables).
"""

import contextlib
import json
import os
import tempfile
import zipfile

import keras
import tensorflow as tf

from keras_simclr import errors
from keras_simclr.backends import is_jax

__all__ = ["load_model"]


def load_model(path):
    """Loads a `.keras` file written by `model.save`, or says what is wrong.

    Unlike `keras.saving.load_model`, which reports a truncated or partly
    copied file as "File not found", a missing file and a damaged one get
    different one-line errors naming the file.

    Args:
        path: a `.keras` file (local or `gs://`).

    Returns:
        The model (a `keras_simclr.SimCLR` for files this library wrote).

    Raises:
        ModelFileError: the file does not exist, or is not a complete
            `.keras` archive.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.save("tiny.keras")
    >>> load_model("tiny.keras").output_shape
    (None, 2)
    >>> with open("tiny.keras", "rb") as f:
    ...     head = f.read(100)
    >>> with open("copied.keras", "wb") as f:
    ...     _ = f.write(head)  # an interrupted copy
    >>> load_model("copied.keras")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.errors.ModelFileError: model file copied.keras is damaged (not a
    complete .keras archive: truncated or partly copied) — copy it again or save it
    again.
    """
    path = str(path)
    if not tf.io.gfile.exists(path):
        raise errors.ModelFileError(f"no model file {path} — check the path.")
    with tf.io.gfile.GFile(path, "rb") as f:
        complete = zipfile.is_zipfile(f)
    if not complete:
        raise errors.ModelFileError(
            f"model file {path} is damaged (not a complete .keras archive: "
            "truncated or partly copied) — copy it again or save it again."
        )
    import keras_simclr  # noqa: F401 (registers the serializable classes)
    from keras_simclr.runs import files  # Not at the top: runs imports us.

    try:
        with files.local_input(path) as local:  # h5py inside needs a local file.
            with _loadable_here(local) as loadable:
                return keras.saving.load_model(loadable)
    except (zipfile.BadZipFile, KeyError, EOFError) as error:
        raise errors.ModelFileError(
            f"model file {path} is damaged ({error}) — copy it again or save it again."
        ) from None


def _plain_batch_norms(config):
    """Sets `synchronized` False in every BatchNormalization of a config; counts them."""
    found = 0
    if isinstance(config, dict):
        inner = config.get("config")
        if (
            config.get("class_name") == "BatchNormalization"
            and isinstance(inner, dict)
            and inner.get("synchronized")
        ):
            inner["synchronized"] = False
            found += 1
        for value in config.values():
            found += _plain_batch_norms(value)
    elif isinstance(config, list):
        found += sum(_plain_batch_norms(value) for value in config)
    return found


@contextlib.contextmanager
def _loadable_here(local):
    """`local`, or on JAX a copy without synchronized batch norms if it has any."""
    if not is_jax():
        yield local
        return
    with zipfile.ZipFile(local) as archive:
        config = json.loads(archive.read("config.json"))
        if not _plain_batch_norms(config):
            yield local
            return
        with tempfile.TemporaryDirectory(prefix="keras-simclr-") as folder:
            copy = os.path.join(folder, os.path.basename(local))
            with zipfile.ZipFile(copy, "w") as out:
                for item in archive.infolist():
                    data = archive.read(item.filename)
                    if item.filename == "config.json":
                        data = json.dumps(config).encode()
                    out.writestr(item, data)
            yield copy
