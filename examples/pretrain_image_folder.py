"""Pretrains SimCLR on a folder of images from Python, then probes it linearly.

    python examples/pretrain_image_folder.py --folder path/to/images --epochs 50

The folder holds one sub-folder of .jpg/.png images per class (the labels
feed the online probe and the final linear evaluation), or images only (no
labels: no probe, no evaluation). Without --folder a small labelled folder is
written from the embedded shapes dataset, so the example runs offline.

It trains with `keras_simclr.pretrain` (the demo recipe on your folder):
run it again after a crash and it resumes from the last checkpoint in --out.
The command line does the same:

    keras-simclr pretrain --preset=demo --dataset=path/to/images --model_dir=runs/photos
"""

import argparse
import os
import tempfile

from PIL import Image

import keras_simclr as ks


def write_demo_folder(root, per_class=60):
    """Writes `per_class` PNGs of each shapes class to root/<class>/."""
    images, labels = ks.data.make_shapes(per_class * 10, seed=7)
    names = ks.data.describe("shapes").class_names
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = os.path.join(root, names[label])
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image).save(os.path.join(folder, f"{i}.png"))
    return root


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", help="image folder (default: a generated one)")
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument(
        "--cifar_stem",
        action="store_true",
        help="3x3 stem without max-pool: better on tiny images, "
        "about 5x slower at 32 px; needed below 32 px",
    )
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default="runs/image_folder")
    args = parser.parse_args()

    folder = args.folder or write_demo_folder(tempfile.mkdtemp(prefix="shapes-"))
    train_split, test_split = "train[:80%]", "train[80%:]"
    info = ks.data.describe(folder, train_split)
    print(f"{info.num_examples} training images, classes: {info.class_names}")

    # The demo recipe on the folder; blur and colour strength follow the
    # image size (keras_simclr.recipes.augment_defaults).
    recipe = ks.recipes.Recipe.from_preset(
        "demo",
        dataset=folder,
        split=train_split,
        image_size=args.image_size,
        batch_size=args.batch_size,
        epochs=args.epochs,
        cifar_stem=args.cifar_stem,
        blur=None,
        color_jitter_strength=None,
        skip_corrupt=True,
    )
    ks.pretrain(recipe, args.out)
    if info.num_classes:
        result = ks.runs.linear_eval(
            args.out, split=train_split, eval_split=test_split, epochs=30
        )
        print(f"linear evaluation top-1: {result['top1']:.3f}")
    print(f"model and encoder in {args.out}")


if __name__ == "__main__":
    main()
