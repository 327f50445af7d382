"""Google's released SimCLR v1/v2 TF2 checkpoints as keras_simclr models.

The reference implementation (google-research/simclr, `tf2/`) saves its
model with `tf.train.Checkpoint(model=model)`: every variable's key is its
Python attribute path, e.g.
`model/resnet_model/block_groups/0/layers/0/conv_relu_dropblock_layers/0/
conv2d/kernel/.ATTRIBUTES/VARIABLE_VALUE`. `load` infers the architecture
from those keys' shapes, builds the matching `encoders.ResNet`,
`layers.ProjectionHead` and linear probe, and maps every key to exactly one
Keras weight.

The released names (13 SimCLRv2 architectures x 7 stages, and 3 SimCLRv1
models) and where they are, `RELEASED_MODELS`, are listed in
`released_models.py`:

>>> len(RELEASED_MODELS)
94
"""

import re

import numpy as np
import tensorflow as tf

from keras_simclr import encoders, errors
from keras_simclr.layers.projection_head import ProjectionHead
from keras_simclr.model import SimCLR
from keras_simclr.reference_layout import RESNET_SCOPE as _RESNET
from keras_simclr.reference_layout import encoder_layout as _encoder_layout
from keras_simclr.released_models import BUCKET, RELEASED_MODELS

_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_HEAD = "model/_projection_head/linear_layers/"
_PROBE = "model/supervised_head/linear_layer/dense"
# Every released SK model uses this ratio; the squeeze width
# max(int(filters * ratio), 32) only reveals it when it exceeds 32.
_DEFAULT_SK_RATIO = 0.0625


class CheckpointMismatchError(errors.UserInputError):
    """The checkpoint and the model built for it do not match one to one.

    Also raised for a checkpoint that is not in the reference's layout (a
    SavedModel's variables, a TF1 checkpoint); the message says which.

    Args:
        *args: the message, listing the keys that did not match.

    Example:

    >>> tf.train.Checkpoint(model=tf.Module()).save("not_simclr/ckpt")
    'not_simclr/ckpt-1'
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     load("not_simclr")
    ... except CheckpointMismatchError as error:
    ...     print(error)
    not_simclr/ckpt-1 is not a SimCLR reference TF2 checkpoint: expected keys under
    model/resnet_model/, as the reference's tf2 code writes them.
    """


def _resolve(path_or_name):
    """Returns a checkpoint prefix for a released name, directory or prefix."""
    path = RELEASED_MODELS.get(path_or_name, path_or_name)
    if re.fullmatch(r"simclrv[12]/.*", str(path)):
        raise errors.UserInputError(
            f"path_or_name {path_or_name!r} is not a released model name; see "
            "keras_simclr.pretrained.RELEASED_MODELS (e.g. "
            "'simclrv2/r50_1x_sk1/pretrained'), or give a checkpoint path."
        )
    path = str(path)
    if tf.io.gfile.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest:
            return latest
        for candidate in ("saved_model/variables/variables", "variables/variables"):
            prefix = f"{path.rstrip('/')}/{candidate}"
            if tf.io.gfile.exists(prefix + ".index"):
                return prefix
        raise errors.UserInputError(
            f"path_or_name {path!r} is a directory without a TF checkpoint "
            "(no 'checkpoint' file, no SavedModel variables). Give the "
            "directory holding ckpt-N.index or the prefix path/ckpt-N."
        )
    if not tf.io.gfile.exists(path + ".index"):
        raise errors.UserInputError(
            f"path_or_name {path!r} is neither a released model name, a "
            "directory nor a checkpoint prefix (no .index file found)."
        )
    return path


def _model_shapes(all_shapes):
    """{attribute path: shape} of the model variables, optimizer slots skipped."""
    shapes = {}
    for key, shape in all_shapes.items():
        if (
            key.startswith("model/")
            and key.endswith(_SUFFIX)
            and (".OPTIMIZER_SLOT" not in key)
        ):
            shapes[key[: -len(_SUFFIX)]] = tuple(shape)
    return shapes


def _check_layout(shapes, prefix, all_keys):
    if any(k.startswith(_RESNET + "initial_conv_relu_max_pool/") for k in shapes):
        return
    if any(k.startswith("trainable_variables_list/") for k in all_keys):
        hint = (
            "these are a SavedModel's variables, named by position, not by "
            "layer; load the release's checkpoint (ckpt-N) instead"
        )
    elif any(k.startswith("base_model/") for k in all_keys):
        hint = (
            "this is a TF1 checkpoint (gs://simclr-checkpoints); use the "
            f"TF2 conversion under {BUCKET}"
        )
    else:
        hint = (
            "expected keys under model/resnet_model/, as the reference's tf2 "
            "code writes them"
        )
    raise CheckpointMismatchError(
        f"{prefix} is not a SimCLR reference TF2 checkpoint: {hint}."
    )


def _required(shapes, key, prefix):
    """The shape of `key`, which every checkpoint of the layout holds."""
    if key not in shapes:
        raise CheckpointMismatchError(
            f"{prefix} has no variable {key}: it is not a whole SimCLR reference "
            "TF2 checkpoint (a layer is missing) — load the release's checkpoint "
            "as written, not a partial copy."
        )
    return shapes[key]


def _architecture(shapes, sk_ratio, prefix):
    """Infers encoders.ResNet arguments from the checkpoint's shapes."""
    stem = _RESNET + "initial_conv_relu_max_pool/"
    deep_stem = stem + "4/conv2d/kernel" in shapes
    first = _required(shapes, stem + "0/conv2d/kernel", prefix)
    stem_out = shapes[stem + "4/conv2d/kernel"][-1] if deep_stem else first[-1]
    blocks = []
    for group in range(4):
        scope = re.escape(f"{_RESNET}block_groups/{group}/layers/")
        pattern = re.compile(scope + r"(\d+)/")
        blocks.append(len({m.group(1) for k in shapes if (m := pattern.match(k))}))
    bottleneck = any("/conv_relu_dropblock_layers/" in k for k in shapes)
    kind = "bottleneck" if bottleneck else "basic"
    depths = [
        depth
        for depth, layout in encoders._RESNET_LAYOUTS.items()
        if layout == (kind, tuple(blocks))
    ]
    if not depths:
        raise CheckpointMismatchError(
            f"{prefix} has {kind} blocks per group {blocks}, which no "
            f"ResNet depth has (known: {sorted(encoders._RESNET_LAYOUTS)})."
        )
    if sk_ratio is None:
        sk_ratio = 0.0
        squeezes = [s for k, s in shapes.items() if k.endswith("/conv2d_0/kernel")]
        if deep_stem or squeezes:
            wide = [s[-1] / s[-2] for s in squeezes if s[-1] > 32]
            sk_ratio = wide[0] if wide else _DEFAULT_SK_RATIO
    return dict(
        depth=depths[0],
        width_multiplier=stem_out // 64,
        cifar_stem=not deep_stem and first[0] == 3,
        sk_ratio=sk_ratio,
    )


def _expected_keys(layout):
    """{checkpoint attribute path: Keras variable} for (path, layer) pairs."""
    expected = {}
    for scope, layer in layout:
        for variable in layer.weights:
            expected[f"{scope}/{variable.name}"] = variable
    return expected


def _mismatch_report(shapes, expected, model_weights):
    lines = []
    missing = sorted(set(expected) - set(shapes))
    unused = sorted(set(shapes) - set(expected))
    wrong = sorted(
        k
        for k in set(shapes) & set(expected)
        if tuple(shapes[k]) != tuple(expected[k].shape)
    )
    mapped = {id(v) for v in expected.values()}
    unset = [v.path for v in model_weights if id(v) not in mapped]
    for title, items in (
        ("model weights without a checkpoint key", missing),
        ("checkpoint variables no model weight uses", unused),
        (
            "shape mismatches (checkpoint vs model)",
            [f"{k}: {list(shapes[k])} vs {list(expected[k].shape)}" for k in wrong],
        ),
        ("model weights the mapping does not cover", unset),
    ):
        if items:
            lines.append(f"{len(items)} {title}:")
            lines += [f"  {item}" for item in items[:20]]
            if len(items) > 20:
                lines.append(f"  ... and {len(items) - 20} more")
    return "\n".join(lines)


def _checkpoint_shapes(path_or_name):
    """(prefix, reader, model variable shapes) of a reference checkpoint."""
    path = str(RELEASED_MODELS.get(path_or_name, path_or_name))
    try:
        prefix = _resolve(path_or_name)
        reader = tf.train.load_checkpoint(prefix)
    except tf.errors.OpError as error:  # libcurl's, for gs:// without network
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        reason = reason.split(", error details")[0]  # libcurl's empty tail
        raise errors.UserInputError(
            f"could not read {path} ({reason[:100]}) — check the network, or "
            "copy the checkpoint folder on a connected machine (gsutil -m cp -r "
            f"{path} .) and pass its local path."
        ) from None
    all_keys = reader.get_variable_to_shape_map()
    shapes = _model_shapes(all_keys)
    _check_layout(shapes, prefix, all_keys)
    return prefix, reader, shapes


def architecture(path_or_name, sk_ratio=None):
    """The architecture of a reference TF2 checkpoint, from its variables' shapes.

    Reads only the checkpoint's index (no weights).

    Args:
        path_or_name: as in `load`.
        sk_ratio: as in `load`; None infers it.

    Returns:
        A dict: `depth`, `width_multiplier`, `cifar_stem`, `sk_ratio` (the
        `encoders.ResNet` arguments), `proj_layers` and `proj_dim` (0 and
        None without a projection head), `num_classes` (of the supervised
        head, or None).

    Raises:
        ValueError, CheckpointMismatchError: as `load`.

    Example:

    Reading a released name needs network access to Google's bucket:

    >>> arch = architecture("simclrv2/r152_3x_sk1/pretrained")  # doctest: +SKIP
    >>> arch["depth"], arch["width_multiplier"]  # 152, 3  # doctest: +SKIP

    The released names are listed without the network:

    >>> "simclrv2/r152_3x_sk1/pretrained" in RELEASED_MODELS
    True
    """
    prefix, _, shapes = _checkpoint_shapes(path_or_name)
    num_head_layers = len({k.split("/")[3] for k in shapes if k.startswith(_HEAD)})
    head_out = shapes.get(f"{_HEAD}{num_head_layers - 1}/dense/kernel")
    probe_kernel = shapes.get(_PROBE + "/kernel")
    return dict(
        _architecture(shapes, sk_ratio, prefix),
        proj_layers=num_head_layers,
        proj_dim=head_out[-1] if head_out else None,
        num_classes=probe_kernel[-1] if probe_kernel else None,
    )


def load(
    path_or_name,
    image_size=224,
    probe_layer=0,
    sk_ratio=None,
    synchronized_batch_norm=True,
    **simclr_kwargs,
):
    """Builds a `SimCLR` model holding a reference TF2 checkpoint's weights.

    Reads the checkpoint with `tf.train.load_checkpoint` (any TF file
    system: local, `gs://`, ...), infers depth, width, selective kernels
    and the heads from its variables' shapes, and returns a model ready to
    `fit` (continue pretraining) or to hand to `evaluation.linear_eval` /
    `evaluation.finetune`:
    - `model.encoder`: the `encoders.ResNet`, returning h (images in
      [0, 1], no mean/std normalisation, as the reference);
    - `model.projection_head`: the checkpoint's `ProjectionHead` where it
      has one (SimCLRv2); SimCLRv1 releases have none, so it is a new,
      randomly initialised 3-layer head;
    - `model.probe`: the checkpoint's supervised linear head (1000 ImageNet
      classes) where present, reading h (`probe_layer=0`, as the reference
      trains it during pretraining), else None.
    Optimizer slots, `global_step` and `save_counter` are skipped. Every
    model variable of the checkpoint is used exactly once and every weight
    of the model is set exactly once, or `CheckpointMismatchError` lists
    what did not match. Loading a released name reads Google's bucket
    (network access needed); nothing is fetched at import.

    Args:
        path_or_name: a name of `RELEASED_MODELS`, a directory holding a TF
            checkpoint (its latest `ckpt-N`), or a checkpoint prefix.
        image_size: input size of the encoder (None for any size; then
            pass `augment=` for pretraining).
        probe_layer: which features the supervised head reads, as
            `SimCLR(probe_layer=...)`; the checkpoint cannot tell.
        sk_ratio: None infers it (SimCLRv2's 0.0625 for SK models).
        synchronized_batch_norm: global batch statistics under
            `tf.distribute`.
        **simclr_kwargs: other `SimCLR` arguments (temperature, augment).

    Returns:
        A built `keras_simclr.SimCLR`.

    Raises:
        UserInputError: an unknown name, a path without a checkpoint, or
            one that cannot be read (no network for a released name: the
            message says how to use a downloaded copy).
        CheckpointMismatchError: the checkpoint is not the reference's
            layout (a missing layer, too), or does not map one to one onto
            the model.

    Example:

    Loading a released name needs network access to Google's bucket:

    >>> model = load("simclrv2/r50_1x_sk1/pretrained")  # doctest: +SKIP
    >>> h = model.predict(images)  # (batch, 2048)  # doctest: +SKIP
    >>> logits = model.probe(h)  # (batch, 1000): ImageNet  # doctest: +SKIP

    A checkpoint that is not the reference's is refused; see
    `CheckpointMismatchError`. A path that holds no checkpoint:

    >>> load("no/such/ckpt-1")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: path_or_name 'no/such/ckpt-1' is neither a
    released model name, a directory nor a checkpoint prefix (no .index file found).
    """
    prefix, reader, shapes = _checkpoint_shapes(path_or_name)
    arch = _architecture(shapes, sk_ratio, prefix)
    size = (image_size, image_size) if image_size else (None, None)
    encoder = encoders.ResNet(
        input_shape=size + (3,),
        synchronized_batch_norm=synchronized_batch_norm,
        **arch,
    )
    width = encoder.output_shape[-1]

    num_head_layers = len({k.split("/")[3] for k in shapes if k.startswith(_HEAD)})
    head = None
    if num_head_layers:
        hidden = _required(shapes, _HEAD + "0/dense/kernel", prefix)[-1]
        last = _required(shapes, f"{_HEAD}{num_head_layers - 1}/dense/kernel", prefix)
        head = ProjectionHead(
            num_layers=num_head_layers,
            hidden_dim=None if hidden == width else hidden,
            output_dim=last[-1],
            synchronized=synchronized_batch_norm,
            name="projection_head",
        )
    probe_kernel = shapes.get(_PROBE + "/kernel")
    num_classes = probe_kernel[-1] if probe_kernel else None
    model = SimCLR(
        encoder,
        projection_head=head,
        num_classes=num_classes,
        probe_layer=probe_layer if num_classes else 0,
        **simclr_kwargs,
    )
    model.build((None,) + size + (3,))

    layout = list(
        _encoder_layout(encoder, arch["depth"], arch["sk_ratio"], arch["cifar_stem"])
    )
    loaded_weights = list(encoder.weights)
    if head is not None:
        for j, (dense, bn) in enumerate(zip(head.dense_layers, head.bn_layers)):
            layout += [(f"{_HEAD}{j}/dense", dense), (f"{_HEAD}{j}/bn_relu/bn", bn)]
        loaded_weights += head.weights
    if model.probe is not None:
        layout.append((_PROBE, model.probe))
        loaded_weights += model.probe.weights
    expected = _expected_keys(layout)
    report = _mismatch_report(shapes, expected, loaded_weights)
    if report:
        raise CheckpointMismatchError(
            f"{prefix} does not match the {encoder.name} built for it "
            f"({arch}):\n{report}"
        )
    for key, variable in expected.items():
        # NumPy, not a TF tensor: the variables may be JAX's.
        variable.assign(np.asarray(reader.get_tensor(key + _SUFFIX), variable.dtype))
    return model
