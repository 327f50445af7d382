"""Gradient caching on JAX: `SimCLR(micro_batches=k)`'s step, statelessly.

The same algorithm as `keras_simclr.gradient_cache` (see there, and
`SimCLR`'s "Large batches in little memory"), written with `jax.vjp`:
1. every micro-batch is encoded from the state the step's views left
   (batch-norm statistics, seeds), keeping only its outputs;
2. the loss of all of them gives dL/dz (and the probe's gradient);
3. each micro-batch is encoded again, and dL/dz is pulled back through it;
4. floating state ends at the start plus the mean change of the
   micro-batches, so batch norm's moving statistics change once per step;
   other state (seed counters) as the last micro-batch left it.
"""

import jax
import jax.numpy as jnp

from keras_simclr import gradient_cache
from keras_simclr.steps.stateless import run_stateless


def _split(parts, micro_batches):
    """Micro-batch i: the i-th slice of every part, concatenated."""
    gradient_cache.micro_batch_sizes(parts[0], micro_batches)  # checks evenness
    pieces = [jnp.split(part, micro_batches, axis=0) for part in parts]
    return [jnp.concatenate(slices, axis=0) for slices in zip(*pieces)]


def _reassemble(outputs, num_parts):
    """Inverse of `_split`: [all of part 0, all of part 1, ...] of outputs."""
    pieces = [jnp.split(output, num_parts, axis=0) for output in outputs]
    return [
        jnp.concatenate([p[part] for p in pieces], axis=0) for part in range(num_parts)
    ]


def encode(model, views):
    """The outputs of `model._project` in inference mode, micro-batch by micro-batch.

    Args:
        model: a `SimCLR`; call inside a `keras.StatelessScope` mapping its
            variables (inference changes none).
        views: the two views.

    Returns:
        For each output of `_project`, the list of its values on each view.
    """
    batches = _split(views, model.micro_batches)
    outputs = [model._project(batch, training=False) for batch in batches]
    return [_reassemble([out[j] for out in outputs], len(views)) for j in range(2)]


def gradients(model, data, trainable, non_trainable, metrics, optimizer_pairs):
    """The step's gradients by gradient caching, and the state it leaves.

    Args:
        model: the `SimCLR` model.
        data: the step's batch.
        trainable, non_trainable, metrics: the values of the model's
            variables of each kind (`train_step`'s state).
        optimizer_pairs: `(variable, value)` of the optimizer's variables.

    Returns:
        `(gradients of every trainable variable, the input record, the new
        non-trainable values, the new metric values)`.
    """
    trainable_variables = model.trainable_variables
    non_trainable_variables = model.non_trainable_variables
    metric_variables = model.metrics_variables

    def stateless(function, trainable_values, state, metric_values=metrics):
        return run_stateless(
            list(zip(trainable_variables, trainable_values))
            + list(zip(non_trainable_variables, state))
            + list(zip(metric_variables, metric_values))
            + optimizer_pairs,
            function,
        )

    def prepare():
        batch, record = model._checked(data, None)
        return batch.labels, model._views(batch), record

    (labels, views, record), values = stateless(prepare, trainable, non_trainable)
    start = values[len(trainable) : len(trainable) + len(non_trainable)]
    project, loss_of, with_probe = model._micro_batch_functions(labels)
    batches = _split(views, model.micro_batches)

    def project_from_start(trainable_values, batch):
        outputs, values = stateless(lambda: project(batch), trainable_values, start)
        end = values[len(trainable) : len(trainable) + len(non_trainable)]
        return outputs, end

    micro_outputs, ends = zip(*(project_from_start(trainable, b) for b in batches))
    probe_index = [
        i
        for i, v in enumerate(trainable_variables)
        if with_probe and any(v is p for p in model.probe.trainable_variables)
    ]

    def scaled_loss(micro_z, probe_values):
        values = list(trainable)
        for i, value in zip(probe_index, probe_values):
            values[i] = value
        outputs = [
            _reassemble([out[j] for out in micro_outputs], len(views))
            for j in range(len(micro_outputs[0]))
        ]
        outputs[0] = _reassemble(list(micro_z), len(views))

        def loss():
            return model.optimizer.scale_loss(loss_of(outputs))

        result, values = stateless(loss, values, start)
        return result, values[len(trainable) + len(non_trainable) :][: len(metrics)]

    micro_z = [out[0] for out in micro_outputs]
    (z_gradients, probe_gradients), new_metrics = jax.grad(
        scaled_loss, argnums=(0, 1), has_aux=True
    )(micro_z, [trainable[i] for i in probe_index])

    total = [jnp.zeros_like(value) for value in trainable]
    for batch, z_gradient in zip(batches, z_gradients):
        _, pull_back = jax.vjp(
            lambda values, batch=batch: project_from_start(values, batch)[0][0],
            list(trainable),
        )
        (done,) = pull_back(z_gradient)
        total = [a + b for a, b in zip(total, done)]
    for i, gradient in zip(probe_index, probe_gradients):
        total[i] = total[i] + gradient
    return total, record, _finish(start, ends), new_metrics


def _finish(start, ends):
    """Floating state: start + mean change; other state: the last end."""
    finished = []
    for index, value in enumerate(start):
        if jnp.issubdtype(value.dtype, jnp.floating):
            change = sum(end[index] - value for end in ends) / len(ends)
            finished.append(value + change)
        else:
            finished.append(ends[-1][index])
    return finished
