"""Picks the devices of a run: TPU, several hosts, GPUs or CPU.

On TensorFlow a `tf.distribute` strategy; on JAX a
`keras.distribution.DataParallel` (see `keras_simclr.distribution_jax`),
chosen by the same settings. `current`, `num_replicas`, `scope` and
`is_chief` take either.
"""

import contextlib
import json
import os

import tensorflow as tf

from keras_simclr.backends import is_jax
from keras_simclr.errors import UserInputError

__all__ = [
    "StrategyError",
    "cluster_spec_from_env",
    "current",
    "is_chief",
    "num_replicas",
    "resolve_strategy",
    "scope",
]


class StrategyError(UserInputError):
    """A user error in the strategy settings (bad TF_CONFIG, too few GPUs).

    Args:
        *args: the message.

    Example:

    >>> try:
    ...     resolve_strategy(cpu_replicas=0)
    ... except StrategyError as error:
    ...     print(error)
    cpu_replicas must be >= 1, got 0.
    """


def cluster_spec_from_env():
    """Returns the parsed `TF_CONFIG` environment variable, or None.

    Returns:
        A dict with keys "cluster" and "task", or None when `TF_CONFIG` is
        unset or names no cluster.

    Raises:
        StrategyError: `TF_CONFIG` is not valid JSON or lacks "task".

    Example:

    >>> os.environ["TF_CONFIG"] = json.dumps({
    ...     "cluster": {"worker": ["host1:2222", "host2:2222"]},
    ...     "task": {"type": "worker", "index": 1}})
    >>> cluster_spec_from_env()["task"]
    {'type': 'worker', 'index': 1}
    >>> del os.environ["TF_CONFIG"]
    >>> print(cluster_spec_from_env())
    None
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise StrategyError(
            f"TF_CONFIG is not valid JSON ({error}) — see the README's "
            "'Scaling out' section for its format."
        ) from None
    if not config.get("cluster"):
        return None
    task = config.get("task") or {}
    if "type" not in task or "index" not in task:
        raise StrategyError(
            "TF_CONFIG names a cluster but no task — add "
            '"task": {"type": "worker", "index": i} for this machine.'
        )
    return config


def is_chief(config=None):
    """Whether this process writes the run's files (checkpoints, logs, model).

    The chief is the task of type "chief", or worker 0 when the cluster has
    no chief; a process outside any cluster is its own chief. On JAX (and
    no `config`), JAX's process 0.

    Args:
        config: a parsed `TF_CONFIG`; None reads the environment.

    Returns:
        A bool.

    Example:

    >>> is_chief({"cluster": {"worker": ["a:1", "b:2"]},
    ...           "task": {"type": "worker", "index": 1}})
    False
    """
    if config is None and is_jax():
        from keras_simclr import distribution_jax

        return distribution_jax.is_chief()
    config = cluster_spec_from_env() if config is None else config
    if not config:
        return True
    task = config["task"]
    if task["type"] == "chief":
        return True
    return (
        task["type"] == "worker"
        and int(task["index"]) == 0
        and "chief" not in config["cluster"]
    )


def _split_cpu(num_devices):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
    )
    return [f"/cpu:{i}" for i in range(num_devices)]


def resolve_strategy(tpu=None, num_gpus=None, cpu_replicas=1):
    """Creates the strategy a run asks for; call it before any other TF op.

    On JAX it returns `keras_simclr.distribution_jax.resolve_distribution`'s
    `DataParallel` (or None for one device) for the same arguments. On
    TensorFlow, in order of precedence:
    1. `tpu` set: `TPUStrategy` on `TPUClusterResolver(tpu)` ("local" for a
       TPU VM, a name or grpc:// address otherwise; pods included).
    2. `TF_CONFIG` names a cluster: `MultiWorkerMirroredStrategy`, with ring
       all-reduce when there are no GPUs (the collective that works on CPU)
       and NCCL's choice otherwise.
    3. `num_gpus` > 1 (or None with several GPUs visible):
       `MirroredStrategy` over the first `num_gpus` GPUs.
    4. `cpu_replicas` > 1: `MirroredStrategy` over that many logical CPU
       devices (to test distribution without accelerators).
    5. Otherwise the default strategy (one device).

    Args:
        tpu: TPU name or address, or None.
        num_gpus: number of GPUs to use; None uses every visible GPU, 0 none.
        cpu_replicas: logical CPU devices to split the host into.

    Returns:
        A `tf.distribute.Strategy` (on JAX a `keras.distribution`, or None).

    Raises:
        StrategyError: more GPUs asked for than visible, bad TF_CONFIG,
            cpu_replicas < 1.

    Example:

    >>> strategy = resolve_strategy(num_gpus=0)
    >>> strategy.num_replicas_in_sync
    1
    """
    if is_jax():
        from keras_simclr import distribution_jax

        return distribution_jax.resolve_distribution(tpu, num_gpus, cpu_replicas)
    if tpu:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if cpu_replicas < 1:
        raise StrategyError(f"cpu_replicas must be >= 1, got {cpu_replicas}.")
    if cluster_spec_from_env():
        gpus = tf.config.list_physical_devices("GPU")
        implementation = (
            tf.distribute.experimental.CommunicationImplementation.AUTO
            if gpus and num_gpus != 0
            else tf.distribute.experimental.CommunicationImplementation.RING
        )
        return tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                implementation=implementation
            )
        )
    gpus = tf.config.list_physical_devices("GPU")
    if num_gpus is None:
        num_gpus = len(gpus)
    if num_gpus > len(gpus):
        raise StrategyError(
            f"num_gpus={num_gpus} but {len(gpus)} GPU(s) are visible — pass "
            f"num_gpus={len(gpus)} or fewer, or check CUDA_VISIBLE_DEVICES and "
            "the drivers."
        )
    if num_gpus > 1:
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(num_gpus)])
    if cpu_replicas > 1 and num_gpus == 0:
        return tf.distribute.MirroredStrategy(
            _split_cpu(cpu_replicas),
            cross_device_ops=tf.distribute.ReductionToOneDevice(),
        )
    return tf.distribute.get_strategy()


def current():
    """The strategy a run uses when given none.

    Returns:
        On TensorFlow the current `tf.distribute` strategy; on JAX Keras's
        global distribution, else data parallel over every local device
        (None for one).

    Example:

    >>> num_replicas(current())
    1
    """
    if is_jax():
        from keras_simclr import distribution_jax

        return distribution_jax.current_distribution()
    return tf.distribute.get_strategy()


def num_replicas(strategy):
    """How many devices `strategy` splits the global batch over.

    Args:
        strategy: a `tf.distribute.Strategy`, a `keras.distribution`
            distribution, or None (one device).

    Returns:
        An int.

    Example:

    >>> num_replicas(None)
    1
    """
    if strategy is None:
        return 1
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy.num_replicas_in_sync
    return int(strategy.device_mesh.devices.size)


def scope(strategy):
    """The context that creates variables under `strategy`.

    Args:
        strategy: a `tf.distribute.Strategy`, a `keras.distribution`
            distribution, or None.

    Returns:
        A context manager.

    Example:

    >>> with scope(None):
    ...     pass
    """
    if strategy is None:
        return contextlib.nullcontext()
    return strategy.scope()
