"""The `keras-simclr` command line: pretrain, linear-eval, finetune, export.

    keras-simclr pretrain --preset=demo --model_dir=runs/demo
    keras-simclr linear-eval --model_dir=runs/demo
    keras-simclr finetune --model_dir=runs/demo --label_fraction=0.1
    keras-simclr export --model_dir=runs/demo

The first positional argument is the command; the flags are shared. A run's
files live in `--model_dir`:

    config.json      the resolved pretraining flags
    checkpoints/     resume state (weights, optimizer slots, step, random
                     generators), written atomically; a killed run started
                     again with the same command resumes here
    logs/            metrics.csv, and TensorBoard files if it is installed
    model.keras      the final SimCLR model (`keras.saving.load_model`)
    saved_encoder/   the encoder as a TF SavedModel
    results.json     summaries: "pretrain", then one key per evaluation

User errors (unknown dataset, bad flag values, a batch that does not split
over the replicas, ...) print one line `keras-simclr: error: <what> — <how
to fix>` and exit with status 2.
"""

import json
import math
import os
import re
import shutil
import sys
import tempfile
import time

from absl import app, flags, logging

FLAGS = flags.FLAGS
COMMANDS = ("pretrain", "linear-eval", "finetune", "export")

# Recipes (SPEC section 6). Flags given on the command line override them.
PRESETS = {
    # The embedded dataset and a small network: a few minutes on a CPU.
    "demo": dict(
        dataset="shapes",
        image_size=32,
        batch_size=128,
        epochs=6,
        learning_rate=1.0,
        learning_rate_scaling="linear",
        warmup_epochs=1,
        weight_decay=1e-6,
        optimizer="lars",
        temperature=0.2,
        color_jitter_strength=0.5,
        blur=False,
        resnet_depth=18,
        width_multiplier=1,
        cifar_stem=False,
        proj_layers=2,
        proj_dim=64,
        probe=True,
    ),
    # The reference's CIFAR-10 recipe (google-research/simclr README).
    "cifar10": dict(
        dataset="cifar10",
        image_size=32,
        batch_size=512,
        epochs=1000,
        learning_rate=1.0,
        learning_rate_scaling="linear",
        warmup_epochs=10,
        weight_decay=1e-4,
        optimizer="lars",
        temperature=0.5,
        color_jitter_strength=0.5,
        blur=False,
        resnet_depth=18,
        width_multiplier=1,
        cifar_stem=True,
        proj_layers=3,
        proj_dim=128,
        probe=True,
    ),
    # The paper's ImageNet recipe.
    "imagenet": dict(
        dataset="imagenet2012",
        image_size=224,
        batch_size=4096,
        epochs=100,
        learning_rate=0.075,
        learning_rate_scaling="sqrt",
        warmup_epochs=10,
        weight_decay=1e-6,
        optimizer="lars",
        temperature=0.1,
        color_jitter_strength=1.0,
        blur=True,
        resnet_depth=50,
        width_multiplier=1,
        cifar_stem=False,
        proj_layers=3,
        proj_dim=128,
        probe=True,
    ),
}
# Without a preset: the reference TF2 code's defaults. image_size,
# cifar_stem, blur and color_jitter_strength follow the image size.
DEFAULTS = dict(
    batch_size=512,
    epochs=100,
    learning_rate=0.3,
    learning_rate_scaling="linear",
    warmup_epochs=10,
    weight_decay=1e-6,
    optimizer="lars",
    temperature=0.1,
    resnet_depth=50,
    width_multiplier=1,
    proj_layers=3,
    proj_dim=128,
    probe=True,
)

# --- data
flags.DEFINE_enum("preset", None, list(PRESETS), "Recipe whose values are the defaults: "
                  "demo (embedded data, minutes on a CPU), cifar10 (the reference's), "
                  "imagenet (the paper's).")
flags.DEFINE_string(
    "dataset", None,
    "A tfds name (cifar10, stl10, imagenet2012, ...), a folder of images (class "
    "sub-folders = labels, flat = unlabelled), a .npz file (images, labels) or "
    "'shapes' (embedded, no download).")
flags.DEFINE_string("split", None, "Split to train on (pretrain: train; tfds expressions "
                    "like 'train+unlabelled' or 'train[:10%]' work).")
flags.DEFINE_string("eval_split", None, "Split to evaluate on (default test).")
flags.DEFINE_string("data_dir", None, "tfds data directory.")
flags.DEFINE_integer("image_size", None, "Side of the square images the network sees.")
flags.DEFINE_enum("augment_on", "device", ["device", "data"],
                  "Augment the two views inside the training step (device) or in "
                  "tf.data on the host CPU (data).")
flags.DEFINE_integer("shuffle_buffer", None, "Shuffle buffer (default: whole split; "
                     "10,000 for tfds; 0: no shuffle).")
flags.DEFINE_bool("cache", False, "Cache decoded images in memory after the first epoch.")
flags.DEFINE_bool("skip_corrupt", False, "Skip unreadable image files (one warning line "
                  "each) instead of stopping.")
# --- optimisation
flags.DEFINE_integer("batch_size", None, "Global batch size (all replicas).")
flags.DEFINE_integer("epochs", None, "Training epochs.")
flags.DEFINE_integer("train_steps", None, "Training steps; overrides --epochs.")
flags.DEFINE_float("learning_rate", None, "pretrain: base learning rate, scaled "
                   "by --learning_rate_scaling; linear-eval, finetune: the "
                   "learning rate as is.")
flags.DEFINE_enum("learning_rate_scaling", None, ["linear", "sqrt"],
                  "linear: lr * batch / 256; sqrt: lr * sqrt(batch).")
flags.DEFINE_float("warmup_epochs", None, "Epochs of linear warmup before the cosine decay.")
flags.DEFINE_float("weight_decay", None, "Weight decay (coupled L2 for LARS).")
flags.DEFINE_enum("optimizer", None, ["lars", "sgd", "adam"], "Optimizer.")
flags.DEFINE_float("momentum", 0.9, "Momentum of LARS and SGD.")
flags.DEFINE_float("temperature", None, "NT-Xent temperature T > 0.")
# --- augmentation and model
flags.DEFINE_float("color_jitter_strength", None, "Colour distortion strength s.")
flags.DEFINE_bool("blur", None, "Gaussian blur (default: on above 64 px).")
flags.DEFINE_integer("resnet_depth", None, "ResNet depth: 18, 34, 50, 101, 152, 200.")
flags.DEFINE_integer("width_multiplier", None, "ResNet width multiplier.")
flags.DEFINE_bool("cifar_stem", None, "3x3 stride-1 stem, no max-pool (default: "
                  "images up to 64 px).")
flags.DEFINE_integer("proj_layers", None, "Projection head layers (2: v1, 3: v2).")
flags.DEFINE_integer("proj_dim", None, "Projection output width.")
flags.DEFINE_bool("probe", None, "Online linear probe on h when the data has labels.")
flags.DEFINE_bool("mixed_precision", False, "bfloat16 on CPU/TPU, float16 on GPU.")
flags.DEFINE_bool("jit_compile", False, "Compile the training step with XLA.")
# --- run
flags.DEFINE_string("model_dir", None, "Where checkpoints, logs and the model go.")
flags.DEFINE_integer("checkpoint_steps", None, "Save resume state every N steps "
                     "(default: every epoch).")
flags.DEFINE_integer("seed", 0, "Seed of initialisation, shuffling and augmentation.")
flags.DEFINE_bool("export", True, "pretrain: export the encoder to model_dir/saved_encoder "
                  "at the end.")
flags.DEFINE_bool("deterministic", False, "Bit-reproducible runs "
                  "(tf.config.experimental.enable_op_determinism; slower).")
flags.DEFINE_string("tpu", None, "TPU name or address ('local' on a TPU VM).")
flags.DEFINE_integer("num_gpus", None, "GPUs to use (default: all visible).")
flags.DEFINE_integer("cpu_replicas", 1, "Split the CPU into N replicas "
                     "(tests distribution without accelerators).")
# --- evaluation and export
flags.DEFINE_float("label_fraction", None, "finetune: fraction of labels (class-balanced).")
flags.DEFINE_integer("head_layer", None, "finetune: start from this projection-head layer "
                     "(0 = h).")
flags.DEFINE_string("export_dir", None, "export: SavedModel directory "
                    "(default model_dir/saved_encoder).")
flags.DEFINE_bool("include_projection", True, "export: also export the projection head.")


class UsageError(Exception):
    """A mistake in the command line; printed as one line, exit status 2."""


def _fail(what, fix):
    raise UsageError(f"{what} — {fix}")


# ---------------------------------------------------------------------------
# Configuration.

_PRETRAIN_KEYS = (
    "dataset", "split", "data_dir", "image_size", "batch_size", "epochs",
    "train_steps", "learning_rate", "learning_rate_scaling", "warmup_epochs",
    "weight_decay", "optimizer", "momentum", "temperature",
    "color_jitter_strength", "blur", "resnet_depth", "width_multiplier",
    "cifar_stem", "proj_layers", "proj_dim", "probe", "mixed_precision",
    "jit_compile", "augment_on", "shuffle_buffer", "cache", "skip_corrupt",
    "checkpoint_steps", "seed", "deterministic", "preset", "export",
)
# What a resumed run must share with the run that wrote the checkpoint.
_RESUME_KEYS = (
    "dataset", "split", "image_size", "batch_size", "optimizer", "resnet_depth",
    "width_multiplier", "cifar_stem", "proj_layers", "proj_dim", "probe",
    "mixed_precision",
)


def _given(name):
    return FLAGS[name].present


def resolve_pretrain_config():
    """Returns the pretraining settings: flags over the preset over defaults.

    Returns:
        A dict with one entry per key of `_PRETRAIN_KEYS`; automatic values
        that need the dataset (image_size, ...) are filled by
        `_complete_config`.

    Raises:
        UsageError: a missing dataset or model_dir, or values out of range.
    """
    base = dict(DEFAULTS)
    if FLAGS.preset:
        base.update(PRESETS[FLAGS.preset])
    config = {}
    for key in _PRETRAIN_KEYS:
        value = FLAGS[key].value
        if not _given(key) and key in base:
            value = base[key]
        config[key] = value
    config["split"] = config["split"] or "train"
    if not config["dataset"]:
        _fail("no dataset", "pass --dataset=NAME|FOLDER|FILE.npz or --preset=demo")
    _check_ranges(config)
    return config


def _check_ranges(config):
    checks = (
        ("temperature", lambda v: v > 0, "T > 0; SimCLR uses 0.1 (ImageNet) or 0.5 (CIFAR-10)"),
        ("batch_size", lambda v: v >= 1, "a positive global batch, e.g. 512"),
        ("epochs", lambda v: v >= 1, "at least 1 epoch"),
        ("learning_rate", lambda v: v >= 0, "a non-negative base learning rate"),
        ("weight_decay", lambda v: v >= 0, "a non-negative weight decay"),
        ("warmup_epochs", lambda v: v >= 0, "a non-negative number of warmup epochs"),
        ("color_jitter_strength", lambda v: 0 <= v <= 2.5, "a strength in [0, 2.5] "
         "(0.5 or 1.0)"),
        ("momentum", lambda v: 0 <= v <= 1, "a momentum in [0, 1], e.g. 0.9"),
        ("width_multiplier", lambda v: v >= 1, "an integer >= 1"),
        ("proj_layers", lambda v: v >= 1, "at least 1 layer (2: v1, 3: v2)"),
        ("proj_dim", lambda v: v >= 1, "a positive width, e.g. 128"),
        ("image_size", lambda v: v >= 8, "at least 8 pixels"),
        ("train_steps", lambda v: v >= 1, "at least 1 step"),
        ("checkpoint_steps", lambda v: v >= 1, "at least 1 step"),
    )
    for key, ok, fix in checks:
        value = config.get(key)
        if value is not None and not ok(value):
            _fail(f"--{key}={value} is out of range", f"use {fix}")
    if config["resnet_depth"] not in (18, 34, 50, 101, 152, 200):
        _fail(f"--resnet_depth={config['resnet_depth']} is not a ResNet",
              "use 18, 34, 50, 101, 152 or 200")


def _complete_config(config, info):
    """Fills the settings that depend on the dataset (image size, stem...)."""
    if config["image_size"] is None:
        config["image_size"] = info.image_size[0] if info.image_size else 224
    small = config["image_size"] <= 64
    if config["cifar_stem"] is None:
        config["cifar_stem"] = small
    if config["blur"] is None:
        config["blur"] = not small
    if config["color_jitter_strength"] is None:
        config["color_jitter_strength"] = 0.5 if small else 1.0
    if config["probe"] and info.num_classes is None:
        config["probe"] = False  # Nothing to probe: the split is unlabelled.
    if not config["cifar_stem"] and config["image_size"] < 32:
        _fail(f"--image_size={config['image_size']} is too small for the ImageNet stem "
              "(/32 downsampling)", "use --cifar_stem or --image_size >= 32")
    return config


def _check_resume(config, model_dir):
    """Refuses to resume a checkpoint written with different settings."""
    path = os.path.join(model_dir, "config.json")
    if not (os.path.exists(path) and _latest_checkpoint(model_dir)):
        return
    with open(path) as f:
        saved = json.load(f)
    for key in _RESUME_KEYS:
        if key in saved and saved[key] != config[key]:
            _fail(
                f"{model_dir} holds a run with {key}={saved[key]!r}, not {config[key]!r}",
                f"pass --{key}={saved[key]} to resume it, or use a new --model_dir",
            )


# ---------------------------------------------------------------------------
# Files.


def _write_atomic(path, text):
    """Writes `text` to `path` so that a kill leaves the old or the new file."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


def update_results(model_dir, key, value):
    """Merges `{key: value}` into `model_dir/results.json` (atomically).

    Args:
        model_dir: the run's directory.
        key: e.g. "pretrain", "linear_eval".
        value: a JSON-serialisable dict.

    Returns:
        The whole merged results dict.

    Example:

    >>> update_results("runs/demo", "linear_eval", {"top1": 0.83})
    """
    path = os.path.join(model_dir, "results.json")
    results = {}
    if os.path.exists(path):
        with open(path) as f:
            results = json.load(f)
    results[key] = value
    _write_atomic(path, json.dumps(results, indent=2, sort_keys=True) + "\n")
    return results


_CHECKPOINT = re.compile(r"^ckpt-(\d+)$")


def _checkpoints(directory):
    """Sorted [(step, path)] of the complete checkpoints in `directory`."""
    found = []
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            match = _CHECKPOINT.match(name)
            if match:
                found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)


def _latest_checkpoint(model_dir):
    """Returns (step, path) of the newest complete checkpoint, or None."""
    found = _checkpoints(os.path.join(model_dir, "checkpoints"))
    return found[-1] if found else None


def _random_states(model):
    """The models' random-generator states: variables that are not weights.

    `save_weights` leaves them out; without them a resumed run would draw
    the augmentations of step 0 again.
    """
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _fsync(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def save_checkpoint(model, directory, step):
    """Writes the training state at `step` to `directory/ckpt-<step>/`.

    The checkpoint is assembled in a hidden folder and renamed into place
    (`os.replace`, atomic on POSIX): a kill at any moment leaves only
    complete `ckpt-*` folders. It holds `model.weights.h5` (the weights and
    the optimizer: its slots and `iterations`, which drives the learning
    rate schedule) and `random_state.json` (the augmentation generators).

    Args:
        model: a compiled, built Keras model.
        directory: the checkpoints folder.
        step: the global step, part of the folder name.

    Returns:
        The checkpoint's path.
    """
    final = os.path.join(directory, f"ckpt-{step}")
    partial = os.path.join(directory, f".partial-ckpt-{step}")
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    weights = os.path.join(partial, "model.weights.h5")
    model.save_weights(weights)
    states = os.path.join(partial, "random_state.json")
    with open(states, "w") as f:
        json.dump([v.numpy().tolist() for v in _random_states(model)], f)
    _fsync(weights)
    _fsync(states)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(partial, final)
    return final


def restore_checkpoint(model, path):
    """Loads a checkpoint written by `save_checkpoint` into a built model."""
    model.load_weights(os.path.join(path, "model.weights.h5"))
    with open(os.path.join(path, "random_state.json")) as f:
        states = json.load(f)
    for variable, value in zip(_random_states(model), states):
        variable.assign(value)


def _make_checkpoint_callback(keras):
    class AtomicCheckpoint(keras.callbacks.Callback):
        """Saves the full training state every `every` steps and at the end.

        Not `keras.callbacks.BackupAndRestore`: it writes its weights file in
        place and its epoch counter in a second file, so a SIGKILL during or
        between the two writes leaves a half-written file or a counter that
        does not match the weights; it restores epochs, not steps; and it
        leaves out the augmentation's random state. See `save_checkpoint`.
        """

        def __init__(self, directory, every, start_step, keep=2):
            super().__init__()
            self.directory = directory
            self.every = every
            self.step = start_step
            self.saved_step = start_step
            self.keep = keep

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            if self.step % self.every == 0:
                self.save()

        def on_train_end(self, logs=None):
            if self.step != self.saved_step:
                self.save()

        def save(self):
            save_checkpoint(self.model, self.directory, self.step)
            self.saved_step = self.step
            for _, path in _checkpoints(self.directory)[: -self.keep]:
                shutil.rmtree(path, ignore_errors=True)

    return AtomicCheckpoint


def _make_stop_callback(keras):
    class StopAtStep(keras.callbacks.Callback):
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

    return StopAtStep


# ---------------------------------------------------------------------------
# pretrain.


def _build_model(config, num_classes, strategy):
    import keras

    import keras_simclr as ks

    size = config["image_size"]
    with strategy.scope():
        encoder = ks.encoders.ResNet(
            config["resnet_depth"],
            width_multiplier=config["width_multiplier"],
            cifar_stem=config["cifar_stem"],
            input_shape=(size, size, 3),
        )
        head = ks.layers.ProjectionHead(
            num_layers=config["proj_layers"], output_dim=config["proj_dim"],
            name="projection_head",
        )
        augment = _augment(config)
        model = ks.SimCLR(
            encoder, head, augment=augment, temperature=config["temperature"],
            num_classes=num_classes if config["probe"] else None,
        )
        model.build((None, size, size, 3))
    return model, keras


def _augment(config):
    import keras_simclr as ks

    size = config["image_size"]
    return ks.layers.SimCLRAugment(
        size, size, strength=config["color_jitter_strength"], blur=config["blur"],
        seed=config["seed"],
    )


def _learning_rate(config, steps_per_epoch, total_steps):
    import keras_simclr as ks

    peak = ks.schedules.scaled_learning_rate(
        config["learning_rate"], config["batch_size"], config["learning_rate_scaling"]
    )
    warmup = min(int(round(config["warmup_epochs"] * steps_per_epoch)), total_steps)
    return ks.schedules.WarmupCosineDecay(peak, warmup, total_steps)


def _optimizer(config, schedule, model):
    import keras

    import keras_simclr as ks

    name, wd = config["optimizer"], config["weight_decay"]
    if name == "lars":
        return ks.optimizers.LARS(
            schedule, momentum=config["momentum"], weight_decay=wd,
            exclude_from_weight_decay=["probe"],
        )
    if name == "sgd":
        optimizer = keras.optimizers.SGD(
            schedule, momentum=config["momentum"], weight_decay=wd or None
        )
    else:
        optimizer = keras.optimizers.Adam(schedule, weight_decay=wd or None)
    if wd:
        # Keras' decoupled weight decay; biases, BN and the probe, as in LARS.
        probe = model.probe.trainable_variables if model.probe is not None else []
        skip = {id(v) for v in probe}
        optimizer.exclude_from_weight_decay(
            var_list=[v for v in model.trainable_variables
                      if len(v.shape) <= 1 or id(v) in skip]
        )
    return optimizer


def _tensorflow_setup(config):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config["seed"])
    if config["deterministic"]:
        tf.config.experimental.enable_op_determinism()
    if config["mixed_precision"]:
        gpu = bool(tf.config.list_physical_devices("GPU"))
        keras.mixed_precision.set_global_policy("mixed_float16" if gpu else "mixed_bfloat16")


def pretrain(model_dir):
    """Runs `keras-simclr pretrain`; returns the summary dict."""
    from keras_simclr import strategy as strategies

    config = resolve_pretrain_config()
    strategy = strategies.resolve_strategy(FLAGS.tpu, FLAGS.num_gpus, FLAGS.cpu_replicas)
    chief = strategies.is_chief()
    # Workers other than the chief write to a scratch folder (the Keras
    # multi-worker pattern): every worker saves, one copy is kept.
    write_dir = model_dir if chief else tempfile.mkdtemp(prefix="keras-simclr-worker-")
    try:
        return _pretrain(config, strategy, model_dir, write_dir, chief)
    finally:
        if not chief:
            shutil.rmtree(write_dir, ignore_errors=True)


def _pretrain(config, strategy, model_dir, write_dir, chief):
    from keras_simclr import data
    from keras_simclr import strategy as strategies

    info = data.describe(config["dataset"], config["split"], config["data_dir"])
    config = _complete_config(config, info)
    _check_resume(config, model_dir)
    replicas = strategy.num_replicas_in_sync
    data.check_batch_size(config["batch_size"], replicas)
    _tensorflow_setup(config)
    latest = _latest_checkpoint(model_dir)
    start_step = latest[0] if latest else 0
    inputs, info, steps_per_epoch = data.pretraining_dataset(
        config["dataset"],
        global_batch_size=config["batch_size"],
        image_size=config["image_size"],
        split=config["split"],
        data_dir=config["data_dir"],
        strategy=strategy,
        augment_on=config["augment_on"],
        augment=_augment(config),
        with_labels=bool(config["probe"]),
        seed=config["seed"],
        start_step=start_step,
        shuffle_buffer=config["shuffle_buffer"],
        cache=config["cache"],
        on_corrupt="skip" if config["skip_corrupt"] else "error",
    )
    total_steps = config["train_steps"] or config["epochs"] * steps_per_epoch
    if chief:
        _write_atomic(
            os.path.join(model_dir, "config.json"),
            json.dumps(config, indent=2, sort_keys=True) + "\n",
        )
    model, keras = _build_model(config, info.num_classes, strategy)
    with strategy.scope():
        schedule = _learning_rate(config, steps_per_epoch, total_steps)
        optimizer = _optimizer(config, schedule, model)
        model.compile(optimizer=optimizer, jit_compile=config["jit_compile"])
        model.optimizer.build(model.trainable_variables)
    if latest:
        restore_checkpoint(model, latest[1])
        print(f"keras-simclr: resuming from step {start_step} ({latest[1]})", flush=True)
    checkpoint_steps = config["checkpoint_steps"] or steps_per_epoch
    os.makedirs(os.path.join(write_dir, "logs"), exist_ok=True)
    stopper = _make_stop_callback(keras)(start_step, total_steps)
    callbacks = [
        stopper,
        _make_checkpoint_callback(keras)(
            os.path.join(write_dir, "checkpoints"), checkpoint_steps, start_step
        ),
        keras.callbacks.CSVLogger(os.path.join(write_dir, "logs", "metrics.csv"),
                                  append=True),
    ]
    if _tensorboard_installed():
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(write_dir, "logs")))
    # Keras epochs are data epochs, or the whole run when it is shorter; the
    # batch of a step depends on the step only, so this is just display.
    fit_steps = min(steps_per_epoch, total_steps)
    metrics = {}
    started = time.time()
    if start_step < total_steps:
        history = model.fit(
            inputs,
            epochs=math.ceil(total_steps / fit_steps),
            initial_epoch=start_step // fit_steps,
            steps_per_epoch=fit_steps,
            shuffle=False,
            callbacks=callbacks,
            verbose=_verbose(),
        )
        metrics = {k: float(v[-1]) for k, v in history.history.items()}
    seconds = time.time() - started
    steps_run = max(0, total_steps - start_step)
    steps_per_second = stopper.steps_per_second() or steps_run / max(seconds, 1e-9)
    _save_model(model, write_dir, chief, config["export"])
    summary = dict(
        steps=total_steps,
        steps_this_run=steps_run,
        seconds=round(seconds, 1),
        images_per_second=round(steps_per_second * config["batch_size"], 1),
        replicas=replicas,
        model=os.path.join(model_dir, "model.keras"),
        **metrics,
    )
    if chief:
        update_results(model_dir, "pretrain", summary)
    return summary


def _tensorboard_installed():
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _save_model(model, write_dir, chief, export=True):
    """Writes model.keras (atomically) and, on the chief, the SavedModel.

    The encoder is exported from a copy loaded from model.keras, outside any
    strategy: a SavedModel cannot capture distributed variables.
    """
    import keras

    path = os.path.join(write_dir, "model.keras")
    partial = os.path.join(write_dir, ".partial-model.keras")
    model.save(partial)
    os.replace(partial, path)
    if not (chief and export):
        return
    target = os.path.join(write_dir, "saved_encoder")
    partial = os.path.join(write_dir, ".partial-saved_encoder")
    shutil.rmtree(partial, ignore_errors=True)
    keras.saving.load_model(path).export_encoder(partial)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)


def _format_summary(summary):
    metrics = ", ".join(
        f"{k} {summary[k]:.4g}" for k in (
            "loss", "contrastive_accuracy", "probe_accuracy") if k in summary
    )
    return (
        f"keras-simclr: pretrained {summary['steps']} steps "
        f"({summary['steps_this_run']} in this run) in {summary['seconds']:.0f} s, "
        f"{summary['images_per_second']:.0f} images/s on {summary['replicas']} "
        f"replica(s); {metrics or 'no new metrics'}; model: {summary['model']}"
    )


# ---------------------------------------------------------------------------
# linear-eval, finetune, export.


def _load_run(model_dir):
    """Returns (config, SimCLR model) of a finished pretraining run."""
    import keras

    import keras_simclr  # noqa: F401 (registers the serializable classes)

    path = os.path.join(model_dir, "model.keras")
    if not os.path.exists(path):
        _fail(f"no pretrained model in {model_dir} (no model.keras)",
              "run `keras-simclr pretrain --model_dir=...` first, or fix --model_dir")
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    return config, keras.saving.load_model(path)


def _evaluation_data(config):
    """Returns (train, test, num_classes, image_size) for an evaluation."""
    from keras_simclr import data

    dataset = FLAGS.dataset or config["dataset"]
    data_dir = FLAGS.data_dir or config.get("data_dir")
    image_size = config["image_size"]
    if _given("image_size") and FLAGS.image_size != image_size:
        _fail(f"--image_size={FLAGS.image_size} but the encoder was pretrained at "
              f"{image_size}", f"drop --image_size or pass --image_size={image_size}")
    train_split = FLAGS.split or "train"
    test_split = FLAGS.eval_split or "test"
    train, info = data.load(dataset, train_split, data_dir, with_info=True)
    test = data.load(dataset, test_split, data_dir)
    if info.num_classes is None:
        _fail(f"split '{train_split}' of {dataset} has no labels",
              "evaluate on a labelled split with --split and --eval_split")
    return train, test, info.num_classes, image_size


def _present_kwargs(**names):
    """The evaluation keyword arguments whose flags were given."""
    return {arg: FLAGS[flag].value for arg, flag in names.items() if _given(flag)}


def linear_eval(model_dir):
    """Runs `keras-simclr linear-eval`; returns its metrics."""
    from keras_simclr import evaluation

    config, model = _load_run(model_dir)
    train, test, num_classes, image_size = _evaluation_data(config)
    metrics = evaluation.linear_eval(
        model.encoder, train, test, num_classes=num_classes, image_size=image_size,
        verbose=_verbose(), **_present_kwargs(epochs="epochs", batch_size="batch_size",
                          learning_rate="learning_rate", momentum="momentum",
                          weight_decay="weight_decay"),
    )
    update_results(model_dir, "linear_eval", _jsonable(metrics))
    print(f"keras-simclr: linear evaluation top-1 {metrics['top1']:.4f}, "
          f"top-5 {metrics['top5']:.4f}; results in "
          f"{os.path.join(model_dir, 'results.json')}", flush=True)
    return metrics


def finetune(model_dir):
    """Runs `keras-simclr finetune`; returns its metrics."""
    from keras_simclr import evaluation

    config, model = _load_run(model_dir)
    train, test, num_classes, image_size = _evaluation_data(config)
    finetuned, metrics = evaluation.finetune(
        model, train, test, num_classes=num_classes, image_size=image_size,
        verbose=_verbose(),
        **_present_kwargs(label_fraction="label_fraction", head_layer="head_layer",
                          epochs="epochs", batch_size="batch_size",
                          learning_rate="learning_rate", seed="seed"),
    )
    fraction = FLAGS.label_fraction or 1.0
    key = f"finetune_{fraction * 100:g}pct"  # runs on 1% and 10% coexist
    path = os.path.join(model_dir, f"{key}.keras")
    finetuned.save(path)
    update_results(model_dir, key, _jsonable(dict(
        metrics, label_fraction=fraction, model=path)))
    print(f"keras-simclr: fine-tuned top-1 {metrics['top1']:.4f}; model: {path}",
          flush=True)
    return metrics


def export(model_dir):
    """Runs `keras-simclr export`; returns the SavedModel path."""
    _, model = _load_run(model_dir)
    target = FLAGS.export_dir or os.path.join(model_dir, "saved_encoder")
    model.export_encoder(target, include_projection=FLAGS.include_projection)
    print(f"keras-simclr: encoder exported to {target}", flush=True)
    return target


def _verbose():
    """Keras progress bars when interactive, one line per epoch otherwise."""
    return 1 if sys.stdout.isatty() else 2


def _jsonable(metrics):
    return {k: (float(v) if hasattr(v, "__float__") and not isinstance(v, str) else v)
            for k, v in metrics.items()}


# ---------------------------------------------------------------------------
# Entry point.


def _user_errors():
    """The exception types that mean 'bad input', not 'bug'."""
    from keras_simclr.data import DataError, PipelineError
    from keras_simclr.evaluation import EvaluationError
    from keras_simclr.strategy import StrategyError

    return (UsageError, DataError, PipelineError, EvaluationError, StrategyError)


def main(argv):
    """Dispatches `keras-simclr COMMAND` (absl has parsed the flags).

    Args:
        argv: the positional arguments, argv[1] the command.

    Exits with status 2 on a user error.
    """
    try:
        if len(argv) < 2 or argv[1] not in COMMANDS:
            given = f"'{argv[1]}'" if len(argv) > 1 else "no command"
            _fail(f"{given} is not a command",
                  f"use one of {', '.join(COMMANDS)}, e.g. "
                  "`keras-simclr pretrain --preset=demo --model_dir=runs/demo`")
        if len(argv) > 2:
            _fail(f"unexpected argument '{argv[2]}'", "flags take the form --name=value")
        if not FLAGS.model_dir:
            _fail("no --model_dir", "pass --model_dir=DIR (e.g. runs/demo)")
        command = argv[1]
        if not FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)
        if command == "pretrain":
            print(_format_summary(pretrain(FLAGS.model_dir)), flush=True)
        else:
            {"linear-eval": linear_eval, "finetune": finetune, "export": export}[
                command](FLAGS.model_dir)
    except KeyboardInterrupt:
        print("keras-simclr: interrupted — run the same command again to resume "
              "from the last checkpoint", file=sys.stderr, flush=True)
        sys.exit(130)
    except Exception as error:
        if isinstance(error, _user_errors()):
            print(f"keras-simclr: error: {error}", file=sys.stderr, flush=True)
            sys.exit(2)
        if _is_decode_error(error):
            _explain_decode_error(error)
        raise


def _is_decode_error(error):
    text = str(error)
    return "Invalid JPEG data" in text or "Invalid PNG data" in text or (
        "corrupt or non-JPEG/PNG image file" in text)


def _explain_decode_error(error):
    """Names the corrupt file(s) of an image folder, then exits 2."""
    from keras_simclr import data

    match = re.search(r"image file:\]?\s*\[?([^\]\n]+)", str(error))
    bad = [match.group(1).strip()] if match else []
    dataset = FLAGS.dataset or ""
    if not bad and os.path.isdir(os.path.expanduser(dataset)):
        paths, _, _ = data.sources._folder_split(os.path.expanduser(dataset),
                                                 FLAGS.split or "train")
        bad = data.find_corrupt_images(paths)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        print(f"keras-simclr: error: corrupt image file {bad[0]}{more} — delete or "
              "replace it, or pass --skip_corrupt to skip unreadable files",
              file=sys.stderr, flush=True)
        sys.exit(2)


def _parse_flags(argv):
    if any(arg in ("-h", "--help", "-help", "--helpshort") for arg in argv[1:]):
        # absl's own --help lists the flags of __main__, here the console
        # script's stub, which defines none.
        print(__doc__ + "\nFlags:\n" + FLAGS.module_help(__name__), flush=True)
        sys.exit(0)
    try:
        return FLAGS(argv)
    except flags.Error as error:
        print(f"keras-simclr: error: {error} — see `keras-simclr --helpfull`",
              file=sys.stderr, flush=True)
        sys.exit(2)


def run():
    """Console entry point of `keras-simclr`."""
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    run()
