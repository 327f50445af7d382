"""The command line's flags: one per `Recipe` field, plus the run's own.

The pretraining flags are made from `keras_simclr.recipes.Recipe`: a field
added there gets its flag here with nothing else to do. Flags that are not
part of a recipe (where to run, what to evaluate or export) are defined
below, grouped by the command that reads them.
"""

import dataclasses

from absl import flags

from keras_simclr import recipes

_DEFINE = {
    str: flags.DEFINE_string,
    int: flags.DEFINE_integer,
    float: flags.DEFINE_float,
    bool: flags.DEFINE_bool,
    # Placeholder so that the tuple recipe fields (crop_scale, crop_ratio)
    # get a flag; the CLI's own tuple support replaces it.
    tuple: flags.DEFINE_list,
}


def _define_recipe_flags():
    for field in dataclasses.fields(recipes.Recipe):
        if field.name == "preset":
            continue
        meta = field.metadata
        default = "" if field.default is None else f" (default: {field.default})"
        help = meta["help"] + default
        if meta["choices"]:
            flags.DEFINE_enum(field.name, None, list(meta["choices"]), help)
        else:
            # None: not given on the command line, so the preset's value holds.
            _DEFINE[field.type](field.name, None, help)


flags.DEFINE_enum(
    "preset",
    None,
    list(recipes.PRESETS),
    "Recipe whose values are the "
    "defaults: demo (embedded data, minutes on a CPU), cifar10 (the "
    "reference's), imagenet (the paper's), imagenet_v2 (SimCLRv2's).",
)
_define_recipe_flags()
# --- every command
flags.DEFINE_string(
    "model_dir",
    None,
    "The run's folder (any TensorFlow filesystem: "
    "local, gs://, ...): checkpoints, logs, the model, results.",
)
# --- pretrain: where it runs
flags.DEFINE_string("tpu", None, "TPU name or address ('local' on a TPU VM).")
flags.DEFINE_integer("num_gpus", None, "GPUs to use (default: all visible).")
flags.DEFINE_integer(
    "cpu_replicas",
    1,
    "Split the CPU into N replicas (tests distribution without accelerators).",
)
# --- linear-eval, finetune (they also read --dataset, --split, --data_dir,
# --image_size, --epochs, --batch_size, --learning_rate, ... as given)
flags.DEFINE_string("eval_split", None, "Split to evaluate on (default test).")
flags.DEFINE_float(
    "label_fraction", None, "finetune: fraction of labels (class-balanced)."
)
# (--head_layer is a recipe flag: the run's default for finetune)
# --- distill (also reads --label_fraction, --epochs, --batch_size,
# --learning_rate, --seed and the data flags)
flags.DEFINE_string(
    "teacher_dir",
    None,
    "distill: the teacher, a run folder holding "
    "finetune's model for --label_fraction, or a SavedModel folder.",
)
flags.DEFINE_float(
    "distill_temperature", None, "distill: temperature of both softmaxes (default 1.0)."
)
flags.DEFINE_float(
    "distill_alpha",
    None,
    "distill: weight of the label loss (default 0.0: the teacher's predictions only).",
)
# --- import
flags.DEFINE_string(
    "checkpoint",
    None,
    "import: a released model name (e.g. "
    "simclrv2/r50_1x_sk1/pretrained), a TF2 checkpoint folder or "
    "prefix of the reference code.",
)
# --- export
flags.DEFINE_string(
    "export_dir",
    None,
    "export: SavedModel directory (default model_dir/saved_encoder).",
)
flags.DEFINE_bool(
    "include_projection", True, "export: also export the projection head."
)

RECIPE_FLAGS = tuple(f.name for f in dataclasses.fields(recipes.Recipe))


def recipe_from_flags(given):
    """The recipe of `keras-simclr pretrain`: flags over the preset over defaults.

    Args:
        given: {flag name: value} of the flags on the command line.

    Returns:
        A validated `Recipe`.

    Raises:
        recipes.RecipeError: a value out of range.

    Example:

    >>> recipe = recipe_from_flags({"preset": "demo", "epochs": 2})
    >>> recipe.dataset, recipe.epochs
    ('shapes', 2)
    """
    overrides = {k: v for k, v in given.items() if k in RECIPE_FLAGS and k != "preset"}
    if given.get("preset"):
        return recipes.Recipe.from_preset(given["preset"], **overrides)
    return recipes.Recipe(**overrides).validate()
