"""Export of a pretrained encoder as a SavedModel that needs no keras_simclr.

What pretraining produces is an encoder; `export_encoder` writes it (with the
projection head, optionally) as a plain TensorFlow SavedModel, loadable by
any process that has TensorFlow:

    loaded = tf.saved_model.load(path)
    out = loaded.signatures["serving_default"](images=uint8_images)
    h = out["representation"]

Unlike the reference's exported hub modules (google-research/simclr issues
#116 and #190), the variables are tracked and trainable, and a second
endpoint runs batch norm in training mode, so the SavedModel can be
fine-tuned with `tf.GradientTape` or `keras.layers.TFSMLayer`.
"""

import contextlib
import json
import os
import re

import keras
import tensorflow as tf

from keras_simclr import errors, saving
from keras_simclr.backends import is_jax
from keras_simclr.layers.augmentation.image_inputs import to_float32
from keras_simclr.layers.projection_head import ProjectionHead
from keras_simclr.parts import all_layers, as_image_size, input_image_size, split_model

__all__ = [
    "check_export_path",
    "export_encoder",
    "SERVING_SIGNATURE",
    "TRAINING_SIGNATURE",
]

#: Signature of inference (batch norm uses its moving statistics).
SERVING_SIGNATURE = "serving_default"
#: Signature of training mode (batch statistics; updates the moving ones).
TRAINING_SIGNATURE = "train"
#: Description of the export, written next to the SavedModel's variables.
METADATA_FILE = os.path.join("assets.extra", "keras_simclr.json")
# The folders of a run's checkpoints (`keras_simclr.runs.checkpoints`),
# which checkpoint rotation deletes.
_CHECKPOINTS, _CHECKPOINT = "checkpoints", re.compile(r"^ckpt-\d+$")


def _parts(model):
    """(encoder, head or None) of a SimCLR model, its .keras file or an encoder."""
    if isinstance(model, (str, os.PathLike)):
        model = saving.load_model(os.fspath(model))
    encoder, head = split_model(model)
    if encoder is None:
        raise errors.UserInputError(
            "export_encoder needs a SimCLR model or a Keras encoder (or a SimCLR "
            f"model's .keras file), got {type(model).__name__} — pass one of these."
        )
    return encoder, head


def _built_parts(model, include_projection):
    """(encoder, head or None) to export; refuses a part that is not built."""
    encoder, head = _parts(model)
    if not include_projection:
        head = None
    for part in (encoder, head):
        if part is not None and not part.built:
            raise errors.UserInputError(
                f"{part.name} is not built: train the model, or call it on a "
                "batch of images, before exporting it."
            )
    return encoder, head


def _image_size(encoder, image_size):
    """(height, width) the export accepts; None for a dimension left free."""
    static = input_image_size(encoder)
    if image_size is None:
        return static
    image_size = as_image_size(image_size)
    if None not in static and static != image_size:
        raise errors.UserInputError(
            f"image_size={image_size} differs from the encoder's input "
            f"size {static} — leave image_size out to use the encoder's."
        )
    return image_size


@contextlib.contextmanager
def _local_batch_norm(layers):
    """Traces batch norm without cross-replica reductions.

    A synchronized BN traced outside a strategy still wraps its (identity)
    all-reduce in a custom gradient that a SavedModel cannot carry: the
    loaded model then warns that gradients will likely fail. The exported
    functions compute plain local batch statistics instead.
    """
    batch_norms = [
        layer
        for root in layers
        for layer in all_layers(root)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.synchronized
    ]
    for layer in batch_norms:
        layer.synchronized = False
    try:
        yield
    finally:
        for layer in batch_norms:
            layer.synchronized = True


def _in_checkpoints(path):
    """Whether `path` is a run's checkpoints folder, or inside it."""
    parts = path.rstrip("/").split("/")
    for i, name in enumerate(parts):
        if name != _CHECKPOINTS:
            continue
        if i + 1 < len(parts) and _CHECKPOINT.match(parts[i + 1]):
            return True
        folder = "/".join(parts[: i + 1])
        if tf.io.gfile.isdir(folder) and any(
            _CHECKPOINT.match(entry.rstrip("/"))
            for entry in tf.io.gfile.listdir(folder)
        ):
            return True
    return False


def check_export_path(path, overwrite=False):
    """Refuses an export path whose content the export would destroy.

    Args:
        path: the folder a SavedModel is to be written to (any gfile URL).
        overwrite: allow replacing what a non-empty folder holds.

    Returns:
        `path`, as a string.

    Raises:
        UserInputError: `path` is a file; a folder that holds files (unless
            `overwrite`); or a run's checkpoints folder or inside it (even
            with `overwrite`: checkpoint rotation deletes what is there).

    Example:

    >>> tf.io.gfile.makedirs("old_export/assets")
    >>> check_export_path("old_export")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: old_export already holds files (assets) —
    pass overwrite=True to replace all of them, or export to a new folder
    >>> check_export_path("old_export", overwrite=True)
    'old_export'
    >>> check_export_path("run/checkpoints/ckpt-20/encoder")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: run/checkpoints/ckpt-20/encoder is inside a run's
    checkpoints, which checkpoint rotation deletes — export elsewhere, e.g. to the
    run's saved_encoder folder
    """
    path = os.fspath(path)
    if _in_checkpoints(path):
        raise errors.UserInputError(
            f"{path} is inside a run's checkpoints, which checkpoint rotation "
            "deletes — export elsewhere, e.g. to the run's saved_encoder folder"
        )
    if not tf.io.gfile.exists(path):
        return path
    if not tf.io.gfile.isdir(path):
        raise errors.UserInputError(
            f"{path} is an existing file — pass a folder path (it is created), "
            "or delete the file"
        )
    held = sorted(entry.rstrip("/") for entry in tf.io.gfile.listdir(path))
    if held and not overwrite:
        shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
        raise errors.UserInputError(
            f"{path} already holds files ({shown}) — pass overwrite=True to "
            "replace all of them, or export to a new folder"
        )
    return path


def _unique(variables):
    seen, result = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            result.append(variable)
    return result


def export_encoder(
    model,
    path,
    include_projection=True,
    image_size=None,
    options=None,
    overwrite=False,
):
    """Writes the encoder (and head) of `model` as a TensorFlow SavedModel.

    The SavedModel needs neither keras_simclr nor any registered custom
    object to load; it serves and fine-tunes in a process that only has
    TensorFlow.

    **Signatures** (`loaded.signatures[...]`, for TF Serving and
    `keras.layers.TFSMLayer`):

    - `"serving_default"`: `images`, uint8 RGB in [0, 255], shape
      `[batch, H, W, 3]` (any batch; H, W are the encoder's input size when
      it is static, else free), batch norm in inference mode;
    - `"train"`: the same with batch norm in training mode (batch
      statistics, and the moving statistics are updated).

    Both return a dict of float32 tensors: `"representation"` (h, what
    downstream tasks use), and with `include_projection` also
    `"projection"` (z) and, for a `ProjectionHead` of L > 1 layers,
    `"head_layer_1"` ... `"head_layer_{L-1}"` (SimCLRv2 fine-tunes from one
    of these).

    **Preprocessing**: none beyond scaling to [0, 1], which the model does
    itself: feed RGB pixels at the size the encoder was trained on. The
    training pipeline resized whole images to that size; for evaluation on
    larger images, SimCLR centre-crops 87.5% of the shorter side and
    resizes (see `keras_simclr.evaluation.eval_preprocess_fn`).

    **Fine-tuning**: `loaded(images, training=...)` (the reusable
    SavedModel convention, as `hub.KerasLayer` expects) accepts uint8
    images or float32 images in [0, 1]; `loaded.trainable_variables`,
    `loaded.variables` and `loaded.regularization_losses` (empty) are
    exported too, so `tf.GradientTape` reaches every weight. Batch norm in
    the exported functions uses local (per-replica) statistics. With Keras:
    `keras.layers.TFSMLayer(path, call_endpoint="serving_default",
    call_training_endpoint="train")` trains its weights inside `fit` (in
    Keras 3.15 only with an optimizer without slot variables, e.g. plain
    SGD: TFSMLayer names its weights `...:0`, which momentum and Adam
    reject as scope names).

    A JSON description (input size, output widths, preprocessing) is
    written to `assets.extra/keras_simclr.json` inside the SavedModel.

    **On JAX** the same SavedModel is written by a TensorFlow process from
    the model's `.keras` file (see `keras_simclr.export_jax`): it takes a
    few seconds more, and `options` does not apply.

    Args:
        model: a `keras_simclr.SimCLR` model, the path of its `.keras`
            file (loaded with `keras_simclr.saving.load_model`), or a bare
            Keras encoder (then only `"representation"` is exported).
        path: directory to write the SavedModel to.
        include_projection: also export the projection head's outputs.
        image_size: int or (height, width) of the input images, for an
            encoder without a static input size; None leaves free what the
            encoder leaves free.
        options: a `tf.saved_model.SaveOptions`, e.g. with
            `experimental_io_device="/job:localhost"` to save a model
            trained under `TPUStrategy` to a local disk (TensorFlow only).
        overwrite: replace what `path` holds (all of it: nothing of the
            old content is left). Without it, a folder that holds files is
            refused, and nothing is written.

    Returns:
        `path`, as a string.

    Raises:
        UserInputError: see `check_export_path`; a model that is not
            built, or an `image_size` that differs from the encoder's;
            `options` on JAX.

    Example:

    >>> import tempfile
    >>> import keras_simclr as ks
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> model = ks.SimCLR(encoder, ks.layers.ProjectionHead(2, hidden_dim=8, output_dim=6),
    ...                   augment=keras.layers.Identity())
    >>> _ = model(tf.zeros((1, 8, 8, 3)))  # builds the head
    >>> path = export_encoder(model, tempfile.mkdtemp() + "/encoder")  # or model.export_encoder
    >>> loaded = tf.saved_model.load(path)
    >>> out = loaded.signatures["serving_default"](images=tf.zeros((2, 8, 8, 3), tf.uint8))
    >>> {name: tuple(value.shape) for name, value in sorted(out.items())}
    {'head_layer_1': (2, 8), 'projection': (2, 6), 'representation': (2, 4)}
    """
    path = check_export_path(path, overwrite)
    if options is not None and is_jax():
        raise errors.UserInputError(
            "options (tf.saved_model.SaveOptions) apply on TensorFlow only: on "
            "JAX a TensorFlow process writes the export with its defaults — drop "
            "options, or export with KERAS_BACKEND=tensorflow"
        )
    encoder, head = _built_parts(model, include_projection)
    height, width = _image_size(encoder, image_size)
    if is_jax():
        from keras_simclr import export_jax

        return export_jax.export_in_tensorflow(encoder, head, path, (height, width))
    return _write_saved_model(encoder, head, path, (height, width), options)


def _write_saved_model(encoder, head, path, image_size, options=None):
    """Writes the SavedModel of `export_encoder` (TensorFlow only; no checks).

    Args:
        encoder: a built Keras encoder.
        head: its projection head, or None.
        path: the folder, replaced if it exists.
        image_size: (height, width), None for a free dimension.
        options: a `tf.saved_model.SaveOptions`, or None.

    Returns:
        `path`.
    """
    height, width = image_size
    parts = [part for part in (encoder, head) if part is not None]
    forward = _Forward(encoder, head)
    root = _exportable(parts)
    with _local_batch_norm(parts):
        call = tf.function(forward, autograph=False)
        for dtype in (tf.uint8, tf.float32):
            spec = tf.TensorSpec([None, height, width, 3], dtype, name="images")
            for training in (False, True):
                call.get_concrete_function(spec, training=training)
        root.__call__ = call
        signatures = {
            SERVING_SIGNATURE: _signature(forward, height, width, training=False),
            TRAINING_SIGNATURE: _signature(forward, height, width, training=True),
        }
        if tf.io.gfile.exists(path):  # checked: empty, or overwrite=True
            tf.io.gfile.rmtree(path)
        tf.saved_model.save(root, path, signatures=signatures, options=options)
    outputs = signatures[SERVING_SIGNATURE].get_concrete_function().structured_outputs
    _write_metadata(path, height, width, outputs)
    return path


class _Forward:
    """The exported computation: uint8 or [0, 1] images -> dict of outputs."""

    def __init__(self, encoder, head):
        self.encoder, self.head = encoder, head

    def __call__(self, images, training=False):
        x = to_float32(images)
        h = self.encoder(x, training=training)
        outputs = {"representation": h}
        if isinstance(self.head, ProjectionHead):
            hidden = self.head.hidden_outputs(h, training=training)
            for k in range(1, len(hidden) - 1):
                outputs[f"head_layer_{k}"] = hidden[k]
            outputs["projection"] = hidden[-1]
        elif self.head is not None:
            outputs["projection"] = self.head(h, training=training)
        return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}


def _exportable(parts):
    """The object saved: the parts' variables, as a reusable SavedModel has."""
    root = tf.__internal__.tracking.AutoTrackable()
    root.variables = _unique(v for part in parts for v in part.variables)
    root.trainable_variables = _unique(
        v for part in parts for v in part.trainable_variables
    )
    root.non_trainable_variables = _unique(
        v for part in parts for v in part.non_trainable_variables
    )
    root.regularization_losses = []
    return root


def _signature(forward, height, width, training):
    """A signature of uint8 images, in inference or training mode."""
    uint8 = tf.TensorSpec([None, height, width, 3], tf.uint8, name="images")
    # A tf.function, not a concrete function: `save` traces it itself,
    # which is what lets it save variables of a tf.distribute strategy.
    return tf.function(
        lambda images: forward(images, training),
        input_signature=[uint8],
        autograph=False,
    )


def _write_metadata(path, height, width, outputs):
    """Writes the JSON description of the export into the SavedModel."""
    metadata = {
        "image_size": [height, width],
        "input": "images: uint8 RGB [batch, height, width, 3] in [0, 255]",
        "preprocessing": (
            "resize to image_size; no mean/std normalisation (the model "
            "scales pixels to [0, 1] itself)"
        ),
        "outputs": {name: int(t.shape[-1]) for name, t in sorted(outputs.items())},
        "signatures": [SERVING_SIGNATURE, TRAINING_SIGNATURE],
    }
    tf.io.gfile.makedirs(os.path.join(path, "assets.extra"))
    with tf.io.gfile.GFile(os.path.join(path, METADATA_FILE), "w") as f:
        json.dump(metadata, f, indent=2)
