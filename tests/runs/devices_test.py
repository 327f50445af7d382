"""The devices of a run on JAX: data parallel over every local device."""

from tests.replicas import run_with_replicas

_DEVICES = """
from keras_simclr import strategy as strategies
from keras_simclr.errors import UserInputError

default = strategies.current()
errors = []
for settings in (dict(num_gpus=1), dict(cpu_replicas=3), dict(tpu="local")):
    try:
        strategies.resolve_strategy(**settings)
    except UserInputError as error:
        errors.append(str(error))
save(
    kind=np.array(type(default).__name__),
    replicas=strategies.num_replicas(default),
    devices=np.array([str(d) for d in default.device_mesh.devices.ravel()]),
    same=strategies.num_replicas(strategies.resolve_strategy(cpu_replicas=2)),
    chief=strategies.is_chief(),
    errors=np.array(errors),
)
"""


def test_jax_runs_data_parallel_on_every_local_device_and_refuses_absent_ones():
    out = run_with_replicas(_DEVICES, 2, backend="jax")
    assert str(out["kind"]) == "DataParallel"
    assert int(out["replicas"]) == 2 and int(out["same"]) == 2
    assert list(out["devices"]) == ["cpu:0", "cpu:1"]
    assert bool(out["chief"])
    assert list(out["errors"]) == [
        "num_gpus=1 but JAX sees no GPU — install jax[cuda12] and check the "
        "drivers, or drop num_gpus",
        "cpu_replicas=3 but JAX already started with 2 CPU device(s) — choose "
        "cpu_replicas before anything runs on JAX (a fresh process), or set "
        "XLA_FLAGS=--xla_force_host_platform_device_count=3",
        "tpu='local' but JAX sees no TPU (cpu only) — run on a TPU VM with "
        "jax[tpu] installed, or drop tpu",
    ]
