"""Writes a grid of SimCLR views: the original and 8 views per preset.

One row per preset of `keras_simclr.layers.SimCLRAugment`: ImageNet (224 px,
strength 1.0, blur) from the image as it is, and CIFAR-10 (32 px, strength
0.5, no blur) from the image shrunk to 32x32, as CIFAR-10 images are. The
first column is the input of the row; all tiles are shown at the same size
(32 px views enlarged without smoothing).

Usage:
    python examples/show_augmentations.py [IMAGE] [--out grid.png]
        [--views 8] [--tile 160] [--seed 0]

Without IMAGE, a generated test card is used.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_simclr.layers import SimCLRAugment  # noqa: E402

GAP = 4


def test_card(height=300, width=400):
    """A colourful synthetic image: hue wheel, stripes, checks, gradient."""
    y, x = np.mgrid[0:height, 0:width].astype("float32")
    cy, cx = height * 0.45, width * 0.35
    angle = (np.arctan2(y - cy, x - cx) / (2 * np.pi)) % 1.0
    radius = np.hypot(y - cy, x - cx) / (0.4 * height)
    hsv = np.stack([angle, np.clip(radius, 0, 1), np.where(radius < 1, 1.0, 0.35)], -1)
    image = tf.image.hsv_to_rgb(hsv).numpy()
    stripes = (x // 12) % 2 == 0
    image[:, int(width * 0.75) :] = np.where(
        stripes[:, int(width * 0.75) :, None], [0.95, 0.8, 0.1], [0.1, 0.2, 0.6]
    )
    checks = ((x // 20 + y // 20) % 2 == 0)[..., None]
    bottom = int(height * 0.85)
    image[bottom:] = np.where(checks[bottom:], 0.9, 0.15)
    image[:, :20] = (y[:, :20, None] / height) * [1.0, 0.3, 0.3]
    return (np.clip(image, 0, 1) * 255).astype("uint8")


def load_image(path):
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    return image.numpy()


def tile(image, size):
    """float [0, 1] or uint8 image -> (size, size, 3) uint8 for display."""
    image = tf.convert_to_tensor(image)
    if image.dtype == tf.uint8:
        image = tf.cast(image, tf.float32) / 255.0
    method = "nearest" if image.shape[0] < size else "area"
    image = tf.image.resize(image, (size, size), method=method)
    return tf.cast(tf.round(tf.clip_by_value(image, 0, 1) * 255), tf.uint8).numpy()


def make_grid(image, views=8, tile_size=160, seed=0):
    """Rows: ImageNet and CIFAR-10 presets; columns: input, then views."""
    rows = []
    for row, preset in enumerate(("imagenet", "cifar10")):
        augment = SimCLRAugment.from_preset(preset, seed=seed + row)
        source = image
        if preset == "cifar10":
            source = tf.cast(
                tf.round(tf.image.resize(image, (32, 32), method="area")), tf.uint8
            ).numpy()
        batch = np.repeat(source[None], views, axis=0)
        out = augment(batch, training=True).numpy()
        tiles = [tile(source, tile_size)] + [tile(v, tile_size) for v in out]
        rows.append(tiles)
    step = tile_size + GAP
    grid = np.full((GAP + len(rows) * step, GAP + (views + 1) * step, 3), 255, np.uint8)
    for r, tiles in enumerate(rows):
        for c, t in enumerate(tiles):
            grid[
                GAP + r * step : GAP + r * step + tile_size,
                GAP + c * step : GAP + c * step + tile_size,
            ] = t
    return grid


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "image",
        nargs="?",
        help="an image file (JPEG, PNG, BMP, GIF); default: a generated test card",
    )
    parser.add_argument("--out", default="grid.png", help="output PNG")
    parser.add_argument("--views", type=int, default=8)
    parser.add_argument("--tile", type=int, default=160, help="tile size in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    image = load_image(args.image) if args.image else test_card()
    grid = make_grid(image, args.views, args.tile, args.seed)
    tf.io.write_file(args.out, tf.io.encode_png(grid))
    print(
        f"wrote {args.out}: {grid.shape[1]}x{grid.shape[0]} "
        f"(rows: ImageNet preset, CIFAR-10 preset; first column: input)"
    )


if __name__ == "__main__":
    main()
