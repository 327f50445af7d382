"""The commands of `keras-simclr`, each a call of the Python run API, and
`COMMANDS`, the one table of them: what each calls and which flags it reads.

Every command function takes the run's folder and the arguments its flags
map to (only those given, so the library's defaults hold), calls the run
API and prints one summary line.
"""

import dataclasses
from collections.abc import Callable, Mapping

from keras_simclr import runs
from keras_simclr import strategy as strategies
from keras_simclr.cli import options


def pretrain(model_dir, tpu=None, num_gpus=None, cpu_replicas=None, **recipe_flags):
    """`keras-simclr pretrain`: `keras_simclr.pretrain` on the chosen strategy.

    Args:
        model_dir: the run's folder (--model_dir).
        tpu, num_gpus, cpu_replicas: as `strategy.resolve_strategy` (None:
            its default).
        **recipe_flags: the recipe flags given (--preset and one per
            `Recipe` field), for `options.recipe_from_flags`.

    Returns:
        The summary dict of `keras_simclr.pretrain`, also printed as one line.

    Example (from a shell):

        keras-simclr pretrain --preset=demo --model_dir=runs/demo
    """
    recipe = options.recipe_from_flags(recipe_flags)
    where = dict(tpu=tpu, num_gpus=num_gpus, cpu_replicas=cpu_replicas)
    strategy = strategies.resolve_strategy(
        **{k: v for k, v in where.items() if v is not None}
    )
    summary = runs.pretrain(recipe, model_dir, strategy=strategy)
    metrics = ", ".join(
        f"{k} {summary[k]:.4g}"
        for k in ("loss", "contrastive_accuracy", "probe_accuracy")
        if k in summary
    )
    print(
        f"keras-simclr: pretrained {summary['steps']} steps "
        f"({summary['steps_this_run']} in this run) in {summary['seconds']:.0f} s, "
        f"{summary['images_per_second']:.0f} images/s on {summary['replicas']} "
        f"replica(s); {metrics or 'no new metrics'}; model: {summary['model']}",
        flush=True,
    )
    return summary


def linear_eval(model_dir, **settings):
    """`keras-simclr linear-eval`: `keras_simclr.runs.linear_eval`.

    Args:
        model_dir: the run's folder (--model_dir).
        **settings: its other arguments, from the flags given.

    Returns:
        The metrics dict; top-1 and top-5 are printed as one line.

    Example (from a shell):

        keras-simclr linear-eval --model_dir=runs/demo --epochs=10
    """
    metrics = runs.linear_eval(model_dir, **settings)
    print(
        f"keras-simclr: linear evaluation top-1 {metrics['top1']:.4f}, "
        f"top-5 {metrics['top5']:.4f}; results in "
        f"{runs.files.join(model_dir, runs.results.RESULTS)}",
        flush=True,
    )
    return metrics


def finetune(model_dir, **settings):
    """`keras-simclr finetune`: `keras_simclr.runs.finetune`.

    Args:
        model_dir: the run's folder (--model_dir).
        **settings: its other arguments, from the flags given.

    Returns:
        The metrics dict; top-1 and the saved model are printed.

    Example (from a shell):

        keras-simclr finetune --model_dir=runs/demo --label_fraction=0.1
    """
    _, metrics = runs.finetune(model_dir, **settings)
    print(
        f"keras-simclr: fine-tuned top-1 {metrics['top1']:.4f}; model: "
        f"{metrics['model']}",
        flush=True,
    )
    return metrics


def distill(model_dir, **settings):
    """`keras-simclr distill`: `keras_simclr.runs.distill`.

    Args:
        model_dir: the folder the student goes to (--model_dir).
        **settings: its other arguments (teacher_dir, ...), from the flags
            given.

    Returns:
        The metrics dict; the student's and teacher's top-1 are printed.

    Example (from a shell):

        keras-simclr distill --model_dir=runs/demo --teacher_dir=runs/demo --label_fraction=0.1
    """
    _, metrics = runs.distill(model_dir, **settings)
    print(
        f"keras-simclr: distilled top-1 {metrics['top1']:.4f} (teacher "
        f"{metrics['teacher_top1']:.4f}); model: {metrics['model']}",
        flush=True,
    )
    return metrics


def export(model_dir, overwrite=False, **settings):
    """`keras-simclr export`: `keras_simclr.runs.export`.

    Args:
        model_dir: the run's folder (--model_dir).
        overwrite: --overwrite; passed on (as `overwrite=True`) only when
            set, so the library's refusal holds otherwise.
        **settings: export_dir, include_projection, from the flags given.

    Returns:
        The SavedModel's path, also printed.

    Example (from a shell):

        keras-simclr export --model_dir=runs/demo --export_dir=gs://bucket/simclr
    """
    if overwrite:
        settings["overwrite"] = True
    target = runs.export(model_dir, **settings)
    print(f"keras-simclr: encoder exported to {target}", flush=True)
    return target


def import_checkpoint(model_dir, checkpoint, **settings):
    """`keras-simclr import`: `keras_simclr.runs.import_checkpoint`.

    Args:
        model_dir: the run folder to write (--model_dir).
        checkpoint: a released name, a checkpoint folder or prefix.
        **settings: image_size, when given.

    Returns:
        The "import" dict of results.json; the architecture is printed.

    Example (from a shell):

        keras-simclr import --checkpoint=simclrv2/r50_1x_sk1/pretrained --model_dir=runs/r50_sk1
    """
    summary = runs.import_checkpoint(checkpoint, model_dir, **settings)
    print(
        f"keras-simclr: imported {checkpoint} (ResNet-{summary['resnet_depth']} "
        f"{summary['width_multiplier']}x, sk_ratio {summary['sk_ratio']:g}, "
        f"{summary['image_size']} px) into {model_dir}",
        flush=True,
    )
    return summary


@dataclasses.dataclass(frozen=True)
class Required:
    """Flags a command cannot run without: one of `flags` must be given.

    Args:
        flags: the flag names; any one of them will do.
        what: what is missing, as the error says it.
        fix: how to fix it.

    Example:

    >>> COMMANDS["distill"].required[-1].flags
    ('teacher_dir',)
    """

    flags: tuple
    what: str
    fix: str


@dataclasses.dataclass(frozen=True)
class Command:
    """One command of `keras-simclr`: what it calls and the flags it reads.

    Args:
        run: the command function, called as `run(model_dir, **arguments)`.
        arguments: {flag name: argument name of `run`} of every flag it
            reads but --model_dir; the others are refused.
        required: the `Required` flags, checked in order.
        summary: one line for `--help`.
        example: a command line for `--help`.

    Example:

    >>> command = COMMANDS["distill"]
    >>> command.arguments["distill_temperature"], "model_dir" in command.flags
    ('temperature', True)
    """

    run: Callable
    arguments: Mapping
    required: tuple
    summary: str
    example: str

    @property
    def flags(self):
        """The flags the command reads, --model_dir first.

        Returns:
            A tuple of flag names.

        Example:

        >>> COMMANDS["import"].flags
        ('model_dir', 'checkpoint', 'image_size')
        """
        return ("model_dir", *self.arguments)


def _same(*names):
    """{flag: argument} for flags named as the arguments they set."""
    return {name: name for name in names}


MODEL_DIR = Required(
    ("model_dir",), "no --model_dir", "pass --model_dir=DIR (e.g. runs/demo)"
)
# What the evaluations read to choose their data (default: the run's).
DATA_FLAGS = _same("dataset", "split", "eval_split", "data_dir", "image_size")
# The table of commands: each once, in the order `--help` lists them.
COMMANDS = {
    "pretrain": Command(
        pretrain,
        _same(*options.RECIPE_FLAGS, "tpu", "num_gpus", "cpu_replicas"),
        (
            MODEL_DIR,
            Required(
                ("dataset", "preset"),
                "no dataset",
                "pass --dataset=NAME|FOLDER|FILE.npz or --preset=demo",
            ),
        ),
        "Pretrains a SimCLR model (resumes a killed run from its last checkpoint).",
        "keras-simclr pretrain --preset=demo --model_dir=runs/demo",
    ),
    "linear-eval": Command(
        linear_eval,
        dict(
            DATA_FLAGS,
            **_same(
                "epochs", "batch_size", "learning_rate", "momentum", "weight_decay"
            ),
        ),
        (MODEL_DIR,),
        "Trains a linear classifier on the frozen encoder; tests it.",
        "keras-simclr linear-eval --model_dir=runs/demo",
    ),
    "finetune": Command(
        finetune,
        dict(
            DATA_FLAGS,
            **_same(
                "label_fraction",
                "head_layer",
                "epochs",
                "batch_size",
                "learning_rate",
                "seed",
            ),
        ),
        (MODEL_DIR,),
        "Fine-tunes the encoder and a classifier on a fraction of the labels.",
        "keras-simclr finetune --model_dir=runs/demo --label_fraction=0.1",
    ),
    "distill": Command(
        distill,
        dict(
            DATA_FLAGS,
            **_same(
                "teacher_dir",
                "label_fraction",
                "epochs",
                "batch_size",
                "learning_rate",
                "seed",
            ),
            distill_temperature="temperature",
            distill_alpha="alpha",
        ),
        (
            MODEL_DIR,
            Required(
                ("teacher_dir",),
                "no --teacher_dir",
                "pass --teacher_dir=RUN (a run folder with a fine-tuned model) "
                "or a SavedModel folder",
            ),
        ),
        "Distils a fine-tuned teacher into a student (SimCLRv2's third stage).",
        "keras-simclr distill --model_dir=runs/demo --teacher_dir=runs/demo "
        "--label_fraction=0.1",
    ),
    "export": Command(
        export,
        _same("export_dir", "include_projection", "overwrite"),
        (MODEL_DIR,),
        "Exports the run's encoder as a TensorFlow SavedModel.",
        "keras-simclr export --model_dir=runs/demo",
    ),
    "import": Command(
        import_checkpoint,
        _same("checkpoint", "image_size"),
        (
            MODEL_DIR,
            Required(
                ("checkpoint",),
                "no --checkpoint",
                "pass --checkpoint=NAME|FOLDER, e.g. "
                "--checkpoint=simclrv2/r50_1x_sk1/pretrained",
            ),
        ),
        "Imports a checkpoint of the reference code (SimCLR v1 or v2) as a run.",
        "keras-simclr import --checkpoint=simclrv2/r50_1x_sk1/pretrained "
        "--model_dir=runs/r50_sk1",
    ),
}
