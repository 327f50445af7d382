"""Datasets for SimCLR: tfds, image folders, NumPy arrays and an embedded set.

`load` returns any split as an unbatched `tf.data.Dataset` of `(uint8 image
(H, W, 3), int32 label)`, label -1 when unlabelled; `describe` returns its
`DatasetInfo` (number of classes, native image size, number of images);
`pretraining_dataset` builds the resumable, shardable input of pretraining.

Modules: `loading` (the entry points, which hand each source kind to its
module), `tfds_datasets`, `folders`, `arrays` (NumPy arrays and `.npz`),
`shapes` (the embedded set); `splits` (split strings such as
"train[:80%]"), `images` (decoding and resizing), `pipeline` (pretraining
input) and `crops` (crops of the full-resolution image).

Example:

>>> import keras_simclr as ks
>>> train, info = ks.data.load("shapes", split="train", with_info=True)
>>> info.num_classes
10
"""

from keras_simclr.data.data_error import DataError
from keras_simclr.data.dataset_info import DatasetInfo
from keras_simclr.data.folders import find_corrupt_images
from keras_simclr.data.images import resize
from keras_simclr.data.loading import describe, load, raw_dataset
from keras_simclr.data.pipeline import (
    AUGMENT_ON,
    PipelineError,
    check_batch_size,
    pretraining_dataset,
    steps_per_epoch,
)
from keras_simclr.data.shapes import EMBEDDED, make_shapes

__all__ = [
    "AUGMENT_ON",
    "DataError",
    "DatasetInfo",
    "EMBEDDED",
    "PipelineError",
    "check_batch_size",
    "describe",
    "find_corrupt_images",
    "load",
    "make_shapes",
    "pretraining_dataset",
    "raw_dataset",
    "resize",
    "steps_per_epoch",
]
