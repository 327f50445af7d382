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


def expected_crop_area(height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """Mean area fraction of the accepted boxes, by numerical integration.

    The sampler (torchvision's) draws the area uniformly (mean 0.54 on [0.08, 1]) but
    keeps the first draw that fits: a large area fits only for ratios near
    the image's, so accepted boxes average less (0.478 on square images).
    """
    s = np.linspace(scale[0], scale[1], 20001)[:, None]
    r = np.exp(np.linspace(np.log(ratio[0]), np.log(ratio[1]), 2001))[None]
    area = s * height * width
    fits = (np.sqrt(area * r) <= width) & (np.sqrt(area / r) <= height)
    p_fit = fits.mean(axis=1)
    return float((s[:, 0] * p_fit).sum() / p_fit.sum())


def ramp_images(n, height, width):
    """float32 images whose red is y / height and green x / width (blue 0.5):
    the box a view was cropped from can be read back (`ramp_boxes`)."""
    y, x = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    ramp = np.stack([y / height, x / width, 0.5 + 0 * x], -1).astype("float32")
    return np.repeat(ramp[None], n, axis=0)


def ramp_boxes(views, y_step, x_step):
    """(h, w) in source pixels of each view of a ramp whose red grows by
    `y_step` per row and green by `x_step` per column (views not flipped).

    A view of side n samples its box at start + (i + 0.5) * side / n - 0.5,
    so its first and last rows (columns) are (n - 1) * side / n apart, and
    bilinear samples of a ramp are exact.
    """
    views = np.asarray(views, np.float64)
    n = views.shape[1]
    h = (views[:, -1, :, 0] - views[:, 0, :, 0]).mean(1) / y_step
    w = (views[:, :, -1, 1] - views[:, :, 0, 1]).mean(1) / x_step
    return h * n / (n - 1), w * n / (n - 1)
