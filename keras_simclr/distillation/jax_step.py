"""`Distillation`'s steps on JAX: stateless, on the global batch.

Keras's JAX trainer calls `train_step(self, state, data)` with the values of
the model's variables and returns new ones (keras-io, "custom_train_step_in_jax").
The step runs the model's one `_forward` (its maths in `keras.ops`) inside a
`keras.StatelessScope` mapping every variable to its value in `state`, so
the metrics, batch norm statistics and the augmentation's seed state are
read and written there, and `jax.value_and_grad` differentiates it.
Under a `keras.distribution.DataParallel` the step sees the global batch:
the sums the TensorFlow step takes over replicas are the batch's own.

Assert ops do not exist in a jitted JAX step: the inputs are checked on
the host (`host_checks`).
"""

import jax
import keras

from keras_simclr.distillation.host_checks import HostChecks

__all__ = ["JaxSteps"]


class JaxSteps(HostChecks):
    """The JAX half of `Distillation` (a mixin before `keras.Model`).

    The model provides `_forward(data, training)` (the loss; it updates the
    metrics) and `_logs(data)`; this gives it `_global_sum`,
    `_num_replicas`, `_checked_labels` and `_metric_logs`.

    Example:

    >>> from keras_simclr.distillation import Distillation
    >>> from keras_simclr import backends
    >>> issubclass(Distillation, JaxSteps) == backends.is_jax()
    True
    """

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_variables, metrics_variables = state
        grad_fn = jax.value_and_grad(self._stateless_loss, has_aux=True)
        (_, (non_trainable, metrics_variables)), grads = grad_fn(
            trainable,
            non_trainable,
            metrics_variables,
            data,
            optimizer_variables=optimizer_variables,
        )
        trainable, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable
        )
        logs = self._stateless_logs(metrics_variables, data)
        return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)

    def test_step(self, state, data):
        trainable, non_trainable, metrics_variables = state
        _, (non_trainable, metrics_variables) = self._stateless_loss(
            trainable, non_trainable, metrics_variables, data
        )
        logs = self._stateless_logs(metrics_variables, data)
        return logs, (trainable, non_trainable, metrics_variables)

    def _stateless_loss(
        self,
        trainable,
        non_trainable,
        metrics_variables,
        data,
        optimizer_variables=None,
    ):
        """(loss, scaled when training; (new non-trainable, new metrics values))."""
        training = optimizer_variables is not None
        mapping = [
            *zip(self.trainable_variables, trainable),
            *zip(self.non_trainable_variables, non_trainable),
            *zip(self.metrics_variables, metrics_variables),
        ]
        if training:
            mapping += zip(self.optimizer.variables, optimizer_variables)
        with keras.StatelessScope(state_mapping=mapping) as scope:
            loss = self._forward(data, training=training)
            if training:
                loss = self.optimizer.scale_loss(loss)
        return loss, (
            _current(scope, self.non_trainable_variables, non_trainable),
            _current(scope, self.metrics_variables, metrics_variables),
        )

    def _stateless_logs(self, metrics_variables, data):
        mapping = zip(self.metrics_variables, metrics_variables)
        with keras.StatelessScope(state_mapping=mapping):
            return self._logs(data)

    @staticmethod
    def _metric_logs(metrics):
        return {metric.name: metric.result() for metric in metrics}

    @staticmethod
    def _global_sum(value):
        return value

    @staticmethod
    def _num_replicas():
        return 1

    @staticmethod
    def _checked_labels(labels, classes):
        """`labels`: checked on the host before the step (`HostChecks`)."""
        return labels

    def _asserts_in_step(self):
        return False


def _current(scope, variables, values):
    """The values `scope` holds for `variables` (`values` where it wrote none)."""
    current = [scope.get_current_value(variable) for variable in variables]
    return [value if new is None else new for new, value in zip(current, values)]
