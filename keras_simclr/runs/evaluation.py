"""Evaluating and exporting a run's model, with results merged into its folder.

The `model_dir` of a `keras_simclr.pretrain` run (any gfile URL) holds the
model and the recipe; these functions read them, so the dataset and image
size need not be repeated.
"""

import contextlib

from keras_simclr import data, saving
from keras_simclr import evaluation as ks_evaluation
from keras_simclr import export as ks_export
from keras_simclr.runs import files, lock, results
from keras_simclr.runs.errors import RunSettingError
from keras_simclr.runs.plan import CONFIG, MODEL
from keras_simclr.runs.training import _verbose

__all__ = ["export", "finetune", "fraction_key", "linear_eval", "load_run"]


def load_run(model_dir):
    """The `(recipe dict, SimCLR model)` of a finished pretraining run.

    Args:
        model_dir: the run's folder (any gfile URL).

    Returns:
        `(recipe, model)`: the recipe as a dict (empty for an imported
        run) and the `SimCLR` model of `model_dir/model.keras`.

    Raises:
        RunSettingError: `model_dir` holds no model.keras, or is a file.

    Example:

    >>> import json, os, tempfile
    >>> import keras, numpy as np
    >>> import tensorflow as tf
    >>> import keras_simclr as ks
    >>> run = tempfile.mkdtemp()  # a stand-in for a pretraining run's folder
    >>> encoder = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> model = ks.SimCLR(encoder, ks.layers.ProjectionHead(2, hidden_dim=8, output_dim=4),
    ...                   augment=keras.layers.Identity())
    >>> _ = model(np.zeros((1, 32, 32, 3), np.float32))
    >>> model.save(run + "/model.keras")
    >>> with open(run + "/config.json", "w") as f:
    ...     json.dump({"dataset": "shapes", "image_size": 32}, f)
    >>> recipe, loaded = load_run(run)
    >>> recipe["dataset"], type(loaded).__name__
    ('shapes', 'SimCLR')
    """
    lock.check_folder(model_dir)
    path = files.join(model_dir, MODEL)
    if not files.gfile.exists(path):
        raise RunSettingError(
            f"no pretrained model in {model_dir} (no model.keras) — pretrain into it "
            "first (keras_simclr.pretrain or `keras-simclr pretrain`), or fix model_dir",
            field="model_dir",
        )
    model = saving.load_model(path)
    return files.read_json(files.join(model_dir, CONFIG), default={}), model


def _check_positive(**settings):
    for name, value in settings.items():
        if value is not None and value < 1:
            raise RunSettingError(
                f"{name}={value} is out of range — use {name} >= 1", field=name
            )


def _data(recipe, dataset, split, eval_split, data_dir, image_size):
    """(train, test, num_classes, image size) of an evaluation."""
    dataset = dataset or recipe.get("dataset")
    if not dataset:
        raise RunSettingError(
            "no dataset: the run was imported, not pretrained on one — pass "
            "dataset=NAME|FOLDER|FILE.npz",
            field="dataset",
        )
    data_dir = data_dir or recipe.get("data_dir")
    trained = recipe.get("image_size") or image_size
    if image_size is not None and image_size != trained:
        raise RunSettingError(
            f"image_size={image_size} but the encoder was pretrained at {trained} — "
            f"drop image_size or pass image_size={trained}",
            field="image_size",
        )
    train, info = data.load(dataset, split, data_dir, with_info=True)
    test = data.load(dataset, eval_split, data_dir)
    if info.num_classes is None:
        raise RunSettingError(
            f"split '{split}' of {dataset} has no labels — evaluate on a labelled "
            "split with split and eval_split",
            field="split",
        )
    return train, test, info.num_classes, trained


def fraction_key(stage, label_fraction):
    """The results.json key (and model file name) of a stage on a label fraction.

    Args:
        stage: the stage's name, e.g. "finetune".
        label_fraction: the fraction of the labels; None for all.

    Returns:
        The key, a string.

    Example:

    >>> fraction_key("finetune", 0.1), fraction_key("distill", None)
    ('finetune_10pct', 'distill_100pct')
    """
    return f"{stage}_{(label_fraction or 1.0) * 100:g}pct"


def save_stage(model_dir, stage, label_fraction, model, metrics):
    """Saves a stage's model and its metrics into a run's folder.

    The model goes to `<fraction_key>.keras` in `model_dir`, the metrics,
    with `model` (that path), under the same key in results.json, both
    while holding the folder's writer lock.

    Args:
        model_dir: the run's folder.
        stage: the stage's name, e.g. "finetune".
        label_fraction: the fraction of the labels it used.
        model: the Keras model to save.
        metrics: a JSON-serialisable dict.

    Returns:
        The metrics as stored.

    Raises:
        RunBusyError: another running process holds `model_dir`'s lock.

    Example:

    >>> import os, tempfile
    >>> import keras
    >>> run = tempfile.mkdtemp()
    >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> stored = save_stage(run, "finetune", 0.1, net, {"top1": 0.5})
    >>> os.path.basename(stored["model"]), stored["top1"]
    ('finetune_10pct.keras', 0.5)
    """
    key = fraction_key(stage, label_fraction)
    path = files.join(model_dir, f"{key}.keras")
    metrics = dict(metrics, model=path)
    with lock.hold(model_dir, stage):
        with files.local_output(path) as local:
            model.save(local)
        results.update_results(model_dir, key, metrics)
    return metrics


def linear_eval(
    model_dir,
    *,
    dataset=None,
    split="train",
    eval_split="test",
    data_dir=None,
    image_size=None,
    verbose="auto",
    **settings,
):
    """Linear evaluation of a run's encoder; stored as "linear_eval" in results.json.

    Args:
        model_dir: the run's folder.
        dataset, data_dir: default: the run's.
        split, eval_split: what the classifier trains and is tested on.
        image_size: must be the run's (default).
        verbose: Keras verbosity; "auto": bars when interactive.
        **settings: `keras_simclr.evaluation.linear_eval` arguments (epochs,
            batch_size, learning_rate, momentum, weight_decay, ...).

    Returns:
        The metrics dict.

    Example:

    It needs a finished pretraining run, e.g. `keras_simclr.pretrain(
    "demo", "runs/demo")` (a few CPU minutes), so it is not run here:

    >>> metrics = linear_eval("runs/demo", epochs=10)  # doctest: +SKIP
    >>> metrics["top1"]  # also in runs/demo/results.json  # doctest: +SKIP

    Settings are checked before anything is loaded:

    >>> linear_eval("runs/demo", epochs=0)
    Traceback (most recent call last):
    ...
    keras_simclr.runs.errors.RunSettingError: epochs=0 is out of range — use epochs >= 1
    """
    _check_positive(
        epochs=settings.get("epochs"), batch_size=settings.get("batch_size")
    )
    recipe, model = load_run(model_dir)
    train, test, num_classes, size = _data(
        recipe, dataset, split, eval_split, data_dir, image_size
    )
    metrics = ks_evaluation.linear_eval(
        model.encoder,
        train,
        test,
        num_classes=num_classes,
        image_size=size,
        verbose=_verbose(verbose),
        **settings,
    )
    with lock.hold(model_dir, "linear_eval"):
        results.update_results(model_dir, "linear_eval", metrics)
    return metrics


def finetune(
    model_dir,
    *,
    dataset=None,
    split="train",
    eval_split="test",
    data_dir=None,
    image_size=None,
    label_fraction=None,
    verbose="auto",
    **settings,
):
    """Fine-tunes a run's model on a fraction of the labels.

    Saves the classifier as `finetune_<p>pct.keras` in `model_dir` and its
    metrics under the same key in results.json (runs on 1% and 10% coexist).

    Args:
        model_dir, dataset, split, eval_split, data_dir, image_size, verbose: as
            in `linear_eval`.
        label_fraction: fraction of the labels (class-balanced); None: all.
        **settings: `keras_simclr.evaluation.finetune` arguments (head_layer,
            default the recipe's, epochs, batch_size, learning_rate, seed, ...).

    Returns:
        `(classifier, metrics)`; metrics include `model`, the saved path.

    Example:

    It needs a finished pretraining run, e.g. `keras_simclr.pretrain(
    "demo", "runs/demo")` (a few CPU minutes), so it is not run here:

    >>> classifier, metrics = finetune("runs/demo", label_fraction=0.1)  # doctest: +SKIP
    >>> metrics["model"]  # 'runs/demo/finetune_10pct.keras'  # doctest: +SKIP

    Settings are checked before anything is loaded:

    >>> finetune("runs/demo", epochs=0)
    Traceback (most recent call last):
    ...
    keras_simclr.runs.errors.RunSettingError: epochs=0 is out of range — use epochs >= 1
    """
    _check_positive(
        epochs=settings.get("epochs"), batch_size=settings.get("batch_size")
    )
    recipe, model = load_run(model_dir)
    train, test, num_classes, size = _data(
        recipe, dataset, split, eval_split, data_dir, image_size
    )
    if label_fraction is not None:
        settings["label_fraction"] = label_fraction
    settings.setdefault("head_layer", recipe.get("head_layer", 0))
    classifier, metrics = ks_evaluation.finetune(
        model,
        train,
        test,
        num_classes=num_classes,
        image_size=size,
        verbose=_verbose(verbose),
        **settings,
    )
    fraction = label_fraction or 1.0
    metrics = save_stage(
        model_dir,
        "finetune",
        fraction,
        classifier,
        dict(metrics, label_fraction=fraction),
    )
    return classifier, metrics


def export(model_dir, export_dir=None, include_projection=True, overwrite=False):
    """Exports a run's encoder as a TF SavedModel (any gfile URL).

    Another folder's content is never overwritten unless `overwrite` (then
    the old content goes, all of it), and nothing goes into the run's
    checkpoints (their rotation deletes it): see
    `keras_simclr.export.check_export_path`. The run's own export,
    `model_dir/saved_encoder`, is written again from its model.keras.

    Args:
        model_dir: the run's folder.
        export_dir: default `model_dir/saved_encoder`.
        include_projection: also export the projection head's outputs.
        overwrite: replace what another `export_dir` holds.

    Returns:
        The SavedModel's path.

    Raises:
        UserInputError: `export_dir` is a file, holds files (without
            `overwrite`) or is inside the run's checkpoints.
        RunSettingError: no model.keras in `model_dir`.
        RunBusyError: `export_dir` is inside `model_dir` and another running
            process holds its lock.

    Example:

    It needs a finished pretraining run, e.g. `keras_simclr.pretrain(
    "demo", "runs/demo")` (a few CPU minutes), so it is not run here:

    >>> export("runs/demo", "gs://bucket/serving/simclr")  # doctest: +SKIP

    A folder without a pretrained model is refused:

    >>> export("runs/none")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.runs.errors.RunSettingError: no pretrained model in runs/none (no
    model.keras) — pretrain into it first (keras_simclr.pretrain or `keras-simclr
    pretrain`), or fix model_dir
    """
    model_dir = str(model_dir)
    own = files.join(model_dir, "saved_encoder")
    target = str(export_dir or own)
    overwrite = overwrite or target == own
    ks_export.check_export_path(target, overwrite)
    _, model = load_run(model_dir)
    inside = target.startswith(model_dir.rstrip("/") + "/")
    with lock.hold(model_dir, "export") if inside else contextlib.nullcontext():
        return model.export_encoder(
            target, include_projection=include_projection, overwrite=overwrite
        )
