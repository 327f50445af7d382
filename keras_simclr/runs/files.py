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
    """Joins path parts; URLs (gs://b/x) keep their scheme.

    Args:
        *parts: strings or path-like objects.

    Returns:
        The joined path, a string.

    Example:

    >>> join("gs://bucket/run", "checkpoints", "ckpt-10")
    'gs://bucket/run/checkpoints/ckpt-10'
    """
    return os.path.join(*map(os.fspath, parts))


def _is_plain_local(path):
    return "://" not in path


def write_atomic(path, data):
    """Writes `data` (str or bytes) so that a kill leaves the old or the new file.

    The bytes go to a temporary name beside `path`, which is then renamed
    over it.

    Args:
        path: the file to write (any gfile URL); its folder is created.
        data: its contents.

    Returns:
        None.

    Example:

    >>> write_atomic("run/notes.txt", "step 10")
    >>> gfile.GFile("run/notes.txt").read()
    'step 10'
    >>> gfile.listdir("run")  # no temporary file left behind
    ['notes.txt']
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
    """`write_atomic` of `value` as indented, sorted JSON.

    Args:
        path: the file to write.
        value: a JSON-serialisable value.

    Returns:
        None.

    Example:

    >>> write_json("run/config.json", {"epochs": 6, "dataset": "shapes"})
    >>> print(open("run/config.json").read(), end="")
    {
      "dataset": "shapes",
      "epochs": 6
    }
    """
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def read_json(path, default=None):
    """The JSON in `path`, or `default` when there is no such file.

    Args:
        path: the file to read.
        default: what to return when `path` does not exist.

    Returns:
        The decoded JSON value, or `default`.

    Example:

    >>> write_json("run/config.json", {"epochs": 6})
    >>> read_json("run/config.json"), read_json("run/missing.json", default={})
    ({'epochs': 6}, {})
    """
    if not gfile.exists(path):
        return default
    with gfile.GFile(path, "r") as f:
        return json.load(f)


def remove(path):
    """Deletes a file or a folder; nothing if it does not exist.

    Args:
        path: a file or a folder (deleted with everything in it).

    Returns:
        None.

    Example:

    >>> write_json("run/checkpoints/ckpt-1/state.json", {"step": 1})
    >>> remove("run/checkpoints/ckpt-1")
    >>> remove("run/checkpoints/ckpt-1")  # already gone: no error
    >>> gfile.listdir("run/checkpoints")
    []
    """
    try:
        if gfile.isdir(path):
            gfile.rmtree(path)
        elif gfile.exists(path):
            gfile.remove(path)
    except tf.errors.NotFoundError:
        pass


def digest(path):
    """(size in bytes, SHA-256 hex digest) of a file.

    Args:
        path: the file (any gfile URL), read in 4 MiB chunks.

    Returns:
        `(size, sha256_hex)`.

    Example:

    >>> write_atomic("hello.txt", "hello")
    >>> size, sha256 = digest("hello.txt")
    >>> size, sha256[:16]
    (5, '2cf24dba5fb0a30e')
    """
    sha, size = hashlib.sha256(), 0
    with gfile.GFile(path, "rb") as f:
        while chunk := f.read(1 << 22):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


@contextlib.contextmanager
def local_output(path):
    """Yields a local file name whose contents end up in `path`, atomically.

    For writers that need a local file (h5py, Keras's `.keras` zip). The
    file is copied to `path` under a temporary name, then renamed, once
    the `with` block ends without an error.

    Args:
        path: where the file must end up (any gfile URL).

    Returns:
        A context manager yielding the local file name to write.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> with local_output("ram://local_output_example/model.keras") as local:
    ...     model.save(local)
    >>> gfile.exists("ram://local_output_example/model.keras")
    True
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
    file first, deleted when the `with` block ends.

    Args:
        path: the file to read (any gfile URL).

    Returns:
        A context manager yielding a local file name.

    Example:

    >>> write_atomic("ram://local_input_example/notes.txt", "hello")
    >>> with local_input("ram://local_input_example/notes.txt") as local:
    ...     print(open(local).read())
    hello
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
