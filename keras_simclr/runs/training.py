"""`pretrain`: a SimCLR pretraining run in a folder, resumed where it stopped.

A run's folder (`model_dir`, any `tf.io.gfile` URL: local, gs://, ram://):

    config.json      the completed recipe (written once the run is known to
                     be compatible with the folder's checkpoints)
    checkpoints/     resume state (see `keras_simclr.runs.checkpoints`)
    logs/            metrics.csv, and TensorBoard files
    model.keras      the final SimCLR model (`keras.saving.load_model`); a
                     folder `import_checkpoint` wrote starts from its model
    saved_encoder/   the encoder as a TF SavedModel
    results.json     summaries: "pretrain", then one key per evaluation
"""

import contextlib
import math
import sys
import tempfile
import time

import keras
import tensorflow as tf

from keras_simclr import data, recipes, saving
from keras_simclr import export as ks_export
from keras_simclr import strategy as strategies
from keras_simclr.backends import is_jax
from keras_simclr.runs import checkpoints, files, lock, results
from keras_simclr.runs.plan import CHECKPOINTS, CONFIG, MODEL, plan_pretraining

__all__ = ["pretrain"]


class _StopAtStep(keras.callbacks.Callback):
    """Stops `fit` right after global step `total` (mid-epoch too).

    Also times the steps after the first (which includes tracing and
    compiling), for the throughput of the summary.
    """

    def __init__(self, start_step, total):
        super().__init__()
        self.step = start_step
        self.total = total
        self.first_step_end = None
        self.timed_steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.first_step_end is None:
            self.first_step_end = time.time()
        else:
            self.timed_steps += 1
        if self.step >= self.total:
            self.model.stop_training = True

    def steps_per_second(self):
        if not self.timed_steps:
            return None
        return self.timed_steps / (time.time() - self.first_step_end)


class _CSVLogger(keras.callbacks.CSVLogger):
    """Keras's CSVLogger, which writes through gfile for URLs but then asks
    the `GFile` for `closed`, an attribute it lacks (Keras 3.15)."""

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = self.writer = None


def _as_recipe(recipe):
    if isinstance(recipe, str):
        return recipes.Recipe.from_preset(recipe)
    if isinstance(recipe, dict):
        return recipes.Recipe.from_dict(recipe)
    return recipe.validate()


def _tensorflow_setup(recipe):
    keras.utils.set_random_seed(recipe.seed)
    if recipe.deterministic:
        tf.config.experimental.enable_op_determinism()
    if recipe.mixed_precision:
        gpu = bool(tf.config.list_physical_devices("GPU"))
        keras.mixed_precision.set_global_policy(
            "mixed_float16" if gpu else "mixed_bfloat16"
        )


def _verbose(verbose):
    """Keras progress bars when interactive, one line per epoch otherwise."""
    if verbose != "auto":
        return verbose
    return 1 if sys.stdout.isatty() else 2


def pretrain(
    recipe,
    model_dir,
    *,
    strategy=None,
    callbacks=(),
    keep_checkpoints=2,
    verbose="auto",
):
    """Pretrains SimCLR from `recipe` in `model_dir`, resuming where it stopped.

    Call it again with the same arguments after a crash, a kill or a Colab
    disconnect: it picks the newest checkpoint that verifies (skipping a
    broken one with a warning), restores weights, optimizer, random
    generators and the data position, and trains the remaining steps. A
    finished run trains nothing and writes nothing (its results.json entry
    is returned). A `model_dir` that `keras_simclr.runs.import_checkpoint`
    wrote (and no checkpoint yet) starts from the imported encoder and
    projection head: continued pretraining, refused if the recipe's
    architecture differs.

    The folder is the run's: while the call runs it holds the folder's
    writer lock (`keras_simclr.runs.lock`), and a folder that holds any
    trace of a run (`keras_simclr.runs.plan.TRACES`) refuses, before anything is written, a
    recipe whose settings that matter differ (`Recipe.resume_differences`),
    fewer steps than its model has, or more steps without a checkpoint to
    continue from.

    Args:
        recipe: a `keras_simclr.recipes.Recipe`, a preset name or a dict of
            recipe fields.
        model_dir: the run's folder, any `tf.io.gfile` URL (gs://...).
        strategy: a `tf.distribute.Strategy`, or on JAX a
            `keras.distribution` distribution; None uses the current one
            (on JAX: data parallel over every local device; see
            `keras_simclr.strategy.resolve_strategy`).
        callbacks: more Keras callbacks for `fit`.
        keep_checkpoints: how many checkpoints to keep.
        verbose: `fit`'s verbosity; "auto": bars when interactive.

    Returns:
        The summary dict also stored under "pretrain" in results.json:
        steps, steps_this_run, seconds, images_per_second, replicas,
        backend (Keras's, of this call), model and the last metrics.

    Raises:
        recipes.RecipeError, data.DataError, data.PipelineError: bad
            settings or data.
        RunSettingError: model_dir holds a run with other settings, or
            is a file.
        RunBusyError: another running process holds model_dir's lock.
        NonFiniteLoss: the loss diverged (the last checkpoint is kept).
        CheckpointWriteError: a checkpoint could not be written.

    Example:

    Even a few steps of a ResNet take tens of seconds, so it is not run
    here. In a notebook, run the cell again after a disconnect:

    >>> recipe = keras_simclr.recipes.Recipe.from_preset("cifar10")
    >>> summary = keras_simclr.pretrain(  # doctest: +SKIP
    ...     recipe, "/content/drive/MyDrive/simclr")
    >>> summary["model"]  # the final SimCLR model, model.keras  # doctest: +SKIP

    A recipe without a dataset is refused before anything is written:

    >>> keras_simclr.pretrain(  # doctest: +NORMALIZE_WHITESPACE
    ...     keras_simclr.recipes.Recipe(), "runs/none")
    Traceback (most recent call last):
    ...
    keras_simclr.recipes.settings.RecipeError: dataset is not set — give a tfds name, a
    folder, a .npz file or 'shapes'
    """
    recipe = _as_recipe(recipe)
    if recipe.dataset is None:
        raise recipes.RecipeError(
            "dataset",
            "dataset is not set — give a tfds name, a folder, a .npz file or 'shapes'",
        )
    strategy = strategy or strategies.current()
    model_dir = str(model_dir)
    lock.check_folder(model_dir)
    # Only the chief writes model_dir, so only it holds the lock. The other
    # workers write to a scratch folder (the Keras multi-worker pattern):
    # every worker saves, one copy is kept.
    chief = strategies.is_chief()
    with lock.hold(model_dir, "pretrain", renew=True) if chief else _scratch() as held:
        return _pretrain(
            recipe=recipe,
            model_dir=model_dir,
            write_dir=model_dir if chief else held,
            strategy=strategy,
            chief=chief,
            extra_callbacks=callbacks,
            keep=keep_checkpoints,
            verbose=_verbose(verbose),
        )


def _restore_config(plan, model_dir):
    """Writes a missing config.json again from the checkpoint's own record."""
    path = files.join(model_dir, CONFIG)
    saved = plan.latest.state.get("recipe") if plan.latest else None
    if saved is None or files.gfile.exists(path):
        return False
    files.write_json(path, saved)
    return True


@contextlib.contextmanager
def _scratch():
    """A temporary folder for a worker's copy of the run's files."""
    folder = tempfile.mkdtemp(prefix="keras-simclr-worker-")
    try:
        yield folder
    finally:
        files.remove(folder)


def _pretrain(
    *, recipe, model_dir, write_dir, strategy, chief, extra_callbacks, keep, verbose
):
    plan = plan_pretraining(recipe, model_dir, chief)
    if plan.finished:
        if chief:
            done = (
                "nothing trained; its missing config.json written again"
                if _restore_config(plan, model_dir)
                else "nothing trained or written"
            )
            print(
                f"keras-simclr: {model_dir} holds this run, finished at step "
                f"{plan.total_steps}; {done}",
                flush=True,
            )
        return dict(plan.finished, steps_this_run=0)
    recipe = plan.recipe
    replicas = strategies.num_replicas(strategy)
    data.check_batch_size(recipe.batch_size, replicas, recipe.micro_batches)
    _tensorflow_setup(recipe)
    model, inputs = _model_and_inputs(plan, strategy)
    _start(model, plan, model_dir)
    if chief:  # only now: the folder's checkpoint, if any, fits this recipe
        files.write_json(files.join(model_dir, CONFIG), recipe.to_dict())
    callbacks = _callbacks(plan, write_dir, keep)
    started = time.time()
    metrics = _fit(model, inputs, plan, [*callbacks, *extra_callbacks], verbose)
    seconds = time.time() - started
    steps_run = plan.total_steps - plan.start_step
    steps_per_second = callbacks[0].steps_per_second() or steps_run / max(seconds, 1e-9)
    _save_model(model, write_dir, chief and recipe.export)
    summary = dict(
        steps=plan.total_steps,
        steps_this_run=steps_run,
        seconds=round(seconds, 1),
        images_per_second=round(steps_per_second * recipe.batch_size, 1),
        replicas=replicas,
        backend=keras.backend.backend(),
        model=files.join(model_dir, MODEL),
        **metrics,
    )
    if chief:
        results.update_results(model_dir, "pretrain", summary)
    return summary


def _model_and_inputs(plan, strategy):
    """The compiled model and its input stream, from the plan's start step."""
    recipe = plan.recipe
    inputs, info, _ = data.pretraining_dataset(
        recipe.dataset,
        global_batch_size=recipe.batch_size,
        image_size=recipe.image_size,
        split=recipe.split,
        data_dir=recipe.data_dir,
        # On JAX the distribution shards Keras's global batches itself.
        strategy=strategy if isinstance(strategy, tf.distribute.Strategy) else None,
        augment_on=recipe.augment_on,
        augment=recipes.build_augment(recipe),
        with_labels=recipe.probe,
        seed=recipe.seed,
        start_step=plan.start_step,
        shuffle_buffer=recipe.shuffle_buffer,
        cache=recipe.cache,
        on_corrupt="skip" if recipe.skip_corrupt else "error",
    )
    size = recipe.image_size
    with strategies.scope(strategy):
        model = recipes.build_model(recipe, info.num_classes)
        model.build((None, size, size, 3))
        optimizer = recipes.build_optimizer(
            recipe, model, plan.steps_per_epoch, plan.total_steps
        )
        # The recipe's jit_compile is TensorFlow's XLA; JAX always compiles
        # (without it Keras runs the JAX step op by op).
        model.compile(optimizer=optimizer, jit_compile=recipe.jit_compile or is_jax())
        model.optimizer.build(model.trainable_variables)
    return model, inputs


def _callbacks(plan, write_dir, keep):
    """The run's callbacks; the first is the `_StopAtStep`."""
    logs = files.join(write_dir, "logs")
    files.gfile.makedirs(logs)
    recipe = plan.recipe
    return [
        _StopAtStep(plan.start_step, plan.total_steps),
        checkpoints.AtomicCheckpoint(
            files.join(write_dir, CHECKPOINTS),
            recipe.checkpoint_steps or plan.steps_per_epoch,
            plan.start_step,
            keep=keep,
            state={"recipe": recipe.to_dict(), "backend": keras.backend.backend()},
        ),
        _CSVLogger(files.join(logs, "metrics.csv"), append=True),
        keras.callbacks.TensorBoard(logs),
    ]


def _fit(model, inputs, plan, callbacks, verbose):
    """Trains the remaining steps; returns the last metrics ({} if none)."""
    if plan.start_step >= plan.total_steps:
        return {}
    # Keras epochs are data epochs, or the whole run when it is shorter; the
    # batch of a step depends on the step only, so this is just display.
    fit_steps = min(plan.steps_per_epoch, plan.total_steps)
    history = model.fit(
        inputs,
        epochs=math.ceil(plan.total_steps / fit_steps),
        initial_epoch=plan.start_step // fit_steps,
        steps_per_epoch=fit_steps,
        shuffle=False,
        callbacks=callbacks,
        verbose=verbose,
    )
    return {k: float(v[-1]) for k, v in history.history.items()}


def _start(model, plan, model_dir):
    """Restores the checkpoint the plan resumes from, or the imported model."""
    if plan.latest:
        checkpoints.restore_checkpoint(model, plan.latest.path)
        print(
            f"keras-simclr: resuming from step {plan.start_step} ({plan.latest.path})",
            flush=True,
        )
    elif plan.imported:
        _start_from_import(model, model_dir)


def _start_from_import(model, model_dir):
    """Copies the imported model's encoder and head weights into `model`.

    The online probe stays new: it classifies this run's dataset.
    """
    imported = saving.load_model(files.join(model_dir, MODEL))
    model.encoder.set_weights(imported.encoder.get_weights())
    model.projection_head.set_weights(imported.projection_head.get_weights())
    source = results.read_results(model_dir)[results.IMPORT]["checkpoint"]
    print(f"keras-simclr: continuing the pretraining of {source}", flush=True)


def _save_model(model, write_dir, export):
    """Writes model.keras (atomically) and, if `export`, the SavedModel.

    The encoder is exported from model.keras, loaded outside any strategy: a
    SavedModel cannot capture distributed variables (and on JAX a
    TensorFlow process loads it).
    """
    path = files.join(write_dir, MODEL)
    with files.local_output(path) as local:
        model.save(local)
        if export:
            target = files.join(write_dir, "saved_encoder")
            ks_export.export_encoder(local, target, overwrite=True)
