"""Draws one SimCLR training step: views, encoder, head, NT-Xent.

A batch of N images gets two random augmentations each (2N views); the
encoder f maps each view to its representation h, the projection head g to
z; NT-Xent compares every z with every other z of the global batch (all
devices): the other view of the same image is the positive, the 2N - 2
other views are the negatives. The online linear probe learns labels from
h with the gradient stopped, so it measures the encoder without shaping it.
Needs matplotlib (`pip install -e ".[docs]"`).

Usage:
    python examples/draw_training_step.py [--out training_step.png]
"""

import argparse

import numpy as np

# Two devices of two images each: 2N = 8 views in the global batch.
IMAGES_PER_DEVICE, DEVICES = 2, 2
BOX = dict(boxstyle="round,pad=0.35", linewidth=1.2)


def _box(axes, x, y, text, color):
    axes.text(
        x, y, text, ha="center", va="center", fontsize=9,
        bbox=dict(BOX, facecolor=color, edgecolor="0.3"),
    )  # fmt: skip


def _arrow(axes, start, end, text="", dashed=False):
    axes.annotate(
        "", xy=end, xytext=start,
        arrowprops=dict(arrowstyle="->", color="0.25", linestyle="--" if dashed else "-"),
    )  # fmt: skip
    if text:
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.035)
        axes.text(*middle, text, ha="center", va="bottom", fontsize=7.5, color="0.3")


def _similarities(axes):
    """The 2N x 2N similarity matrix: self masked, positives marked."""
    views = 2 * IMAGES_PER_DEVICE * DEVICES
    n = views // 2
    colors = np.full((views, views, 3), 0.93)
    for i in range(views):
        colors[i, i] = 0.55  # self: masked out
        colors[i, (i + n) % views] = (0.30, 0.65, 0.35)  # the other view
    axes.imshow(colors, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title("sim(z_i, z_j) / T over\nthe global batch (2N views)", fontsize=8)
    axes.set_xlabel(
        "green: positive; grey: self,\nmasked; the rest: negatives", fontsize=7.5
    )


def draw(out):
    """Writes the diagram to the PNG `out`.

    Args:
        out: the PNG file to write.

    Returns:
        None.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(11, 3.6))
    axes = figure.add_axes([0, 0, 0.78, 1])
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.axis("off")
    top, bottom = 0.72, 0.38
    _box(axes, 0.06, 0.55, "N images x\n(uint8,\nper device)", "#f3e5c8")
    for y, name in ((top, "t"), (bottom, "t'")):
        _arrow(axes, (0.11, 0.55), (0.19, y))
        label_y = y + (0.08 if y == top else -0.1)
        axes.text(0.12, label_y, f"augment {name}", fontsize=7.5, color="0.3")
        _box(
            axes,
            0.24,
            y,
            f"view {'1' if name == 't' else '2'}\n(on the device)",
            "#fde2d4",
        )
        _arrow(axes, (0.295, y), (0.35, y))
        _box(axes, 0.41, y, "encoder f\n(ResNet)", "#d6e4f5")
        _arrow(axes, (0.465, y), (0.52, y), "h")
        _box(axes, 0.58, y, "projection\nhead g", "#dcefd8")
        _arrow(axes, (0.635, y), (0.70, 0.55 + (0.06 if y == top else -0.06)), "z")
    axes.text(0.41, 0.55, "shared weights", ha="center", fontsize=7.5, color="0.35")
    _box(axes, 0.76, 0.55, "NT-Xent over\nevery device's z\n(loss)", "#f6d5e5")
    _arrow(
        axes, (0.41, bottom - 0.09), (0.41, 0.12), "h, gradient stopped", dashed=True
    )
    _box(axes, 0.41, 0.07, "online linear probe (labels) -> probe_loss", "#eeeeee")
    _arrow(axes, (0.83, 0.55), (0.99, 0.55))
    axes.text(
        0.5, 0.97,
        "One training step: gradients of NT-Xent (and the probe's loss) update f, g "
        "and the probe with one optimizer step (LARS)",
        ha="center", va="top", fontsize=9,
    )  # fmt: skip
    _similarities(figure.add_axes([0.80, 0.2, 0.18, 0.62]))
    figure.savefig(out, dpi=100)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="training_step.png", help="output PNG")
    args = parser.parse_args(argv)
    draw(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
