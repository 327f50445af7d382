"""The command line's flags: one per `Recipe` field, plus the run's own.

The pretraining flags are made from `keras_simclr.recipes.Recipe`: a field
added there gets its flag here with nothing else to do (a `tuple` field, a
pair of numbers, is spelled `--name=a,b`). Flags that are not part of a
recipe (where to run, what to evaluate or export) are defined below; which
command reads which flag is `keras_simclr.cli.commands.COMMANDS`.
"""

import dataclasses

from absl import flags

from keras_simclr import backends, recipes

_DEFINE = {
    str: flags.DEFINE_string,
    int: flags.DEFINE_integer,
    float: flags.DEFINE_float,
    bool: flags.DEFINE_bool,
}


class PairParser(flags.ArgumentParser):
    """Parses the flag of a `tuple` recipe field: two numbers, `a,b`.

    Example:

    >>> PairParser().parse("0.2,1")
    (0.2, 1.0)
    >>> PairParser().parse("0.2")
    Traceback (most recent call last):
    ...
    ValueError: '0.2' is not two numbers — pass a,b, e.g. 0.08,1.0
    """

    syntactic_help = "two numbers, a,b"

    def parse(self, argument):
        """The pair of floats that `argument` spells.

        Args:
            argument: the flag's text, "a,b" (or an already parsed pair).

        Returns:
            A tuple of two floats.

        Raises:
            ValueError: not two numbers (absl reports it as a bad flag).

        Example:

        >>> PairParser().parse("0.75, 1.333")
        (0.75, 1.333)
        """
        parts = argument.split(",") if isinstance(argument, str) else argument
        try:
            pair = tuple(float(part) for part in parts)
        except (TypeError, ValueError):
            pair = ()
        if len(pair) != 2:
            raise ValueError(
                f"{argument!r} is not two numbers — pass a,b, e.g. 0.08,1.0"
            )
        return pair

    def flag_type(self):
        """The type `--help` names.

        Returns:
            "pair of numbers".

        Example:

        >>> PairParser().flag_type()
        'pair of numbers'
        """
        return "pair of numbers"


def _shown(default):
    return ",".join(map(str, default)) if isinstance(default, tuple) else default


def define_recipe_flags(recipe_class=recipes.Recipe, flag_values=flags.FLAGS):
    """Defines one flag per field of `recipe_class` but `preset`, default None.

    None means "not given on the command line", so that the preset's value
    holds; the field's own default is shown in the help text.

    Args:
        recipe_class: a dataclass whose fields are `recipes.setting`s.
        flag_values: where to define them.

    Returns:
        None.

    Example:

    >>> @dataclasses.dataclass(frozen=True)
    ... class Crop:
    ...     scale: tuple = recipes.setting((0.08, 1.0), "Crop area range.")
    >>> flag_values = flags.FlagValues()
    >>> define_recipe_flags(Crop, flag_values)
    >>> _ = flag_values(["prog", "--scale=0.2,1.0"])
    >>> flag_values.scale
    (0.2, 1.0)
    """
    for field in dataclasses.fields(recipe_class):
        if field.name == "preset":
            continue
        meta = field.metadata
        default = (
            "" if field.default is None else f" (default: {_shown(field.default)})"
        )
        help = meta["help"] + default
        if meta["choices"]:
            flags.DEFINE_enum(
                field.name, None, list(meta["choices"]), help, flag_values=flag_values
            )
        elif field.type is tuple:
            flags.DEFINE(
                PairParser(),
                field.name,
                None,
                help,
                flag_values=flag_values,
                serializer=flags.CsvListSerializer(","),
            )
        else:
            _DEFINE[field.type](field.name, None, help, flag_values=flag_values)


flags.DEFINE_enum(
    "preset",
    None,
    list(recipes.PRESETS),
    "Recipe whose values are the "
    "defaults: demo (embedded data, minutes on a CPU), cifar10 (the "
    "reference's), imagenet (the paper's), imagenet_v2 (SimCLRv2's).",
)
define_recipe_flags()
# --- every command
flags.DEFINE_string(
    "model_dir",
    None,
    "The run's folder (any TensorFlow filesystem: "
    "local, gs://, ...): checkpoints, logs, the model, results.",
)
# --- every command, read before Keras is imported (keras_simclr.startup)
flags.DEFINE_enum(
    "backend",
    None,
    list(backends.SUPPORTED_BACKENDS),
    "The Keras backend (default: KERAS_BACKEND, else tensorflow).",
)
# --- pretrain: where it runs
flags.DEFINE_string("tpu", None, "TPU name or address ('local' on a TPU VM).")
flags.DEFINE_integer("num_gpus", None, "GPUs to use (default: all visible).")
flags.DEFINE_integer(
    "cpu_replicas",
    1,
    "Split the CPU into N replicas (tests distribution without accelerators).",
)
# --- linear-eval, finetune, distill
flags.DEFINE_string("eval_split", None, "Split to evaluate on (default test).")
flags.DEFINE_float(
    "label_fraction",
    None,
    "finetune, distill: fraction of labels (class-balanced).",
)
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
flags.DEFINE_bool(
    "overwrite",
    False,
    "export: replace what --export_dir holds (default: refuse to overwrite).",
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
