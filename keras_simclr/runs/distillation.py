"""SimCLRv2's third stage on run folders: distil a run's fine-tuned model."""

import keras

from keras_simclr import distillation as ks_distillation
from keras_simclr import recipes, saving
from keras_simclr.runs import files
from keras_simclr.runs.errors import RunSettingError
from keras_simclr.runs.evaluation import _data, fraction_key, save_stage
from keras_simclr.runs.training import CONFIG, _verbose

__all__ = ["distill"]


def _teacher(teacher_dir, label_fraction):
    """(teacher: a Keras model or a SavedModel path, its folder's recipe dict)."""
    recipe = files.read_json(files.join(teacher_dir, CONFIG), default={})
    if files.gfile.exists(files.join(teacher_dir, "saved_model.pb")):
        return teacher_dir, recipe
    key = fraction_key("finetune", label_fraction)
    path = files.join(teacher_dir, f"{key}.keras")
    if not files.gfile.exists(path):
        fraction = label_fraction or 1.0
        raise RunSettingError(
            f"teacher_dir={teacher_dir} holds no model fine-tuned on "
            f"label_fraction={fraction:g} (no {key}.keras) — fine-tune it first "
            f"(finetune with label_fraction={fraction:g}), or pass teacher_dir=a "
            "SavedModel folder",
            field="teacher_dir",
        )
    return saving.load_model(path), recipe


def _student(teacher, recipe, num_classes):
    """The default student: the teacher's architecture, else the recipe's
    encoder with a linear classifier."""
    if isinstance(teacher, keras.Model):
        return None  # distillation.distill copies the teacher's architecture
    if not recipe.get("resnet_depth"):
        raise RunSettingError(
            "the SavedModel teacher has no architecture to copy and model_dir "
            "holds no run to take the student's from — distil into a model_dir "
            "that holds a pretraining run, or call keras_simclr.runs.distill with "
            "student=",
            field="model_dir",
        )
    encoder = recipes.build_encoder(recipes.Recipe.from_dict(recipe))
    return ks_distillation.classifier_student(encoder, num_classes)


def distill(
    model_dir,
    *,
    teacher_dir,
    label_fraction=None,
    dataset=None,
    split="train",
    eval_split="test",
    data_dir=None,
    image_size=None,
    student=None,
    verbose="auto",
    **settings,
):
    """Distils a fine-tuned teacher into a student; saved in `model_dir`.

    SimCLRv2's third stage (`keras_simclr.distillation.distill`): the
    student learns the teacher's predictions on every training image. The
    teacher is the classifier `finetune` saved in `teacher_dir` for
    `label_fraction` (`finetune_<p>pct.keras`), or `teacher_dir` is a
    SavedModel of a classifier. The student is saved as
    `distill_<p>pct.keras` in `model_dir` and its metrics under the same key
    in `model_dir`'s results.json.

    Args:
        model_dir: the folder the student goes to (may be `teacher_dir`).
        teacher_dir: a run folder with a fine-tuned model, or a SavedModel.
        label_fraction: the fraction of the labels the teacher was
            fine-tuned on (None: all); with `alpha > 0` the student also
            learns those labels.
        dataset, split, eval_split, data_dir, image_size: as in `finetune`;
            default: the teacher run's (else model_dir's) dataset and size.
        student: a Keras model (images -> logits); None: a new copy of the
            teacher's architecture (self-distillation), or for a SavedModel
            teacher `model_dir`'s run's encoder (new) with a linear head.
        verbose: Keras verbosity; "auto": bars when interactive.
        **settings: `keras_simclr.distillation.distill` arguments
            (temperature, alpha, epochs, batch_size, learning_rate, seed, ...).

    Returns:
        `(student, metrics)`; metrics include `teacher` and `model`, the
        saved student's path.

    Raises:
        RunSettingError: no teacher for `label_fraction`, or no student.
        distillation.DistillationError, data.DataError: bad settings or data.

    Example:

    It needs a run fine-tuned on the same fraction of the labels, so it is
    not run here:

    >>> _ = ks.runs.finetune("runs/demo", label_fraction=0.1)  # doctest: +SKIP
    >>> student, metrics = ks.runs.distill(  # doctest: +SKIP
    ...     "runs/demo", teacher_dir="runs/demo", label_fraction=0.1)
    >>> metrics["model"]  # 'runs/demo/distill_10pct.keras'  # doctest: +SKIP

    A teacher folder without that model is refused in one line:

    >>> ks.runs.distill(  # doctest: +NORMALIZE_WHITESPACE
    ...     "runs/demo", teacher_dir="runs/empty", label_fraction=0.1)
    Traceback (most recent call last):
    ...
    keras_simclr.runs.errors.RunSettingError: teacher_dir=runs/empty holds no model
    fine-tuned on label_fraction=0.1 (no finetune_10pct.keras) — fine-tune it first
    (finetune with label_fraction=0.1), or pass teacher_dir=a SavedModel folder
    """
    if label_fraction is not None and not 0 < label_fraction <= 1:
        raise RunSettingError(
            f"label_fraction={label_fraction} is out of range — use the fraction "
            "the teacher was fine-tuned on, in (0, 1], e.g. 0.1",
            field="label_fraction",
        )
    model_dir, teacher_dir = str(model_dir), str(teacher_dir)
    teacher, recipe = _teacher(teacher_dir, label_fraction)
    recipe = recipe or files.read_json(files.join(model_dir, CONFIG), default={})
    train, test, num_classes, size = _data(
        recipe, dataset, split, eval_split, data_dir, image_size
    )
    if student is None:
        student = _student(teacher, recipe, num_classes)
    fraction = label_fraction or 1.0
    student, metrics = ks_distillation.distill(
        teacher,
        train,
        test,
        student=student,
        label_fraction=fraction,
        image_size=size,
        verbose=_verbose(verbose),
        **settings,
    )
    metrics = save_stage(
        model_dir, "distill", fraction, student, dict(metrics, teacher=teacher_dir)
    )
    return student, metrics
