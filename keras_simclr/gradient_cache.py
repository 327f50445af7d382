"""Gradient caching: the exact large-batch contrastive gradient in micro-batches.

A contrastive loss couples every image of the batch, so plain gradient
accumulation (one loss per micro-batch) would only see the negatives of its
own micro-batch. Gradient caching (Gao et al., "Scaling Deep Contrastive
Learning Batch Size under Memory Limited Setup", 2021) gets the loss and the
gradient of the whole batch with the activation memory of one micro-batch:

1. encode every micro-batch without a tape and keep only its outputs z;
2. evaluate the loss on all of them and take its gradient dL/dz;
3. encode each micro-batch again under a tape and back-propagate dL/dz
   through it (the vector-Jacobian product z . stop_gradient(dL/dz));
4. sum the k gradients; the caller applies them once.

`SimCLR(..., micro_batches=k)` is built on `gradients`.
"""

import tensorflow as tf

from keras_simclr import errors


def validate_micro_batches(micro_batches):
    """Checks the `micro_batches` argument of `SimCLR`.

    Args:
        micro_batches: the number of micro-batches per replica batch.

    Returns:
        `micro_batches` as an int.

    Raises:
        UserInputError: unless it is an integer >= 1.

    Example:

    >>> validate_micro_batches(4)
    4
    """
    try:
        return errors.check_positive_int("micro_batches", micro_batches)
    except errors.UserInputError:
        raise errors.UserInputError(
            f"micro_batches must be an integer >= 1, got {micro_batches!r}. "
            "Use 1 for the ordinary step, or k > 1 to encode each replica's "
            "batch in k micro-batches (k times less activation memory)."
        ) from None


def micro_batch_sizes(batch, micro_batches):
    """Returns the sizes of the `micro_batches` micro-batches of a batch.

    A batch whose size is known when the step is traced must split evenly.
    One whose size is only known when it arrives (the last, smaller batch of
    an epoch) is split into micro-batches that differ by at most one image,
    and must hold at least k images.

    Args:
        batch: a tensor whose first axis is the (per-replica) batch.
        micro_batches: the number of micro-batches k.

    Returns:
        A list of k ints, or of k int32 scalars for a dynamic batch size.

    Raises:
        UserInputError: when the static batch size is not a multiple of k.
        tf.errors.InvalidArgumentError: when a batch of dynamic size has
            fewer than k images: a failed `errors.graph_check`, which
            `SimCLR.fit` and `evaluate` report as a one-line
            `UserInputError` naming the fix.

    Example:

    >>> micro_batch_sizes(tf.zeros((8, 3)), 4)
    [2, 2, 2, 2]
    """
    size = batch.shape[0]
    if size is not None:
        if size % micro_batches:
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            raise errors.UserInputError(
                f"micro_batches={micro_batches} must divide the per-replica "
                f"batch, got {size} images per replica (global batch "
                f"{size * replicas} on {replicas} replica(s)). Use a global "
                f"batch that is a multiple of {micro_batches * replicas}, or "
                f"a micro_batches that divides {size}."
            )
        return [size // micro_batches] * micro_batches
    size = tf.shape(batch)[0]
    # Checked when the batch arrives: an empty micro-batch cannot be encoded
    # (convolutions and batch norm fail on it).
    enough = errors.graph_check(
        size >= micro_batches,
        f"micro_batches={micro_batches} needs at least {micro_batches} images "
        "per replica, got a batch of ",
        size,
        " - the last batch of an epoch? Give fit a number of images that is "
        "a multiple of the batch size, batch a tf.data.Dataset with "
        "drop_remainder=True, or use fewer micro_batches.",
    )
    with tf.control_dependencies([enough]):
        size = tf.identity(size)
    extra = tf.cast(tf.range(micro_batches) < size % micro_batches, tf.int32)
    return tf.unstack(size // micro_batches + extra, num=micro_batches)


class _StepState:
    """The non-trainable state (batch-norm moving statistics, seeds) of a step.

    Every micro-batch, in both passes, starts from the state the step began
    with, as every replica of an ordinary step does, so that both passes see
    the same state. The step ends with floating-point state at the mean of
    the values the micro-batches of all replicas gave it (for BN's moving
    statistics: momentum * old + (1 - momentum) * the mean of the
    micro-batches' batch statistics), computed as old + mean change so that
    state no micro-batch changes stays bit-for-bit; other state (integer
    seed counters) ends as the last micro-batch left it.
    """

    def __init__(self, variables):
        self.variables = variables
        self.start = [tf.identity(v.value) for v in variables]
        self.ends = []

    def restore(self):
        for variable, value in zip(self.variables, self.start):
            variable.assign(value)

    def record(self):
        self.ends.append([tf.identity(v.value) for v in self.variables])

    def finish(self):
        changes, floating = [], []
        for index, variable in enumerate(self.variables):
            start = self.start[index]
            if not start.dtype.is_floating:
                variable.assign(self.ends[-1][index])
                continue
            changes.append(tf.add_n([ends[index] - start for ends in self.ends]))
            floating.append(index)
        count = tf.constant(float(len(self.ends)))
        context = tf.distribute.get_replica_context()
        if changes and context is not None and context.num_replicas_in_sync > 1:
            *changes, count = context.all_reduce(
                tf.distribute.ReduceOp.SUM, changes + [count]
            )
        for index, change in zip(floating, changes):
            mean_change = change / tf.cast(count, change.dtype)
            self.variables[index].assign(self.start[index] + mean_change)


def _split(parts, sizes):
    """Micro-batch i: the i-th slice of every part, concatenated."""
    pieces = [tf.split(part, sizes, axis=0, num=len(sizes)) for part in parts]
    return [tf.concat(list(slices), axis=0) for slices in zip(*pieces)]


def _after(dependencies, tensor):
    # Graph mode runs independent ops in any order; without this edge the
    # executor may start the next micro-batch before the last one is done and
    # hold both sets of activations, which is what micro-batches avoid.
    if not dependencies:
        return tensor
    with tf.control_dependencies(dependencies):
        return tf.identity(tensor)


def _reassemble(outputs, num_parts):
    """Inverse of `_split`: [all of part 0, all of part 1, ...] of outputs."""
    pieces = [tf.split(output, num_parts, axis=0) for output in outputs]
    return [tf.concat([p[part] for p in pieces], axis=0) for part in range(num_parts)]


def _encode(project, batches, num_parts, state):
    """Pass 1: `project` on each micro-batch, one after the other."""
    micro_outputs = []
    for batch in batches:
        batch = _after(list(micro_outputs[-1]) if micro_outputs else [], batch)
        state.restore()
        micro_outputs.append(tuple(project(batch)))
        state.record()
    outputs = [
        _reassemble([out[j] for out in micro_outputs], num_parts)
        for j in range(len(micro_outputs[0]))
    ]
    return outputs, micro_outputs


def encode(project, parts, micro_batches):
    """Runs `project` micro-batch by micro-batch, e.g. to evaluate in pieces.

    Args:
        project: maps a batch to a tuple of tensors, each with one row per
            input row; it must change no state (inference mode).
        parts: tensors of equal batch size n (e.g. the two views); micro-batch
            i is the concatenation of the i-th slice of each part, so
            `project` sees both views of its images together.
        micro_batches: the number of micro-batches k.

    Returns:
        For each output of `project`, the list of its values on each part
        (n rows each, in the order of `parts`), as if `project` had run on
        the whole batch.

    Example:

    >>> double = lambda x: (2.0 * x,)
    >>> view1, view2 = tf.ones((4, 3)), tf.zeros((4, 3))
    >>> h1, h2 = encode(double, [view1, view2], 2)[0]
    >>> float(tf.reduce_sum(h1)), float(tf.reduce_sum(h2))
    (24.0, 0.0)
    """
    batches = _split(parts, micro_batch_sizes(parts[0], micro_batches))
    return _encode(project, batches, len(parts), _StepState([]))[0]


def gradients(
    project,
    loss_fn,
    parts,
    micro_batches,
    variables,
    loss_variables=(),
    state_variables=(),
):
    """Gradients of `loss_fn(project(batch))`, computed in micro-batches.

    Equal to the gradient of the loss on the whole batch when `project`
    treats rows independently; a batch norm in `project` sees micro-batch
    statistics (see `SimCLR`'s `micro_batches`). `project` runs 2k times
    (each micro-batch once without and once with a tape) on the same inputs,
    so it must be deterministic given its inputs and `state_variables`,
    which every micro-batch starts from (Keras' seed generators included).

    Args:
        project: maps a batch to a tuple of tensors; the first, z, is
            differentiated, the others are passed to `loss_fn` as constants.
        loss_fn: maps the outputs (as `encode` returns them: `outputs[0]`
            is the list of z of each part) to the scalar to differentiate
            (already scaled for mixed precision).
        parts: tensors of equal batch size n (e.g. the two views).
        micro_batches: the number of micro-batches k.
        variables: variables reached through `project`.
        loss_variables: variables `loss_fn` uses directly (e.g. a probe on
            constant features).
        state_variables: non-trainable variables `project` changes (batch
            norm moving statistics, seed generator states): each micro-batch
            starts from their value at the start of the step, and they end
            at the mean of the values the micro-batches left, so they change
            once per step.

    Returns:
        `(gradients of variables, gradients of loss_variables)`, lists with
        None where a variable does not affect the loss.

    Example:

    >>> w = tf.Variable(1.0)
    >>> project = lambda x: (w * x,)
    >>> loss = lambda outputs: tf.reduce_sum(outputs[0][0] * outputs[0][1])
    >>> view1, view2 = tf.ones((4, 1)), 3.0 * tf.ones((4, 1))
    >>> (grad,), _ = gradients(project, loss, [view1, view2], 2, [w])
    >>> float(grad)  # d/dw of sum(w * 1 * w * 3) over 4 rows = 24 w
    24.0
    """
    sizes = micro_batch_sizes(parts[0], micro_batches)
    batches = _split(parts, sizes)
    state = _StepState(list(state_variables))
    outputs, micro_outputs = _encode(project, batches, len(parts), state)
    micro_z = [out[0] for out in micro_outputs]
    loss_variables = list(loss_variables)
    with tf.GradientTape() as tape:
        tape.watch(micro_z)
        # Rebuilt under the tape so that dL/dz reaches each micro-batch's z.
        outputs[0] = _reassemble(micro_z, len(parts))
        loss = loss_fn(outputs)
    cached = tape.gradient(loss, micro_z + loss_variables)
    z_gradients, loss_gradients = cached[:micro_batches], cached[micro_batches:]

    total = [None] * len(variables)
    done = list(z_gradients)
    for batch, z_gradient in zip(batches, z_gradients):
        batch = _after([g for g in done if g is not None], batch)
        state.restore()
        with tf.GradientTape() as tape:
            z = project(batch)[0]
        done = tape.gradient(z, variables, output_gradients=z_gradient)
        total = [
            b if a is None else a if b is None else a + b for a, b in zip(total, done)
        ]
    state.finish()
    return total, loss_gradients
