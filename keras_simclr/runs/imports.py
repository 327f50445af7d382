"""`import_checkpoint`: a released SimCLR checkpoint as a run folder.

The folder it writes is one that `linear_eval`, `finetune`, `export` and
`pretrain` (continue pretraining) take like any pretraining run's.
"""

from keras_simclr import pretrained, recipes
from keras_simclr.runs import files, lock, results
from keras_simclr.runs.errors import RunSettingError
from keras_simclr.runs.plan import CONFIG, traces
from keras_simclr.runs.training import _save_model

__all__ = ["import_checkpoint"]

# The recipe settings an imported model fixes: its architecture and input.
ARCHITECTURE = (
    "image_size",
    "resnet_depth",
    "width_multiplier",
    "sk_ratio",
    "cifar_stem",
    "proj_layers",
    "proj_dim",
    "head_layer",
)


def import_checkpoint(checkpoint, model_dir, *, image_size=224, export=True):
    """Writes a reference TF2 checkpoint into `model_dir` as a pretrained run.

    `keras_simclr.pretrained.load` reads the checkpoint; the folder gets
    model.keras, (if `export`) saved_encoder/, config.json with the
    architecture's recipe settings (`ARCHITECTURE`: no dataset, which the
    evaluations and `pretrain` are given) and an "import" entry in
    results.json. `pretrain(recipe, model_dir)` then starts from these
    weights (continued pretraining) if the recipe has the same architecture.

    Args:
        checkpoint: a name of `keras_simclr.pretrained.RELEASED_MODELS`, a
            folder holding a TF2 checkpoint or a checkpoint prefix.
        model_dir: the run folder to write (any gfile URL); it must hold
            no trace of a run (`keras_simclr.runs.plan.TRACES`) but this
            same import (then its record is returned, nothing written).
        image_size: the side of the images the encoder will see.
        export: also write the encoder's SavedModel, saved_encoder/.

    Returns:
        The "import" dict of results.json: checkpoint, the architecture,
        num_classes (of the checkpoint's supervised head, or None), model.

    Raises:
        RunSettingError: `model_dir` already holds a run, or an image_size
            too small for the checkpoint's stem.
        RunBusyError: another running process holds `model_dir`'s lock.
        recipes.RecipeError: image_size < 8.
        UserInputError, pretrained.CheckpointMismatchError: no such checkpoint,
            or not the reference's layout.

    Example:

    A released name is read from Google's bucket (network access), so it
    is not run here:

    >>> summary = import_checkpoint(  # doctest: +SKIP
    ...     "simclrv2/r50_1x_sk1/pretrained", "runs/r50_sk1")
    >>> summary["resnet_depth"], summary["sk_ratio"]  # 50, 0.0625  # doctest: +SKIP
    >>> _ = keras_simclr.runs.finetune(  # doctest: +SKIP
    ...     "runs/r50_sk1", dataset="imagenet2012", label_fraction=0.01)

    A name that Google did not release is refused before any download:

    >>> import_checkpoint("simclrv2/r50_9x_sk1/pretrained", "runs/x")
    ... # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: path_or_name 'simclrv2/r50_9x_sk1/pretrained'
    is not a released model name; see keras_simclr.pretrained.RELEASED_MODELS
    (e.g. 'simclrv2/r50_1x_sk1/pretrained'), or give a checkpoint path.
    """
    model_dir = str(model_dir)
    with lock.hold(model_dir, "import"):
        done = _done(model_dir, checkpoint, image_size)
        if done is not None:
            return done
        return _import(checkpoint, model_dir, image_size, export)


def _done(model_dir, checkpoint, image_size):
    """The record of this very import, if the folder holds it; refuses any
    other trace of a run."""
    recorded = results.read_results(model_dir).get(results.IMPORT)
    if recorded and (recorded["checkpoint"], recorded["image_size"]) == (
        str(checkpoint),
        image_size,
    ):
        return recorded
    found = traces(model_dir)
    if found:
        raise RunSettingError(
            f"{model_dir} already holds a run ({', '.join(found)}) — import into "
            "a new model_dir",
            field="model_dir",
        )
    return None


def _import(checkpoint, model_dir, image_size, export):
    recipes.Recipe(image_size=image_size).validate()
    found = pretrained.architecture(checkpoint)
    if not found["cifar_stem"] and image_size < 32:
        raise RunSettingError(
            f"image_size={image_size} is too small for the checkpoint's ImageNet "
            "stem (/32 downsampling) — use image_size >= 32, e.g. 224 (the "
            "released models' size)",
            field="image_size",
        )
    model = pretrained.load(checkpoint, image_size=image_size)
    head = model.projection_head  # SimCLRv1's: new, of the default shape
    architecture = dict(
        image_size=image_size,
        resnet_depth=found["depth"],
        width_multiplier=found["width_multiplier"],
        sk_ratio=found["sk_ratio"],
        cifar_stem=found["cifar_stem"],
        proj_layers=head.num_layers,
        proj_dim=head.output_dim,
        # SimCLRv2 fine-tunes from the middle of its 3-layer head.
        head_layer=1 if found["proj_layers"] > 1 else 0,
    )
    recipes.Recipe.from_dict(architecture)  # the recipe can rebuild it
    _save_model(model, model_dir, export)
    files.write_json(files.join(model_dir, CONFIG), architecture)
    summary = dict(
        checkpoint=str(checkpoint),
        num_classes=found["num_classes"],
        model=files.join(model_dir, "model.keras"),
        **architecture,
    )
    results.update_results(model_dir, results.IMPORT, summary)
    return summary
