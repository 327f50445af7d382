"""Training runs that survive: crash-safe checkpoints, resume, run folders.

`pretrain(recipe, model_dir)` trains SimCLR in a folder on any filesystem
TensorFlow supports (local, gs://, ram://) and, called again after a crash,
resumes from the newest checkpoint that verifies. `linear_eval`, `finetune`,
`distill` (SimCLRv2's third stage) and `export` work on the same folder;
`import_checkpoint` makes one from Google's released checkpoints.
`AtomicCheckpoint` is the callback that writes the checkpoints, usable in
any `model.fit`. A folder is one run: `lock` keeps a second process from
writing it at the same time, and `plan` refuses, before anything is
written, a recipe that would overwrite the run it holds.

A run folder is backend-neutral: pretrained on TensorFlow or on JAX
(`KERAS_BACKEND`), it is resumed, evaluated and exported on either; its
checkpoints record the backend that wrote them, named in the one-line error
when one does not fit the model it is restored into.

Example (a notebook cell; run it again after a disconnect; hours of
training, so not run here):

>>> recipe = ks.recipes.Recipe.from_preset("cifar10")
>>> summary = ks.pretrain(recipe, "/content/drive/MyDrive/simclr_cifar10")  # doctest: +SKIP
>>> metrics = ks.runs.linear_eval("/content/drive/MyDrive/simclr_cifar10")  # doctest: +SKIP
"""

from keras_simclr.runs.checkpoints import (
    AtomicCheckpoint,
    latest_checkpoint,
    list_checkpoints,
    restore_checkpoint,
    save_checkpoint,
    verify_checkpoint,
)
from keras_simclr.runs.distillation import distill
from keras_simclr.runs.errors import (
    CheckpointWriteError,
    NonFiniteLoss,
    RunBusyError,
    RunError,
    RunSettingError,
)
from keras_simclr.runs.evaluation import export, finetune, linear_eval, load_run
from keras_simclr.runs.imports import import_checkpoint
from keras_simclr.runs.results import read_results, update_results
from keras_simclr.runs.training import pretrain
