"""Datasets for SimCLR: tfds, image folders, NumPy arrays and an embedded set.

`load` returns any split as an unbatched `tf.data.Dataset` of `(uint8 image
(H, W, 3), int32 label)`, label -1 when unlabelled; `describe` returns its
`DatasetInfo` (number of classes, native image size, number of images);
`pretraining_dataset` builds the resumable, shardable input of pretraining.

Example:

    import keras_simclr as ks
    train, info = ks.data.load("shapes", split="train", with_info=True)
    info.num_classes  # 10
"""

from keras_simclr.data.pipeline import (
    AUGMENT_ON,
    PipelineError,
    check_batch_size,
    pretraining_dataset,
    steps_per_epoch,
)
from keras_simclr.data.sources import (
    EMBEDDED,
    DataError,
    DatasetInfo,
    describe,
    find_corrupt_images,
    load,
    make_shapes,
    raw_dataset,
    resize,
)
