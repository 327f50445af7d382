"""SimCLR's steps on TensorFlow: a GradientTape, and gradient caching.

Under XLA (`jit_compile=True`) asserts do nothing, so the step computes
`batch_checks.input_record`, updates nothing when it is not zero (one
`tf.cond`, on the record of every replica) and returns it with the logs.
"""

import tensorflow as tf
from keras import ops

from keras_simclr import batch_checks, gradient_cache


class TensorFlowSteps:
    """`train_step(data)` and `test_step(data)` of `SimCLR` on TensorFlow.

    A mixin before `keras.Model`; the model provides `_checked`,
    `_forward`, `_views`, `_project`, `_micro_batch_functions`,
    `_loss_and_metrics` and `_logs`.

    Example:

    >>> issubclass(ks.SimCLR, TensorFlowSteps) == (keras.backend.backend() != "jax")
    True
    """

    def train_step(self, data):
        where = ("training step ", self.optimizer.iterations)
        batch, record = self._checked(data, where)
        return self._unless_refused(batch, record, self._update)

    def _unless_refused(self, batch, record, run):
        """`run(batch)`'s logs; under XLA only if the record is 0, and with it."""
        if record is None:
            return run(batch)
        record = _global_record(record)
        batch = _labels_sized_to_images(batch)
        logs = tf.cond(record[0] == 0, lambda: run(batch), self._logs)
        return {**logs, batch_checks.RECORD_KEY: record}

    def _update(self, batch):
        if self.micro_batches > 1:
            return self._micro_batch_update(batch)
        with tf.GradientTape() as tape:
            loss = self._forward(batch, training=True)
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        if batch.labels is None:
            variables = self.contrastive_and_probe_variables()[0]
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._logs()

    def _micro_batch_update(self, batch):
        """The update by gradient caching; see `micro_batches`."""
        project, loss, with_probe = self._micro_batch_functions(batch.labels)
        variables, probe = self.contrastive_and_probe_variables()
        probe_variables = probe if with_probe else []
        gradients, probe_gradients = gradient_cache.gradients(
            project,
            lambda outputs: self.optimizer.scale_loss(loss(outputs)),
            self._views(batch),
            self.micro_batches,
            variables,
            loss_variables=probe_variables,
            state_variables=self._encoding_state(),
        )
        self.optimizer.apply_gradients(
            zip(gradients + probe_gradients, variables + probe_variables)
        )
        return self._logs()

    def _encoding_state(self):
        """Non-trainable variables of encoder and head (BN statistics, seeds)."""
        variables = (
            self.encoder.non_trainable_variables
            + self.projection_head.non_trainable_variables
        )
        return list({id(v): v for v in variables}.values())

    def test_step(self, data):
        batch, record = self._checked(data, ("an evaluation batch",))
        return self._unless_refused(batch, record, self._evaluate)

    def _evaluate(self, batch):
        if self.micro_batches == 1:
            self._forward(batch, training=False)
            return self._logs()
        # In inference mode the micro-batches give the whole batch's values.
        outputs = gradient_cache.encode(
            lambda views: self._project(views, training=False),
            self._views(batch),
            self.micro_batches,
        )
        z1, z2 = outputs[0]
        features = ops.concatenate(outputs[1], axis=0)
        self._loss_and_metrics(z1, z2, features, batch.labels)
        return self._logs()


def _global_record(record):
    """The record of the replica that failed first, on every replica.

    Every replica must take the same branch of the step's `tf.cond`: the
    update in it gathers and reduces across replicas.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return record
    records = context.all_gather(record[tf.newaxis], axis=0)
    return records[tf.argmax(records[:, 0])]


def _labels_sized_to_images(batch):
    """The batch with as many labels as images, cut or padded with -1.

    XLA compiles both branches of the step's `tf.cond`: the update must
    compile even for a batch whose label count the record refuses.
    """
    labels = batch.labels
    if labels is None or labels.shape.rank != 1:
        return batch
    size = tf.shape(batch.parts[0])[0]
    padding = tf.fill([size], tf.constant(-1, labels.dtype))
    labels = tf.concat([labels, padding], axis=0)[:size]
    return batch.with_parts(batch.parts, labels)
