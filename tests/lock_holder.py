"""Another process holding a run folder's writer lock, for tests of refusal."""

import contextlib
import os
import subprocess
import sys

from tests.command_line import CPU_ENV

# Holds the lock of argv[1] until its stdin closes.
_HOLDER = """
import sys
from keras_simclr.runs import lock
with lock.hold(sys.argv[1], "pretrain"):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def held_by_another_process(folder):
    """Yields the `Popen` of a process that holds `folder`'s lock meanwhile.

    Example:

        with held_by_another_process(tmp_path / "run") as holder:
            ...  # holder.pid holds the lock
    """
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(CPU_ENV, PYTHONPATH=os.getcwd()),
    )
    try:
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert holder.returncode == 0
