"""What a dataset split holds: `DatasetInfo`."""

import collections

__all__ = ["DatasetInfo"]

DatasetInfo = collections.namedtuple(
    "DatasetInfo",
    ["name", "kind", "num_classes", "image_size", "num_examples", "class_names"],
)
DatasetInfo.__doc__ = """What a dataset split holds, as returned by `describe`.

Attributes:
    name: the dataset as given (tfds name, folder path, "shapes", "numpy").
    kind: "tfds", "folder", "numpy" or "embedded".
    num_classes: number of classes, or None for an unlabelled split.
    image_size: (height, width) when every image has that size, else None.
    num_examples: number of images in the split, or None when unknown.
    class_names: list of class names (folder names for folders), or None.

Example:

>>> import keras_simclr as ks
>>> info = ks.data.describe("shapes", "test")
>>> info.kind, info.num_classes, info.image_size, info.num_examples
('embedded', 10, (32, 32), 1000)
"""
