"""How SimCLR plugs into Keras around its step: fit, build, logs, export.

`SimCLR`'s own module holds the model and its training step; this one the
hooks Keras calls around it: `fit` and `evaluate` turning failed in-step
checks into one-line errors, the symbolic build before `fit` (skipped or
checked under `tf.distribute`), logs that multi-worker `fit` can reduce,
the rebuilding of serialized parts, and the SavedModel export.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_simclr import batch_checks, batch_formats, errors, export

__all__ = ["KerasHooks", "deserialize_parts", "worker_safe_logs"]


def deserialize_parts(config, keys):
    """A copy of a model's config with its serialized layers at `keys` rebuilt.

    Args:
        config: a `get_config()` dict.
        keys: the entries holding serialized Keras objects (or None).

    Returns:
        A new dict; the entries at `keys` deserialized.

    Example:

    >>> layer = keras.saving.serialize_keras_object(keras.layers.Dense(2))
    >>> type(deserialize_parts({"head": layer}, ["head"])["head"]).__name__
    'Dense'
    """
    config = dict(config)
    for key in keys:
        if config.get(key) is not None:
            config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


def worker_safe_logs(model, metrics):
    """`{name: result}` of `metrics`, in a form `fit` can reduce over workers.

    Keras 3 averages logs over workers with `strategy.reduce(..., axis=0)`,
    which fails on scalars (tensorflow#72388): under
    `MultiWorkerMirroredStrategy` every value gets shape (1,).

    Args:
        model: the model whose `distribute_strategy` is checked.
        metrics: Keras metrics.

    Returns:
        dict of metric name to value.

    Example:

    >>> mean = keras.metrics.Mean(name="loss")
    >>> mean.update_state(2.0)
    >>> float(worker_safe_logs(keras.Sequential(), [mean])["loss"])
    2.0
    """
    logs = {m.name: m.result() for m in metrics}
    if _multi_worker(model):
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


def _multi_worker(model):
    return isinstance(
        getattr(model, "distribute_strategy", None),
        tf.distribute.MultiWorkerMirroredStrategy,
    )


def _raising_failed_checks(model, function, what):
    """`function` (a Keras train or test function), raising failed checks.

    Steps that cannot assert (JAX, XLA) return `batch_checks.input_record`
    with their logs and leave the state unchanged when it is not zero. This
    reads it after each step (one scalar copied to the host), removes it
    from the logs, and raises its one-line `UserInputError`; on JAX, the
    state the step returned (or, for an error raised while tracing it, the
    state it was given) is first written back to the variables, which
    Keras's JAX `fit` empties while it runs.
    """
    if function is None or getattr(function, "_raises_failed_checks", False):
        return function

    def step(*args):
        try:
            outputs = function(*args)
        except errors.UserInputError:
            # Refused while the step was traced (a static shape): the state
            # given to it is intact.
            if len(args) == 2:
                _write_back(model, args[0])
            raise
        logs = outputs[0] if len(args) == 2 else outputs  # JAX: (logs, state)
        record = logs.pop(batch_checks.RECORD_KEY, None) if logs else None
        if record is None:
            return outputs
        if np.asarray(record)[0] != 0:
            if len(args) == 2:
                _write_back(model, outputs[1])
            where = what
            if what == "training step":
                step = keras.ops.convert_to_numpy(model.optimizer.iterations)
                where = f"training step {int(step)}"
            raise errors.UserInputError(
                batch_checks.failure_message(
                    record, model._checked_names, where, model.num_classes
                )
            )
        return outputs

    step._raises_failed_checks = True
    return step


def _write_back(model, state):
    """Writes a JAX step's returned state into the model's variables."""
    names = ["trainable_variables", "non_trainable_variables"]
    names += (
        ["optimizer_variables", "metrics_variables"]
        if len(state) == 4
        else ["metrics_variables"]
    )
    model._jax_state = dict(zip(names, state))
    model._jax_state_synced = False
    model.jax_state_sync()


class KerasHooks:
    """The Keras hooks of `keras_simclr.SimCLR` (a mixin before `keras.Model`).

    `fit` and `evaluate` report failed in-step checks as one-line
    `UserInputError`s; the symbolic build is skipped for a built model under
    `MultiWorkerMirroredStrategy` and refuses replicas of unequal batches;
    `export_encoder` writes the SavedModel.

    Example:

    >>> issubclass(ks.SimCLR, KerasHooks)
    True
    """

    def fit(self, *args, **kwargs):
        # Bad pixels or labels are found inside the compiled step; they
        # surface as one-line errors rather than TensorFlow's trace.
        with errors.graph_errors_as_user_errors():
            return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        with errors.graph_errors_as_user_errors():
            return super().evaluate(*args, **kwargs)

    def make_train_function(self, force=False):
        function = super().make_train_function(force)
        self.train_function = _raising_failed_checks(
            self, self.train_function, "training step"
        )
        return self.train_function if function is not None else None

    def make_test_function(self, force=False):
        function = super().make_test_function(force)
        self.test_function = _raising_failed_checks(
            self, self.test_function, "an evaluation batch"
        )
        return self.test_function if function is not None else None

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Overrides a private hook of Keras's TensorFlow trainer (Keras
        # 3.15: `fit` and `evaluate` call it with the epoch iterator before
        # the first step); Keras has no public way to check or skip the
        # build it does. tests/model_test.py fails if the hook changes.
        # Under MultiWorkerMirroredStrategy, Keras 3 reduces one input batch
        # across workers to build the model symbolically, which fails on
        # nested batches such as ((view1, view2), labels). A built model
        # needs none of it.
        if self.built and _multi_worker(self):
            return
        if iterator is not None and self._distribute_strategy is not None:
            # Keras averages the first batch over the replicas to build,
            # which fails on replicas of unequal batches: check it first.
            for _, _, batches in iterator:
                first = next(batches)
                break
            batch = batch_formats.from_data(first)
            batch_checks.check_replica_batches(batch.parts[0], self.distribute_strategy)
            iterator = [(None, None, iter([first]))]
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def export_encoder(self, path, include_projection=True, **kwargs):
        """Writes the encoder (and head) as a TensorFlow SavedModel.

        See `keras_simclr.export.export_encoder`: a `serving_default`
        signature taking uint8 `images` and returning `representation`,
        `projection` and the head's intermediate outputs; it loads, serves
        and fine-tunes without keras_simclr.

        Args:
            path: directory to write to.
            include_projection: also export the projection head's outputs.
            **kwargs: `image_size`, `options` of `export.export_encoder`.

        Returns:
            `path`, as a string.

        Example:

        >>> import os, tempfile
        >>> encoder = keras.Sequential([keras.Input((8, 8, 3)),
        ...                             keras.layers.Conv2D(4, 3),
        ...                             keras.layers.GlobalAveragePooling2D()])
        >>> model = ks.SimCLR(encoder)
        >>> model.build((None, 8, 8, 3))
        >>> path = model.export_encoder(
        ...     os.path.join(tempfile.mkdtemp(), "saved_encoder"))
        >>> loaded = tf.saved_model.load(path)
        >>> outputs = loaded.signatures["serving_default"](
        ...     images=tf.zeros((2, 8, 8, 3), tf.uint8))
        >>> outputs["representation"].shape
        TensorShape([2, 4])
        """
        return export.export_encoder(self, path, include_projection, **kwargs)
