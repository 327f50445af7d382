"""The writer lock of a run folder: one process writes a run at a time.

`hold(model_dir, purpose)` creates `model_dir/lock.json` (host, pid, the
process's start time, a lease) or refuses, in one line naming the holder
and the fix, when a live process holds it. It works on any `tf.io.gfile`
URL: a local folder gets the lock with `os.link` (atomic, fails if the file
exists); another filesystem with a rename that refuses to overwrite,
then a read-back that the lock is this process's.

A lock whose holder is gone is taken over with one warning line:

- same host: its pid is not running, or runs a process started at another
  time (the pid was reused);
- another host: its lease was not renewed for `LEASE_SECONDS` (the holder
  renews it every `RENEW_SECONDS` while it holds the lock).
"""

import contextlib
import datetime
import json
import os
import socket
import sys
import threading
import time
import uuid

from keras_simclr.runs import files
from keras_simclr.runs.errors import RunBusyError, RunSettingError

__all__ = ["LOCK", "check_folder", "hold", "holder"]

LOCK = "lock.json"
# A holder on another host that has not renewed its lease for this long is
# gone (a Colab runtime recycled onto another machine, a preempted worker).
LEASE_SECONDS = 150
RENEW_SECONDS = 30
# The tokens of the locks this process holds (a lock of this pid and not in
# here was left behind by an earlier call that could not release it).
_HELD = set()


def _process_start(pid):
    """The start time of process `pid` (clock ticks since boot), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # Field 22; the command name (field 2) may hold spaces.
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _running(pid, started):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: running
    now = _process_start(pid)
    return now is None or started is None or now == started


def _alive(record):
    """Whether the holder described by `record` still runs."""
    try:
        if record["host"] != socket.gethostname():
            return time.time() - float(record["renewed"]) < LEASE_SECONDS
        pid = int(record["pid"])
        if pid == os.getpid() and record.get("started") == _process_start(pid):
            return record.get("token") in _HELD
        return _running(pid, record.get("started"))
    except (KeyError, TypeError, ValueError):
        return False  # not a lock this library wrote whole


def holder(model_dir):
    """The record of the process holding `model_dir`'s lock, or None.

    Args:
        model_dir: a run's folder (any gfile URL).

    Returns:
        A dict (host, pid, purpose, since...) when a running process holds
        the lock, else None (no lock, or one left by a process that is
        gone).

    Example:

    >>> with hold("runs/demo", "linear_eval"):
    ...     holder("runs/demo")["purpose"]
    'linear_eval'
    >>> print(holder("runs/demo"))
    None
    """
    record = _read(files.join(str(model_dir), LOCK))
    return record if record is not None and _alive(record) else None


def _read(path):
    try:
        with files.gfile.GFile(path, "r") as f:
            return json.load(f)
    except files.tf.errors.NotFoundError:
        return None
    except (ValueError, files.tf.errors.OpError):
        return {}  # damaged: not alive, taken over


def _local(path):
    if path.startswith("file://"):
        return path[len("file://") :]
    return path if "://" not in path else None


def _create(path, record):
    """Creates the lock file with `record`; False if one exists already."""
    # Not `path` + a suffix: ram:// takes a file for existing when another
    # name starts with its name.
    folder, name = path.rsplit("/", 1)
    partial = f"{folder}/.{record['token'][:8]}-{name}"
    files.write_atomic(partial, json.dumps(record))
    try:
        local = _local(path)
        if local is not None:
            try:
                os.link(_local(partial), local)
            except FileExistsError:
                return False
            return True
        try:
            files.gfile.rename(partial, path, overwrite=False)
        except files.tf.errors.AlreadyExistsError:
            return False
        # Not atomic on every filesystem: the last writer wins; check it is us.
        return (_read(path) or {}).get("token") == record["token"]
    finally:
        files.remove(partial)


def _describe(record):
    return (
        f"{record.get('purpose', 'a run')} (pid {record.get('pid')} on "
        f"{record.get('host')}, since {record.get('since')})"
    )


def _fix(record, path):
    """How to get the lock: wait, let another host's lease run out, delete it."""
    if record.get("host") == socket.gethostname():
        return f"wait for it to end, or if that process is gone, delete {path}"
    left = LEASE_SECONDS - (time.time() - float(record["renewed"]))
    return (
        "wait for it to end; if it is gone, run again once its lease runs out "
        f"(in {left:.0f} s), or delete {path}"
    )


def check_folder(model_dir):
    """Refuses a `model_dir` that is a file.

    Args:
        model_dir: a run's folder (any gfile URL); it may not exist yet.

    Returns:
        None.

    Raises:
        RunSettingError: `model_dir` is a file.

    Example:

    >>> _ = open("notes.txt", "w").write("not a run")
    >>> check_folder("notes.txt")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.runs.errors.RunSettingError: model_dir notes.txt is a file, not a
    folder — pass a folder path (it is created), or move the file away
    """
    if files.gfile.exists(model_dir) and not files.gfile.isdir(model_dir):
        raise RunSettingError(
            f"model_dir {model_dir} is a file, not a folder — pass a folder path "
            "(it is created), or move the file away",
            field="model_dir",
        )


def _acquire(model_dir, purpose):
    path = files.join(model_dir, LOCK)
    record = dict(
        host=socket.gethostname(),
        pid=os.getpid(),
        started=_process_start(os.getpid()),
        purpose=purpose,
        since=datetime.datetime.now().isoformat(timespec="seconds"),
        renewed=time.time(),
        token=uuid.uuid4().hex,
    )
    for _ in range(3):
        if _create(path, record):
            _HELD.add(record["token"])
            return record
        found = _read(path)
        if found is None:
            continue  # released meanwhile
        if _alive(found):
            raise RunBusyError(
                f"{model_dir} is in use by {_describe(found)} — {_fix(found, path)}",
                field="model_dir",
            )
        print(
            f"keras-simclr: warning: taking over {path} from {_describe(found)}, "
            "which is no longer running",
            file=sys.stderr,
            flush=True,
        )
        if _read(path) == found:
            files.remove(path)
    raise RunBusyError(
        f"{model_dir} is being locked by another process at the same moment — "
        "run one command at a time on a run folder",
        field="model_dir",
    )


def _renew(path, record, stop):
    """Renews the lease every RENEW_SECONDS while the lock is still ours."""
    while not stop.wait(RENEW_SECONDS):
        if (_read(path) or {}).get("token") != record["token"]:
            return
        record["renewed"] = time.time()
        files.write_atomic(path, json.dumps(record))


@contextlib.contextmanager
def hold(model_dir, purpose, renew=False):
    """Holds the writer lock of `model_dir` for the `with` block.

    Args:
        model_dir: a run's folder (any gfile URL); created if it does not
            exist, and removed again if it is still empty at the end.
        purpose: what the holder does ("pretrain", ...), for the message
            another process gets.
        renew: renew the lease while the block runs (for long holds).

    Returns:
        A context manager yielding the lock's record (a dict).

    Raises:
        RunBusyError: a running process holds the lock.
        RunSettingError: `model_dir` is a file.

    Example:

    >>> with hold("runs/demo", "pretrain"):  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    ...     with hold("runs/demo", "finetune"):
    ...         pass
    Traceback (most recent call last):
    ...
    keras_simclr.runs.errors.RunBusyError: runs/demo is in use by pretrain (pid ... on
    ..., since ...) — wait for it to end, or if that process is gone, delete
    runs/demo/lock.json
    >>> tf.io.gfile.listdir("runs")  # released, and the empty folder removed
    []
    """
    model_dir = str(model_dir)
    check_folder(model_dir)
    created = not files.gfile.exists(model_dir)
    record = _acquire(model_dir, purpose)
    path = files.join(model_dir, LOCK)
    stop = threading.Event()
    if renew:
        threading.Thread(target=_renew, args=(path, record, stop), daemon=True).start()
    try:
        yield record
    finally:
        stop.set()
        _HELD.discard(record["token"])
        if (_read(path) or {}).get("token") == record["token"]:
            files.remove(path)
        if created and not files.gfile.listdir(model_dir):
            files.remove(model_dir)
