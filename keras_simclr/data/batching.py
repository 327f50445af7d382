"""Batch arithmetic of the pretraining stream: whole global batches that
split evenly over the replicas, and the error that names the fix."""

from keras_simclr import errors

__all__ = ["PipelineError", "check_batch_size", "steps_per_epoch"]


class PipelineError(errors.UserInputError):
    """A user error in the pipeline settings (batch vs replicas, sizes).

    Example:

    >>> try:
    ...     check_batch_size(12, 8)
    ... except PipelineError as error:
    ...     print(error)
    batch_size=12 does not split over 8 replicas — use a multiple of 8, e.g. batch_size=8.
    """


def steps_per_epoch(num_examples, global_batch_size):
    """Number of whole global batches in one pass over `num_examples` images.

    Args:
        num_examples: images in the split.
        global_batch_size: images per training step, over all replicas.

    Returns:
        An int >= 1.

    Raises:
        PipelineError: the split holds fewer images than one batch.

    Example:

    >>> steps_per_epoch(50_000, 512)
    97
    """
    if num_examples < global_batch_size:
        raise PipelineError(
            f"the dataset has {num_examples} images, fewer than one batch of "
            f"{global_batch_size} — use batch_size <= {num_examples}."
        )
    return num_examples // global_batch_size


def check_batch_size(global_batch_size, num_replicas, micro_batches=1):
    """Raises a clear error unless the batch splits evenly over the replicas.

    Args:
        global_batch_size: images per step over all replicas.
        num_replicas: replicas in sync.
        micro_batches: micro-batches each replica's batch is split into
            (`SimCLR(micro_batches=k)`).

    Raises:
        PipelineError: when `global_batch_size` is not positive or not a
            multiple of `num_replicas * micro_batches`.

    Example:

    >>> check_batch_size(512, 8)
    >>> check_batch_size(512, 8, micro_batches=4)
    """
    if global_batch_size < 1:
        raise PipelineError(
            f"batch_size={global_batch_size} is out of range — use batch_size >= 1."
        )
    parts = num_replicas * micro_batches
    if global_batch_size % parts:
        lower = global_batch_size // parts * parts
        into = f"{num_replicas} replicas"
        if micro_batches > 1:
            into += f" x {micro_batches} micro-batches"
        raise PipelineError(
            f"batch_size={global_batch_size} does not split over "
            f"{into} — use a multiple of {parts}, e.g. "
            f"batch_size={lower or parts}."
        )
