"""Input pipelines for pretraining: a resumable, shardable stream of batches.

The batch a training step sees is a pure function of the step number (and
the seed): epoch e is the source shuffled with a stateless seed (seed, e), cut to a whole
number of global batches, and each image's augmentation in tf.data is drawn
from (seed, position in the stream). So a run resumed at step s reads exactly
the batches an uninterrupted run reads from step s on, and N workers see the
same global batches as one process.
"""

import dataclasses
import functools
import inspect

import tensorflow as tf

from keras_simclr.data import crops as crops_lib
from keras_simclr.data import images as images_lib
from keras_simclr.data import loading
from keras_simclr.data.batching import PipelineError, check_batch_size, steps_per_epoch
from keras_simclr.layers.augmentation import random_draws as aug
from keras_simclr.layers.augmentation import random_resized_crop as crop_lib

__all__ = ["PipelineError", "pretraining_dataset", "steps_per_epoch"]

#: Where views are augmented: in the model's training step, or in tf.data.
AUGMENT_ON = ("device", "data")


def _epoch_seed(seed, epoch):
    return tf.cast(seed, tf.int64) * 1_000_003 + tf.cast(epoch, tf.int64)


def _shuffle_block(seed, block_index, block):
    count = tf.shape(tf.nest.flatten(block)[0])[0]
    keys = tf.random.stateless_uniform([count], seed=tf.stack([seed, block_index]))
    order = tf.argsort(keys)
    return tf.data.Dataset.from_tensor_slices(
        tf.nest.map_structure(lambda t: tf.gather(t, order), block)
    )


def _block_shuffle(data, block_size, seed):
    """Shuffles each block of `block_size` elements with a stateless seed.

    `Dataset.shuffle` cannot take a per-epoch seed tensor once a global seed
    is set (`keras.utils.set_random_seed`), and its state does not survive a
    restart; a permutation drawn from (seed, block) does both. With the
    default block (the whole split) it is a full shuffle.
    """
    return (
        data.batch(block_size)
        .enumerate()
        .flat_map(functools.partial(_shuffle_block, seed))
    )


@dataclasses.dataclass(frozen=True)
class _Stream:
    """What every stage of a pretraining stream needs to know."""

    raw: tf.data.Dataset  # (raw or cached image, label), in source order
    decode: object  # raw image -> uint8 (H, W, 3)
    reader: object  # `loading.encoded_reader`'s (read, decode), or None
    global_batch_size: int
    per_replica: int
    image_size: int
    steps: int  # global batches per epoch
    shuffle_buffer: int
    seed: int
    start_step: int
    cache: bool
    host_crops: bool  # crops made here, from the full-resolution image
    crop_scale: tuple  # the host crops' area fraction range
    crop_ratio: tuple  # and aspect ratio range, from `augment`
    augment_on: str
    augment: object
    with_labels: bool


def pretraining_dataset(
    dataset,
    *,
    global_batch_size,
    image_size,
    split="train",
    data_dir=None,
    strategy=None,
    augment_on="device",
    augment=None,
    with_labels=True,
    seed=0,
    start_step=0,
    shuffle_buffer=None,
    cache=False,
    on_corrupt="error",
):
    """Builds the input of `SimCLR.fit`: an infinite stream of global batches.

    Pipeline: source -> (cache) -> per-epoch stateless shuffle -> whole batches
    only -> skip to `start_step` -> this input pipeline's share of every
    global batch -> decode and crop (and in "data" mode augment twice) ->
    batch per replica -> prefetch.

    Crops come from the full-resolution image: for sources whose images
    are not all of `image_size` (image folders, ImageNet, or arrays of
    another size), the two random crops of each image (Chen et al. 2020,
    appendix A: area fraction in `augment.crop_scale`, aspect ratio in
    `augment.crop_ratio`, SimCLR's U[0.08, 1] and [3/4, 4/3] by default,
    drawn on the image's own size) are made here, JPEGs decoding only
    the window they need (see `keras_simclr.data.crops`), and resized to
    `image_size`; the rest of the augmentation runs on the device ("device"
    mode) or here ("data" mode). Images already of `image_size` (CIFAR-10 at
    32 px, "shapes") go whole and are cropped with the rest.

    Under a strategy with several replicas the stream is built per worker
    by `distribute_datasets_from_function`; replica r gets images
    [r * b, (r + 1) * b) of each global batch (b = the per-replica batch),
    the same split as one process would make.

    Args:
        dataset: anything `keras_simclr.data.load` takes (tfds name, folder, arrays,
            "shapes").
        global_batch_size: images per step over all replicas; must divide
            by the number of replicas.
        image_size: side of the square images fed to the model.
        split: the split to read.
        data_dir: tfds data directory.
        strategy: a `tf.distribute.Strategy`; None uses the current one.
        augment_on: "device": batches of uint8 images (or of their two
            crops), augmented by the model inside the training step; "data":
            both views augmented here in tf.data by `augment`, as float32 in
            [0, 1].
        augment: the augmentation layer. Its `crop_scale` and `crop_ratio`
            (those of `keras_simclr.layers.SimCLRAugment`) set the crops
            made here, in both modes: in "device" mode pass the model's
            layer (None, or a layer without them: SimCLR's crop). For
            "data" mode, an augmentation layer with the interface
            of `keras_simclr.layers.SimCLRAugment`
            (`get_random_transformation(image, seed=...)`,
            `transform_images(images, transformation)`). Each view's
            parameters are drawn per image from the stateless seed (seed,
            position in the stream, view); the transform runs per batch.
            When crops are made here (see above) it must also take
            `transform_images(crops, transformation, crop=False)`, as
            `SimCLRAugment` does.
        with_labels: add the int32 labels (-1: unlabelled) to each batch,
            for the online probe.
        seed: seed of the shuffle and of the tf.data augmentation.
        start_step: first global step of the stream (resume).
        shuffle_buffer: shuffle block size: each block of that many
            consecutive examples is permuted; None shuffles the whole split
            for in-memory data and folders, blocks of 10,000 for tfds (whose
            files tfds shuffles when preparing them). 0 turns shuffling off.
        cache: cache decoded images in memory after the first epoch (for
            splits that fit in RAM; at full resolution when crops are made
            here).
        on_corrupt: "error" or "skip" corrupt files of an image folder.

    Returns:
        `(data, info, steps_per_epoch)`: `data` a `tf.data.Dataset` (one
        replica) or a distributed dataset to pass to `fit`, whose elements
        are `images` or `(images, labels)` in "device" mode (`{"crop1":
        crops, "crop2": crops}` for `images` when crops are made here, uint8
        of `image_size`) and `((view1, view2),)` or `((view1, view2),
        labels)` in "data" mode;
        `info` the split's `DatasetInfo`; `steps_per_epoch` the
        number of global batches per pass over the split.

    Raises:
        PipelineError: batch not divisible by replicas, fewer images than a
            batch, unknown `augment_on`.
        DataError: see `keras_simclr.data.load`.

    Example:

    >>> data, info, steps = pretraining_dataset(
    ...     "shapes", split="test[:64]", global_batch_size=16, image_size=32)
    >>> images, labels = next(iter(data))
    >>> steps, images.shape, images.dtype.name, labels.shape
    (4, TensorShape([16, 32, 32, 3]), 'uint8', TensorShape([16]))

    `model.fit(data, steps_per_epoch=steps, epochs=...)` then trains on it.
    """
    if augment_on not in AUGMENT_ON:
        raise PipelineError(
            f"augment_on must be one of {AUGMENT_ON}, got {augment_on!r} — pass "
            "augment_on='device' (augment in the model) or 'data' (in tf.data)."
        )
    if augment_on == "data" and augment is None:
        raise PipelineError(
            "augment_on='data' needs an augment layer, got augment=None — pass "
            "augment=keras_simclr.layers.SimCLRAugment(...), or augment_on='device'."
        )
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    check_batch_size(global_batch_size, replicas)
    raw, decode, info = loading.raw_dataset(dataset, split, data_dir, on_corrupt)
    if info.num_examples is None:
        raise PipelineError(
            f"cannot tell how many images split '{split}' of {info.name} holds "
            "— prepare it with tfds first, or pass a slice like 'train[:50000]'."
        )
    steps = steps_per_epoch(info.num_examples, global_batch_size)
    if shuffle_buffer is None:
        shuffle_buffer = (
            info.num_examples if info.kind != "tfds" else min(info.num_examples, 10_000)
        )
    host_crops = info.image_size != (image_size, image_size)
    if host_crops and augment_on == "data":
        _check_takes_crops(augment)
    if cache:
        raw = raw.map(
            functools.partial(_decoded_for_cache, decode, host_crops, image_size),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        ).cache()
    stream = _Stream(
        raw=raw,
        decode=decode,
        # Files are read encoded (JPEGs then decode only their crop window);
        # cached images are decoded already.
        reader=None if cache else loading.encoded_reader(dataset),
        global_batch_size=global_batch_size,
        per_replica=global_batch_size // replicas,
        image_size=image_size,
        steps=steps,
        shuffle_buffer=shuffle_buffer,
        seed=seed,
        start_step=start_step,
        cache=cache,
        host_crops=host_crops,
        crop_scale=getattr(augment, "crop_scale", crop_lib.DEFAULT_CROP_SCALE),
        crop_ratio=getattr(augment, "crop_ratio", crop_lib.DEFAULT_CROP_RATIO),
        augment_on=augment_on,
        augment=augment,
        with_labels=with_labels,
    )
    if replicas == 1:
        return _worker_stream(stream, 0, 1), info, steps
    data = strategy.distribute_datasets_from_function(
        functools.partial(_worker_stream_of_context, stream)
    )
    return data, info, steps


def _decoded_for_cache(decode, host_crops, image_size, image, label):
    """What the cache holds: full-resolution images when crops are made
    here, else images of the model's size."""
    image = decode(image)
    return (image if host_crops else images_lib.resize(image, image_size)), label


def _epoch(stream, epoch):
    """One epoch: the source shuffled with seed (seed, epoch), whole batches."""
    data = stream.raw
    if stream.shuffle_buffer:
        data = _block_shuffle(
            data, stream.shuffle_buffer, _epoch_seed(stream.seed, epoch)
        )
    return data.take(stream.steps * stream.global_batch_size)


def _positioned_examples(stream):
    """`(position in the stream, example)` from `start_step` on, forever."""
    batch = stream.global_batch_size
    first_epoch = stream.start_step // stream.steps
    skip = (stream.start_step % stream.steps) * batch
    examples = tf.data.Dataset.range(first_epoch, tf.int64.max).flat_map(
        functools.partial(_epoch, stream)
    )
    return examples.skip(skip).enumerate(
        start=first_epoch * stream.steps * batch + skip
    )


def _in_share(global_batch_size, low, share, position, example):
    offset = position % global_batch_size
    return tf.logical_and(offset >= low, offset < low + share)


def _crop_pair(stream, image, position):
    """The image's two crops, uint8 (2, image_size, image_size, 3)."""
    key = aug.normalize_key(_view_seed(stream.seed, position, 0))
    # boxes(height, width): the two boxes on the image's own size.
    boxes = functools.partial(
        _crop_boxes, key, scale=stream.crop_scale, ratio=stream.crop_ratio
    )
    if stream.reader is None:
        if not stream.cache:
            image = stream.decode(image)
        shape = tf.shape(image)
        return crops_lib.crop_decoded(
            image, boxes(shape[0], shape[1]), stream.image_size
        )
    read, decode_contents = stream.reader
    return crops_lib.crop_encoded(
        read(image), boxes, stream.image_size, decode_contents
    )


def _crop_boxes(key, height, width, scale, ratio):
    return crop_lib.sample_crop_boxes(key, 2, height, width, scale, ratio)


def _model_input(stream, position, example):
    """One example as the model (or `_augment_views`) takes it: the image or
    its two crops, with the parameters of both views in "data" mode."""
    image, label = example
    seed = stream.seed
    if stream.host_crops:
        pair = _crop_pair(stream, image, position)
        if stream.augment_on == "data":
            params = stream.augment.get_random_transformation(
                pair, seed=_view_seed(seed, position, 1)
            )
            image = {
                "crops": (pair[0], pair[1]),
                "params": tuple(
                    tf.nest.map_structure(lambda t, v=v: t[v], params) for v in (0, 1)
                ),
            }
        else:
            image = dict(zip(crops_lib.CROP_KEYS, (pair[0], pair[1])))
        return (image, label) if stream.with_labels else image
    if not stream.cache:
        image = images_lib.resize(stream.decode(image), stream.image_size)
    if stream.augment_on == "data":
        image = {
            "images": image,
            "params": tuple(
                _draw_params(stream.augment, image, _view_seed(seed, position, view))
                for view in (0, 1)
            ),
        }
    return (image, label) if stream.with_labels else image


def _augment_views(augment, batch, labels=None):
    """A batch's two augmented views ("data" mode), from their parameters."""
    if "crops" in batch:
        views = tuple(
            augment.transform_images(crops, params, crop=False)
            for crops, params in zip(batch["crops"], batch["params"])
        )
    else:
        views = tuple(
            augment.transform_images(batch["images"], params)
            for params in batch["params"]
        )
    return (views,) if labels is None else (views, labels)


def _worker_stream(stream, pipeline_id, num_pipelines):
    """The batches of one input pipeline: its share of every global batch."""
    examples = _positioned_examples(stream)
    if num_pipelines > 1:
        # This pipeline's contiguous share of every global batch, chosen
        # before decoding so that each worker decodes only its images.
        share = stream.global_batch_size // num_pipelines
        examples = examples.filter(
            functools.partial(
                _in_share, stream.global_batch_size, pipeline_id * share, share
            )
        )
    batches = examples.map(
        functools.partial(_model_input, stream),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    batches = batches.batch(stream.per_replica, drop_remainder=True)
    if stream.augment_on == "data":
        batches = batches.map(
            functools.partial(_augment_views, stream.augment),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    options = tf.data.Options()
    # Sharding is done above, by position; tf.distribute must not shard
    # again.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF
    )
    options.deterministic = True
    return batches.with_options(options).prefetch(tf.data.AUTOTUNE)


def _worker_stream_of_context(stream, context):
    return _worker_stream(
        stream, context.input_pipeline_id, context.num_input_pipelines
    )


def _check_takes_crops(augment):
    method = getattr(augment, "transform_images", None)
    if method is None or "crop" not in inspect.signature(method).parameters:
        raise PipelineError(
            "augment_on='data' crops the images here, from their full "
            "resolution, and needs an augment layer whose transform_images "
            f"takes crop=False, got {type(augment).__name__} — pass a "
            "keras_simclr.layers.SimCLRAugment, or augment_on='device'."
        )


def _view_seed(seed, position, view):
    """Stateless seed of one view of the image at `position` in the stream."""
    return tf.stack([tf.cast(seed, tf.int64) * 2 + view, tf.cast(position, tf.int64)])


def _draw_params(augment, image, seed):
    """One image's augmentation parameters, without their batch axis."""
    params = augment.get_random_transformation(image, seed=seed)
    return tf.nest.map_structure(lambda t: t[0], params)
