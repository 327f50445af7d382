"""Picks the devices of a run on JAX: a `keras.distribution.DataParallel`.

On JAX the step runs on the global batch, sharded over the devices, so the
loss sees every device's images and batch norm is global without any
cross-replica op. `keras_simclr.strategy.resolve_strategy` calls this
module when Keras runs on JAX; the settings are the same as on TensorFlow.

Several hosts (a TPU pod, a GPU cluster) start with
`keras.distribution.initialize()`, which reads Keras's environment
variables `KERAS_DISTRIBUTION_JOB_ADDRESSES` ("host1:port,host2:port",
the first is the coordinator), `KERAS_DISTRIBUTION_NUM_PROCESSES` and
`KERAS_DISTRIBUTION_PROCESS_ID`; then every host runs the same command,
and the distribution spans the devices of all of them.
"""

import os

import jax
import keras

from keras_simclr.strategy import StrategyError

__all__ = [
    "MULTI_HOST_ENV",
    "current_distribution",
    "is_chief",
    "resolve_distribution",
]

#: Keras's environment variable that makes a run multi-host.
MULTI_HOST_ENV = "KERAS_DISTRIBUTION_NUM_PROCESSES"


def _cpu_devices(count):
    """Splits the host CPU into `count` JAX devices (before JAX starts)."""
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:  # JAX's backend already started: its count is fixed
        pass
    devices = jax.devices("cpu")
    if len(devices) != count:
        raise StrategyError(
            f"cpu_replicas={count} but JAX already started with {len(devices)} CPU "
            "device(s) — choose cpu_replicas before anything runs on JAX (a fresh "
            "process), or set XLA_FLAGS=--xla_force_host_platform_device_count="
            f"{count}"
        )
    return devices


def resolve_distribution(tpu=None, num_gpus=None, cpu_replicas=1):
    """The `keras.distribution.DataParallel` a run asks for, or None.

    In order of precedence:
    1. `KERAS_DISTRIBUTION_NUM_PROCESSES` set: `keras.distribution.initialize()`
       (several hosts), then data parallel over every device of every host.
    2. `tpu` set: data parallel over every TPU chip (`jax.devices()`; the
       name is not needed on JAX, a TPU VM's chips are local).
    3. `num_gpus` (None: every visible GPU): data parallel over that many.
    4. `cpu_replicas` > 1: the host CPU split into that many devices (to
       test distribution without accelerators).
    5. Otherwise every local device of JAX's default platform; None when
       there is one (nothing to distribute).

    Args:
        tpu: a TPU name, "local", or None.
        num_gpus: GPUs to use; None every visible one, 0 none.
        cpu_replicas: CPU devices to split the host into.

    Returns:
        A `keras.distribution.DataParallel`, or None for one device.

    Raises:
        StrategyError: more GPUs asked for than visible, no TPU, or
            cpu_replicas < 1 or fixed already.

    Example:

    >>> print(resolve_distribution(num_gpus=0))  # one CPU device
    None
    """
    if cpu_replicas < 1:
        raise StrategyError(f"cpu_replicas must be >= 1, got {cpu_replicas}.")
    if os.environ.get(MULTI_HOST_ENV):
        keras.distribution.initialize()
        devices = jax.devices()
    elif tpu:
        devices = [d for d in jax.devices() if d.platform == "tpu"]
        if not devices:
            raise StrategyError(
                f"tpu={tpu!r} but JAX sees no TPU ({jax.devices()[0].platform} "
                "only) — run on a TPU VM with jax[tpu] installed, or drop tpu"
            )
    elif num_gpus != 0 and _has_gpus():
        gpus = jax.devices("gpu")
        num_gpus = len(gpus) if num_gpus is None else num_gpus
        if num_gpus > len(gpus):
            raise StrategyError(
                f"num_gpus={num_gpus} but {len(gpus)} GPU(s) are visible — pass "
                f"num_gpus={len(gpus)} or fewer, or check CUDA_VISIBLE_DEVICES"
            )
        devices = gpus[:num_gpus]
    elif num_gpus:
        raise StrategyError(
            f"num_gpus={num_gpus} but JAX sees no GPU — install jax[cuda12] "
            "and check the drivers, or drop num_gpus"
        )
    elif cpu_replicas > 1:
        devices = _cpu_devices(cpu_replicas)
    else:
        devices = jax.local_devices()
    if len(devices) == 1 and jax.process_count() == 1:
        return None
    return keras.distribution.DataParallel(devices=devices)


def current_distribution():
    """The distribution a run uses when given none.

    Keras's global one (`keras.distribution.set_distribution`), else data
    parallel over every local device (`resolve_distribution()`).

    Returns:
        A `keras.distribution.Distribution`, or None for one device.

    Example:

    >>> print(current_distribution())  # one CPU device
    None
    """
    return keras.distribution.distribution() or resolve_distribution()


def _has_gpus():
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend
        return False


def is_chief():
    """Whether this process writes the run's files: JAX's process 0.

    Returns:
        A bool.

    Example:

    >>> is_chief()
    True
    """
    return jax.process_index() == 0
