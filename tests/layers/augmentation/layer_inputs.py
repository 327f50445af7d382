"""Inputs shared by the augmentation layers' tests: images and layers."""

import os

import numpy as np

from keras_simclr import layers

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
PUBLIC = [
    layers.RandomResizedCrop,
    layers.ColorDistortion,
    layers.GaussianBlur,
    layers.Solarize,
    layers.SimCLRAugment,
]


def random_images(n=4, height=24, width=30, seed=0, dtype="uint8"):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, height, width, 3), dtype=np.uint8)
    return x if dtype == "uint8" else (x / 255.0).astype(dtype)


def smooth_images(n=4, height=24, width=30, seed=0):
    """Colourful images with structure (random noise hides blur and crops)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    out = []
    for _ in range(n):
        a = rng.uniform(1, 6, 3)
        b = rng.uniform(0, 6, 3)
        out.append(0.5 + 0.5 * np.sin(a * (x[..., None] + 0.7 * y[..., None]) + b))
    return np.stack(out).astype("float32")


def make_layer(cls, seed=0, **kwargs):
    if cls in (layers.RandomResizedCrop, layers.SimCLRAugment):
        kwargs.setdefault("height", 16)
        kwargs.setdefault("width", 16)
    if cls is layers.Solarize:
        kwargs.setdefault("probability", 0.5)
    if cls is layers.SimCLRAugment:
        kwargs.setdefault("blur", True)
    return cls(seed=seed, **kwargs)
