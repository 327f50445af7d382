"""SimCLR's steps on JAX: stateless, as Keras's JAX trainer runs them.

Keras jits `train_step(state, data)` and `test_step(state, data)`, where
`state` holds the values of the model's trainable, non-trainable,
optimizer and metric variables (the guide "Customizing what happens in
`fit()` with JAX"). The step runs `SimCLR`'s stateful `keras.ops` maths in
a `keras.StatelessScope` that maps every variable to its value in `state`:
batch-norm statistics, augmentation seeds (a `SeedGenerator`'s state is a
non-trainable variable) and metrics come out of the scope as new values,
and `jax.value_and_grad` differentiates with respect to the trainable
values. Under a `keras.distribution.DataParallel` the step sees the global
batch: NT-Xent's negatives and batch norm's statistics are global.

Pixel and label checks cannot stop a jitted step: the step computes
`batch_checks.input_record`, keeps the old state when it is not zero, and
returns it with the logs (`model_hooks` raises it on the host).
"""

import jax
import jax.numpy as jnp

from keras_simclr import batch_checks, batch_formats
from keras_simclr.steps import jax_micro_batches
from keras_simclr.steps.stateless import run_stateless


class JaxSteps:
    """`train_step(state, data)` and `test_step(state, data)` of `SimCLR` on JAX.

    A mixin before `keras.Model`; the model provides `_checked`,
    `_forward`, `_views`, `_project`, `_micro_batch_functions`,
    `_loss_and_metrics` and `_logs`.

    Example:

    >>> issubclass(ks.SimCLR, JaxSteps) == (keras.backend.backend() == "jax")
    True
    """

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_values, metrics = state
        labelled = batch_formats.from_data(data).labels is not None
        model_pairs = list(zip(self.non_trainable_variables, non_trainable)) + list(
            zip(self.metrics_variables, metrics)
        )
        # scale_loss reads the optimizer's loss scale (mixed float16).
        optimizer_pairs = list(zip(self.optimizer.variables, optimizer_values))

        def scaled_loss(trainable_values):
            def forward():
                batch, record = self._checked(data, None)
                loss = self._forward(batch, training=True)
                return self.optimizer.scale_loss(loss), record

            pairs = list(zip(self.trainable_variables, trainable_values))
            (loss, record), values = run_stateless(
                pairs + model_pairs + optimizer_pairs, forward
            )
            return loss, (record, values[len(pairs) :])

        if self.micro_batches > 1:
            gradients, record, new_non_trainable, new_metrics = (
                jax_micro_batches.gradients(
                    self, data, trainable, non_trainable, metrics, optimizer_pairs
                )
            )
        else:
            (_, (record, values)), gradients = jax.value_and_grad(
                scaled_loss, has_aux=True
            )(trainable)
            new_non_trainable = values[: len(non_trainable)]
            new_metrics = values[len(non_trainable) : len(model_pairs)]

        if not labelled:
            # No gradient (None, which Keras's optimizers skip) leaves the
            # probe and its optimizer slots as they are, as on TensorFlow.
            probe = {id(v) for v in self.contrastive_and_probe_variables()[1]}
            gradients = [
                None if id(v) in probe else gradient
                for v, gradient in zip(self.trainable_variables, gradients)
            ]
        new_trainable, new_optimizer = self.optimizer.stateless_apply(
            optimizer_values, gradients, trainable
        )
        new_state = (new_trainable, new_non_trainable, new_optimizer, new_metrics)
        new_state = _unless_failed(record, new_state, state)
        return self._logs_of(new_state[3], record), new_state

    def test_step(self, state, data):
        trainable, non_trainable, metrics = state

        def forward():
            batch, record = self._checked(data, None)
            self._evaluate(batch)
            return record

        record, values = run_stateless(
            list(zip(self.trainable_variables, trainable))
            + list(zip(self.non_trainable_variables, non_trainable))
            + list(zip(self.metrics_variables, metrics)),
            forward,
        )
        new_metrics = values[len(trainable) + len(non_trainable) :]
        new_state = (trainable, non_trainable, new_metrics)
        new_state = _unless_failed(record, new_state, state)
        return self._logs_of(new_state[2], record), new_state

    def _evaluate(self, batch):
        if self.micro_batches == 1:
            self._forward(batch, training=False)
            return
        outputs = jax_micro_batches.encode(self, self._views(batch))
        z1, z2 = outputs[0]
        features = jnp.concatenate(outputs[1], axis=0)
        self._loss_and_metrics(z1, z2, features, batch.labels)

    def _logs_of(self, metrics, record):
        logs, _ = run_stateless(zip(self.metrics_variables, metrics), self._logs)
        return {**logs, batch_checks.RECORD_KEY: record}


def _unless_failed(record, new_state, old_state):
    """`new_state`, or `old_state` where the in-step checks failed."""
    ok = record[0] == 0
    return jax.tree_util.tree_map(
        lambda new, old: jnp.where(ok, new, old), new_state, tuple(old_state)
    )
