"""Files of a run on any filesystem TensorFlow knows (local, gs://, ram://, ...).

Everything goes through `tf.io.gfile`. h5py and Keras's `.keras` zip writer
need a local file: `local_output` and `local_input` stage them through a
local temporary file.
"""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid

import tensorflow as tf

gfile = tf.io.gfile


def join(*parts):
    """Joins path parts; URLs (gs://b/x) keep their scheme."""
    return os.path.join(*map(os.fspath, parts))


def _is_plain_local(path):
    return "://" not in path


def write_atomic(path, data):
    """Writes `data` (str or bytes) so that a kill leaves the old or the new file.

    The bytes go to a temporary name beside `path`, which is then renamed
    over it.

    Args:
        path: the file to write.
        data: its contents.

    Example:

    >>> write_atomic("gs://bucket/run/config.json", "{}")
    """
    path = os.fspath(path)
    gfile.makedirs(os.path.dirname(path) or ".")
    partial = f"{path}.partial-{uuid.uuid4().hex[:8]}"
    try:
        with gfile.GFile(partial, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        gfile.rename(partial, path, overwrite=True)
    except BaseException:
        remove(partial)
        raise


def write_json(path, value):
    """`write_atomic` of `value` as indented, sorted JSON."""
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def read_json(path, default=None):
    """The JSON in `path`, or `default` when there is no such file."""
    if not gfile.exists(path):
        return default
    with gfile.GFile(path, "r") as f:
        return json.load(f)


def remove(path):
    """Deletes a file or a folder; nothing if it does not exist."""
    try:
        if gfile.isdir(path):
            gfile.rmtree(path)
        elif gfile.exists(path):
            gfile.remove(path)
    except tf.errors.NotFoundError:
        pass


def digest(path):
    """(size in bytes, SHA-256 hex digest) of a file."""
    sha, size = hashlib.sha256(), 0
    with gfile.GFile(path, "rb") as f:
        while chunk := f.read(1 << 22):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


@contextlib.contextmanager
def local_output(path):
    """Yields a local file name whose contents end up in `path`, atomically.

    Example:

    >>> with local_output("gs://bucket/run/model.keras") as local:
    ...     model.save(local)
    """
    path = os.fspath(path)
    folder = tempfile.mkdtemp(prefix="keras-simclr-")
    local = os.path.join(folder, os.path.basename(path))
    try:
        yield local
        gfile.makedirs(os.path.dirname(path) or ".")
        partial = f"{path}.partial-{uuid.uuid4().hex[:8]}"
        try:
            gfile.copy(local, partial, overwrite=True)
            gfile.rename(partial, path, overwrite=True)
        except BaseException:
            remove(partial)
            raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def local_input(path):
    """Yields a local file name holding the contents of `path`.

    Local paths are used as they are; other URLs are copied to a temporary
    file first.
    """
    path = os.fspath(path)
    if _is_plain_local(path):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="keras-simclr-")
    local = os.path.join(folder, os.path.basename(path))
    try:
        gfile.copy(path, local)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)
