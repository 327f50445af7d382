"""`Distillation`'s steps on TensorFlow: a `GradientTape`, and sums over the replicas.

Under a `tf.distribute` strategy each replica runs the step on its share of
the global batch: the loss' denominators are summed over the replicas, and
out-of-range labels are found by an assert inside the compiled step
(`errors.graph_check`), reported by `fit` and `evaluate` as one line; with
`jit_compile=True`, whose XLA drops asserts, on the host (`host_checks`).
"""

import tensorflow as tf

from keras_simclr.distillation.errors import label_check
from keras_simclr.distillation.host_checks import HostChecks
from keras_simclr.model_hooks import worker_safe_logs

__all__ = ["TensorFlowSteps"]


class TensorFlowSteps(HostChecks):
    """The TensorFlow half of `Distillation` (a mixin before `keras.Model`).

    The model provides `_forward(data, training)` (this replica's share of
    the global loss; it updates the metrics) and `_logs(data)`; this gives
    it `_global_sum`, `_num_replicas`, `_checked_labels` and `_metric_logs`.

    Example:

    >>> from keras_simclr.distillation import Distillation
    >>> from keras_simclr import backends
    >>> issubclass(Distillation, TensorFlowSteps) == (not backends.is_jax())
    True
    """

    def _asserts_in_step(self):
        # XLA drops asserts: then the inputs are checked on the host.
        return not self.jit_compile

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self._forward(data, training=True)
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.student.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._logs(data)

    def test_step(self, data):
        self._forward(data, training=False)
        return self._logs(data)

    def _metric_logs(self, metrics):
        return worker_safe_logs(self, metrics)

    @staticmethod
    def _global_sum(value):
        """Sum over the replicas of the strategy (the value itself on one)."""
        context = tf.distribute.get_replica_context()
        if context is None:  # cross-replica context: nothing to reduce
            return value
        return context.all_reduce(tf.distribute.ReduceOp.SUM, value)

    @staticmethod
    def _num_replicas():
        return tf.distribute.get_strategy().num_replicas_in_sync

    @staticmethod
    def _checked_labels(labels, classes):
        """`labels`, once an in-graph check found them all < `classes`."""
        check = label_check(labels, classes)
        # The cross-entropy fails on such labels with its own message; it
        # must wait for the check.
        with tf.control_dependencies([check]):
            return tf.identity(labels)
