"""Helpers of the tests of keras_simclr.data."""

import numpy as np


def as_arrays(ds):
    """A dataset of (image, label) as (list of images, array of labels)."""
    images, labels = zip(*ds.as_numpy_iterator())
    return list(images), np.array(labels)
