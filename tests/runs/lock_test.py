"""The run folder's writer lock: refused while held, taken over once stale."""

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from keras_simclr.runs import errors, lock
from tests.lock_holder import held_by_another_process


def _dead_pid():
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def _plant(folder, **record):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / lock.LOCK).write_text(json.dumps(record))


def test_a_lock_held_by_another_process_is_refused_naming_it(tmp_path):
    run = tmp_path / "run"
    with held_by_another_process(run) as holder:
        with pytest.raises(errors.RunBusyError) as refused:
            with lock.hold(run, "pretrain"):
                pass
        message = str(refused.value)
        assert "\n" not in message
        assert message.startswith(
            f"{run} is in use by pretrain (pid {holder.pid} on {socket.gethostname()}"
        )
        assert message.endswith(
            f"— wait for it to end, or if that process is gone, delete {run}/lock.json"
        )
        assert lock.holder(run)["pid"] == holder.pid
    assert lock.holder(run) is None and not run.exists()  # made, then removed


def test_a_second_holder_in_the_same_process_is_refused(tmp_path):
    with lock.hold(tmp_path, "pretrain"):
        with pytest.raises(errors.RunBusyError, match="in use by pretrain"):
            with lock.hold(tmp_path, "linear_eval"):
                pass
    with lock.hold(tmp_path, "linear_eval") as record:  # released: free again
        assert record["purpose"] == "linear_eval"


def test_the_lock_of_a_dead_process_is_taken_over_with_one_warning(tmp_path, capsys):
    pid = _dead_pid()
    _plant(
        tmp_path,
        host=socket.gethostname(),
        pid=pid,
        started="1",
        token="old",
        purpose="pretrain",
        since="2026-01-01T00:00:00",
        renewed=time.time(),
    )
    assert lock.holder(tmp_path) is None
    with lock.hold(tmp_path, "pretrain") as record:
        assert (
            json.loads((tmp_path / lock.LOCK).read_text())["token"] == record["token"]
        )
    warnings = capsys.readouterr().err.strip().splitlines()
    assert warnings == [
        f"keras-simclr: warning: taking over {tmp_path}/lock.json from pretrain "
        f"(pid {pid} on {socket.gethostname()}, since 2026-01-01T00:00:00), which "
        "is no longer running"
    ]
    assert not (tmp_path / lock.LOCK).exists()


def test_a_reused_pid_is_not_the_holder(tmp_path, capsys):
    # This very process, but the lock says it started at another time.
    _plant(
        tmp_path,
        host=socket.gethostname(),
        pid=os.getpid(),
        started="-1",
        token="old",
        purpose="pretrain",
        since="then",
        renewed=time.time(),
    )
    with lock.hold(tmp_path, "pretrain"):
        pass
    assert "taking over" in capsys.readouterr().err


def test_another_hosts_lock_is_held_until_its_lease_expires(tmp_path, capsys):
    fresh = dict(
        host="elsewhere",
        pid=1,
        token="x",
        purpose="pretrain",
        since="then",
        renewed=time.time() - lock.LEASE_SECONDS + 30,
    )
    _plant(tmp_path, **fresh)
    with pytest.raises(errors.RunBusyError) as refused:
        with lock.hold(tmp_path, "pretrain"):
            pass
    message = str(refused.value)
    left = int(re.search(r"\(in (\d+) s\)", message).group(1))
    assert 20 <= left <= 30
    assert message == (
        f"{tmp_path} is in use by pretrain (pid 1 on elsewhere, since then) — wait "
        f"for it to end; if it is gone, run again once its lease runs out (in {left} "
        f"s), or delete {tmp_path}/lock.json"
    )
    _plant(tmp_path, **dict(fresh, renewed=time.time() - lock.LEASE_SECONDS - 30))
    with lock.hold(tmp_path, "pretrain"):
        pass
    assert "taking over" in capsys.readouterr().err


def test_the_lease_is_renewed_while_held(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "RENEW_SECONDS", 0.05)
    with lock.hold(tmp_path, "pretrain", renew=True) as record:
        first = record["renewed"]
        time.sleep(0.5)
        renewed = json.loads((tmp_path / lock.LOCK).read_text())["renewed"]
    assert renewed > first


def test_a_damaged_lock_is_taken_over(tmp_path, capsys):
    (tmp_path / lock.LOCK).write_text("{not json")
    with lock.hold(tmp_path, "pretrain"):
        pass
    assert "taking over" in capsys.readouterr().err


def test_a_model_dir_that_is_a_file_is_one_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    with pytest.raises(errors.RunSettingError) as refused:
        with lock.hold(path, "pretrain"):
            pass
    assert str(refused.value) == (
        f"model_dir {path} is a file, not a folder — pass a folder path (it is "
        "created), or move the file away"
    )
    assert path.read_text() == "mine"


def test_the_lock_works_on_ram_urls():
    with lock.hold("ram://lock_test/run", "pretrain"):
        assert lock.holder("ram://lock_test/run")["purpose"] == "pretrain"
        with pytest.raises(errors.RunBusyError):
            with lock.hold("ram://lock_test/run", "export"):
                pass
    assert lock.holder("ram://lock_test/run") is None
