"""Planning a `pretrain` call: what the run folder holds, and what it accepts.

A folder that holds any trace of a run (`TRACES`) is that run. The plan
refuses, before anything is written, a recipe whose settings that matter
differ (`Recipe.resume_differences`), fewer steps than the folder's model
was trained, and more steps with no checkpoint to continue from; it finds
a finished run, which `pretrain` then leaves as it is.
"""

import dataclasses

from keras_simclr import data, recipes
from keras_simclr.runs import checkpoints, files, results
from keras_simclr.runs.errors import RunSettingError

__all__ = [
    "CONFIG",
    "MODEL",
    "CHECKPOINTS",
    "TRACES",
    "Plan",
    "plan_pretraining",
    "traces",
]

CONFIG, MODEL, CHECKPOINTS = "config.json", "model.keras", "checkpoints"
# What makes a folder a run's.
TRACES = (CONFIG, MODEL, results.RESULTS, CHECKPOINTS)


@dataclasses.dataclass
class Plan:
    """What a `pretrain` call does, decided before anything is written.

    Attributes:
        recipe: the recipe, completed from the dataset's description.
        steps_per_epoch: steps of one pass over the training split.
        total_steps: the step the run ends at.
        latest: the `Checkpoint` to resume from, or None.
        imported: whether the run starts from the model that
            `keras_simclr.runs.import_checkpoint` wrote.
        finished: the "pretrain" record of a run already done, or None.
        start_step: (property) the step training starts from.

    Example:

    >>> recipe = keras_simclr.recipes.Recipe.from_preset("demo", train_steps=4)
    >>> Plan(recipe, steps_per_epoch=9, total_steps=4).start_step
    0
    """

    recipe: recipes.Recipe
    steps_per_epoch: int
    total_steps: int
    latest: checkpoints.Checkpoint = None
    imported: bool = False
    finished: dict = None

    @property
    def start_step(self):
        return self.latest.step if self.latest else 0


def traces(model_dir):
    """The names of `TRACES` that `model_dir` holds.

    Args:
        model_dir: a folder (any gfile URL); it may not exist.

    Returns:
        A list of names, in `TRACES`' order; empty for a new folder.

    Example:

    >>> keras_simclr.runs.update_results("runs/old", "linear_eval", {"top1": 0.5})
    {'linear_eval': {'top1': 0.5}}
    >>> traces("runs/old"), traces("runs/new")
    (['results.json'], [])
    """
    return [name for name in TRACES if files.gfile.exists(files.join(model_dir, name))]


def _imported(model_dir, latest):
    """Whether the run starts from a model `import_checkpoint` wrote."""
    done = results.read_results(model_dir)
    return latest is None and results.IMPORT in done and "pretrain" not in done


def _check_same_run(recipe, model_dir, latest):
    """Refuses a recipe that differs from the run the folder holds.

    The run is the newest checkpoint's recipe, else config.json; a folder
    that holds a trace of a run but no recipe is refused too.
    """
    saved = (latest.state.get("recipe") if latest else None) or files.read_json(
        files.join(model_dir, CONFIG)
    )
    if saved is None:
        found = traces(model_dir)
        if found:
            raise RunSettingError(
                f"{model_dir} holds {', '.join(found)} but no record of the recipe "
                "that wrote them (config.json) — use a new model_dir",
                field="model_dir",
            )
        return
    for key, before, now in recipe.resume_differences(saved):
        raise RunSettingError(
            f"{model_dir} holds a run with {key}={before!r}, not {now!r} — pass "
            f"{key}={before} to resume it, or use a new model_dir",
            field=key,
        )


def _check_steps(model_dir, latest, recorded, total_steps):
    """Refuses a recipe whose steps would make the records lie about the model."""
    trained = max(latest.step if latest else 0, recorded["steps"] if recorded else 0)
    if trained > total_steps:
        raise RunSettingError(
            f"{model_dir} holds a run trained {trained} steps, more than this "
            f"recipe's {total_steps} — pass train_steps={trained} (or the recipe "
            "that trained it), or use a new model_dir",
            field="train_steps",
        )
    if latest is None and recorded and trained < total_steps:
        raise RunSettingError(
            f"{model_dir} holds a run trained {trained} steps and no checkpoint "
            f"to continue it from — pass train_steps={trained} to keep it as it "
            "is, or use a new model_dir",
            field="train_steps",
        )


def plan_pretraining(recipe, model_dir, chief=True):
    """Reads the folder and decides the call; refuses what would overwrite it.

    Nothing is written.

    Args:
        recipe: a validated `keras_simclr.recipes.Recipe` with a dataset.
        model_dir: the run's folder (any gfile URL); it may not exist.
        chief: warn about skipped broken checkpoints (the chief does).

    Returns:
        A `Plan`.

    Raises:
        RunSettingError: the folder holds another run, a run trained
            further than `recipe` asks, or a model it cannot continue.

    Example:

    >>> recipe = keras_simclr.recipes.Recipe.from_preset(
    ...     "demo", train_steps=4, proj_dim=16)
    >>> plan = plan_pretraining(recipe, "runs/new")
    >>> plan.total_steps, plan.start_step, plan.finished
    (4, 0, None)
    >>> keras_simclr.runs.files.write_json("runs/new/config.json",
    ...                                    recipe.replace(proj_dim=32).to_dict())
    >>> plan_pretraining(recipe, "runs/new")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.runs.errors.RunSettingError: runs/new holds a run with proj_dim=32,
    not 16 — pass proj_dim=32 to resume it, or use a new model_dir
    """
    info = data.describe(recipe.dataset, recipe.split, recipe.data_dir)
    if info.num_examples is None:
        # A tfds split without size metadata (not prepared yet, or mocked):
        # reading it prepares it, refuses it offline, or counts it.
        info = data.raw_dataset(recipe.dataset, recipe.split, recipe.data_dir)[2]
    recipe = recipe.complete(info)
    steps_per_epoch = data.steps_per_epoch(info.num_examples, recipe.batch_size)
    total_steps = recipe.train_steps or recipe.epochs * steps_per_epoch
    plan = Plan(recipe, steps_per_epoch, total_steps)
    plan.latest = checkpoints.latest_checkpoint(
        files.join(model_dir, CHECKPOINTS), warn=chief
    )
    _check_same_run(recipe, model_dir, plan.latest)
    has_model = files.gfile.exists(files.join(model_dir, MODEL))
    recorded = results.read_results(model_dir).get("pretrain") if has_model else None
    _check_steps(model_dir, plan.latest, recorded, total_steps)
    latest_step = plan.latest.step if plan.latest else total_steps
    if recorded and recorded["steps"] == total_steps == latest_step:
        plan.finished = recorded
    plan.imported = _imported(model_dir, plan.latest)
    if has_model and not (plan.latest or plan.imported or plan.finished):
        raise RunSettingError(
            f"{model_dir} holds {MODEL} but neither a checkpoint nor a record of "
            "its training — use a new model_dir",
            field="model_dir",
        )
    return plan
