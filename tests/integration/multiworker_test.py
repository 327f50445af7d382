"""Two worker processes (MultiWorkerMirroredStrategy over TF_CONFIG on
127.0.0.1) end with the weights of one process on the same global batch."""

import json
import os
import socket
import subprocess

import keras
import numpy as np

from tests.command_line import CPU_ENV, demo_pretrain, shapes_npz

STEPS = 3


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _command(dataset, model_dir):
    return demo_pretrain(
        dataset,
        model_dir,
        "--batch_size=8",
        f"--train_steps={STEPS}",
        "--proj_dim=16",
        "--augment_on=data",
        "--deterministic",
        "--seed=1",
        "--noexport",
    )


def _env(tf_config=None):
    env = dict(CPU_ENV)
    env.pop("TF_CONFIG", None)
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _run_workers(command, timeout=420):
    """Runs `command` as two workers; kills both if either fails or hangs."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    procs = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env({"cluster": cluster, "task": {"type": "worker", "index": i}}),
        )
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-4000:]
    return [out for out, _ in outputs]


def test_two_workers_match_one_process(tmp_path):
    dataset, _, _ = shapes_npz(tmp_path / "tiny.npz", 32, seed=4)

    single = tmp_path / "single"
    proc = subprocess.run(
        _command(dataset, single),
        capture_output=True,
        text=True,
        timeout=420,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-4000:]

    cluster_dir = tmp_path / "cluster"
    chief_out, worker_out = _run_workers(_command(dataset, cluster_dir))
    assert "on 2 replica(s)" in chief_out and "on 2 replica(s)" in worker_out
    # The chief wrote the run's files (the other worker used a scratch folder).
    assert sorted(os.listdir(cluster_dir / "checkpoints")) == [f"ckpt-{STEPS}"]

    a = keras.saving.load_model(str(single / "model.keras"))
    b = keras.saving.load_model(str(cluster_dir / "model.keras"))
    assert int(b.optimizer.iterations.numpy()) == STEPS
    for va, vb in zip(a.weights, b.weights):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-5, err_msg=va.path)
    # Not vacuous: training moved the weights (non-zero momentum buffers).
    slots = [v.numpy() for v in a.optimizer.variables if "momentum" in v.path]
    assert slots and all(np.abs(slot).sum() > 0 for slot in slots[:5])
