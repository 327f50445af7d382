"""Small random image batches for the input-check tests."""

import numpy as np


def images(n=8, size=8, seed=0):
    """`n` float32 images of `size` x `size` x 3, uniform in [0, 1)."""
    return (
        np.random.default_rng(seed).uniform(size=(n, size, size, 3)).astype(np.float32)
    )


def with_nan_in_image(index):
    """`images()` with one NaN pixel in image `index`."""
    x = images()
    x[index, 2, 3, 1] = np.nan
    return x


def labelled(n=16, seed=0):
    """(uint8 images, labels 0, 1, 0, 1, ...): a two-class labelled set."""
    return (images(n, seed=seed) * 255).astype(np.uint8), np.arange(n) % 2
