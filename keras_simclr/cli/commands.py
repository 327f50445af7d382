"""The commands of `keras-simclr`, each a call of the Python run API.

Every function takes plain values (the top level reads the flags) and
prints one summary line.
"""

from keras_simclr import runs
from keras_simclr import strategy as strategies


def pretrain(model_dir, recipe, tpu=None, num_gpus=None, cpu_replicas=1):
    """`keras-simclr pretrain`: `keras_simclr.pretrain` on the chosen strategy.

    Args:
        model_dir: the run's folder (--model_dir).
        recipe: the `Recipe` made from the flags.
        tpu, num_gpus, cpu_replicas: as `strategy.resolve_strategy`.

    Returns:
        The summary dict of `keras_simclr.pretrain`, also printed as one line.

    Example (from a shell):

        keras-simclr pretrain --preset=demo --model_dir=runs/demo
    """
    strategy = strategies.resolve_strategy(tpu, num_gpus, cpu_replicas)
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


# Flag name -> argument name of the evaluations, taken when given.
LINEAR_EVAL_SETTINGS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
)
FINETUNE_SETTINGS = (
    "label_fraction",
    "head_layer",
    "epochs",
    "batch_size",
    "learning_rate",
    "seed",
)
DISTILL_SETTINGS = {
    "label_fraction": "label_fraction",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",
    "seed": "seed",
    "distill_temperature": "temperature",
    "distill_alpha": "alpha",
}
DATA_SETTINGS = ("dataset", "data_dir", "image_size")


def _data_arguments(given):
    arguments = {k: given[k] for k in DATA_SETTINGS if k in given}
    arguments["split"] = given.get("split") or "train"
    arguments["eval_split"] = given.get("eval_split") or "test"
    return arguments


def linear_eval(model_dir, given):
    """`keras-simclr linear-eval`: `keras_simclr.runs.linear_eval`.

    Args:
        model_dir: the run's folder (--model_dir).
        given: {flag name: value} of the flags given; those of
            `LINEAR_EVAL_SETTINGS` and `DATA_SETTINGS` are used.

    Returns:
        The metrics dict; top-1 and top-5 are printed as one line.

    Example (from a shell):

        keras-simclr linear-eval --model_dir=runs/demo --epochs=10
    """
    settings = {k: given[k] for k in LINEAR_EVAL_SETTINGS if k in given}
    metrics = runs.linear_eval(model_dir, **_data_arguments(given), **settings)
    print(
        f"keras-simclr: linear evaluation top-1 {metrics['top1']:.4f}, "
        f"top-5 {metrics['top5']:.4f}; results in "
        f"{runs.files.join(model_dir, runs.results.RESULTS)}",
        flush=True,
    )
    return metrics


def finetune(model_dir, given):
    """`keras-simclr finetune`: `keras_simclr.runs.finetune`.

    Args:
        model_dir: the run's folder (--model_dir).
        given: {flag name: value} of the flags given; those of
            `FINETUNE_SETTINGS` and `DATA_SETTINGS` are used.

    Returns:
        The metrics dict; top-1 and the saved model are printed.

    Example (from a shell):

        keras-simclr finetune --model_dir=runs/demo --label_fraction=0.1
    """
    settings = {k: given[k] for k in FINETUNE_SETTINGS if k in given}
    _, metrics = runs.finetune(model_dir, **_data_arguments(given), **settings)
    print(
        f"keras-simclr: fine-tuned top-1 {metrics['top1']:.4f}; model: "
        f"{metrics['model']}",
        flush=True,
    )
    return metrics


def export(model_dir, export_dir=None, include_projection=True):
    """`keras-simclr export`: `keras_simclr.runs.export`.

    Args:
        model_dir: the run's folder (--model_dir).
        export_dir: the SavedModel's folder; None: model_dir/saved_encoder.
        include_projection: also export the projection head's outputs.

    Returns:
        The SavedModel's path, also printed.

    Example (from a shell):

        keras-simclr export --model_dir=runs/demo --export_dir=gs://bucket/simclr
    """
    target = runs.export(model_dir, export_dir, include_projection)
    print(f"keras-simclr: encoder exported to {target}", flush=True)
    return target


def distill(model_dir, given):
    """`keras-simclr distill`: `keras_simclr.runs.distill`.

    Args:
        model_dir: the folder the student goes to (--model_dir).
        given: {flag name: value} of the flags given: --teacher_dir, those
            of `DISTILL_SETTINGS` and `DATA_SETTINGS`.

    Returns:
        The metrics dict; the student's and teacher's top-1 are printed.

    Example (from a shell):

        keras-simclr distill --model_dir=runs/demo --teacher_dir=runs/demo
            --label_fraction=0.1  (one line)
    """
    settings = {
        name: given[flag] for flag, name in DISTILL_SETTINGS.items() if flag in given
    }
    _, metrics = runs.distill(
        model_dir,
        teacher_dir=given["teacher_dir"],
        **_data_arguments(given),
        **settings,
    )
    print(
        f"keras-simclr: distilled top-1 {metrics['top1']:.4f} (teacher "
        f"{metrics['teacher_top1']:.4f}); model: {metrics['model']}",
        flush=True,
    )
    return metrics


def import_checkpoint(model_dir, checkpoint, image_size=None):
    """`keras-simclr import`: `keras_simclr.runs.import_checkpoint`.

    Args:
        model_dir: the run folder to write (--model_dir).
        checkpoint: a released name, a checkpoint folder or prefix.
        image_size: the encoder's input side; None: 224.

    Returns:
        The "import" dict of results.json; the architecture is printed.

    Example (from a shell):

        keras-simclr import --model_dir=runs/r50_sk1
            --checkpoint=simclrv2/r50_1x_sk1/pretrained  (one line)
    """
    summary = runs.import_checkpoint(
        checkpoint, model_dir, image_size=image_size or 224
    )
    print(
        f"keras-simclr: imported {checkpoint} (ResNet-{summary['resnet_depth']} "
        f"{summary['width_multiplier']}x, sk_ratio {summary['sk_ratio']:g}, "
        f"{summary['image_size']} px) into {model_dir}",
        flush=True,
    )
    return summary
